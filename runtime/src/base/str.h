/*
 * str.h - counted strings: names inside frames are not NUL-terminated
 * (base layer, header only).
 */
#ifndef GENRPC_BASE_STR_H
#define GENRPC_BASE_STR_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

/* A counted string pointing into someone else's bytes (a frame, a name). */
typedef struct genrpc__str {
    const char *p;
    size_t len;
} genrpc__str;

/* Does the counted string equal the NUL-terminated one? */
static inline bool
genrpc__str_eq(genrpc__str s, const char *z)
{
    return strlen(z) == s.len && memcmp(s.p, z, s.len) == 0;
}

#endif /* GENRPC_BASE_STR_H */
