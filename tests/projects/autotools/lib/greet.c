#include <stdio.h>
#include <string.h>
#include "greet.h"
#include "limits.h"

void greet(const char *name, char *out, size_t size)
{
	size_t n = strlen(name);

	snprintf(out, size, "hello, %.*s", (int)n, name);
}
