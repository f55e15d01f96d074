#ifndef GREET_LIMITS_H
#define GREET_LIMITS_H
/* Longest name a greeting carries. */
#define GREET_NAME_MAX 8
#endif
