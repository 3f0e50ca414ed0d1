/* Unsafe libc calls, banned at compile time (git's banned.h).
 * Included last by every source file through the build flags. */
#ifndef ZH_UTIL_BANNED_H
#define ZH_UTIL_BANNED_H

#define ZH_BANNED(func) sorry_##func##_is_a_banned_function

#undef strcpy
#define strcpy(x, y) ZH_BANNED(strcpy)
#undef strcat
#define strcat(x, y) ZH_BANNED(strcat)
#undef strncpy
#define strncpy(x, y, n) ZH_BANNED(strncpy)
#undef sprintf
#define sprintf(...) ZH_BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) ZH_BANNED(vsprintf)
#undef strtok
#define strtok(x, y) ZH_BANNED(strtok)
#undef atoi
#define atoi(x) ZH_BANNED(atoi)
#undef gmtime
#define gmtime(x) ZH_BANNED(gmtime)
#undef localtime
#define localtime(x) ZH_BANNED(localtime)

#endif
