#include <ctype.h>
#include <string.h>

static const char *reason = "names are letters only";

/* A hidden global: local in the library, called from name_ok. */
__attribute__((noinline)) int letters_only(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!isalpha((unsigned char)s[i]))
			return 0;
	return 1;
}

/* Another hidden global of the same file: the length rule. */
__attribute__((noinline)) int length_ok(const char *s)
{
	return strlen(s) <= 64;
}

__attribute__((visibility("default"))) int name_ok(const char *s)
{
	(void)reason;
	return length_ok(s) && letters_only(s, strlen(s));
}
