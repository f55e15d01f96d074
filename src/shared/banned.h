/* SPDX-License-Identifier: MIT */
/*
 * Functions this project does not call (git's banned.h, the same idea):
 * each makes overflowing or truncating a buffer one typo away, and each has
 * a bounded replacement.  The build includes this file first in every
 * translation unit (-include, top-level meson.build), so a call fails to
 * compile with an error naming the function:
 *
 *   strcpy, strcat, strncpy  ->  hp_strlcpy (shared/util.h), snprintf, memcpy
 *   sprintf, vsprintf        ->  snprintf, vsnprintf, asprintf
 *   strtok                   ->  strtok_r, strsep, or a hand-written scan
 *   gets                     ->  fgets, getline
 *
 * The system headers that declare them are included first, so that the
 * macros below do not rewrite their declarations.
 */
#ifndef HP_SHARED_BANNED_H
#define HP_SHARED_BANNED_H

#include <stdio.h>
#include <string.h>

#define HP_BANNED(func) sorry_##func##_is_a_banned_function_see_src_shared_banned_h

#undef strcpy
#define strcpy(x, y) HP_BANNED(strcpy)
#undef strcat
#define strcat(x, y) HP_BANNED(strcat)
#undef strncpy
#define strncpy(x, y, n) HP_BANNED(strncpy)
#undef sprintf
#define sprintf(...) HP_BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) HP_BANNED(vsprintf)
#undef strtok
#define strtok(x, y) HP_BANNED(strtok)
#undef gets
#define gets(x) HP_BANNED(gets)

#endif
