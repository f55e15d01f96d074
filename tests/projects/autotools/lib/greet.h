#ifndef GREET_H
#define GREET_H
#include <stddef.h>
/* Write "hello, NAME" into out; names longer than GREET_NAME_MAX are cut. */
void greet(const char *name, char *out, size_t size);
#endif
