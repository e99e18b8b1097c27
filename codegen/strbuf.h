/*
 * strbuf.h - a growable, always NUL-terminated string: the generator's only
 * way of building output text and error messages.
 *
 * Allocation failure ends the process (cg_die): a protoc plugin that cannot
 * allocate has nothing sensible left to do, and it keeps every caller free
 * of error paths that would never be tested.
 */
#ifndef CG_STRBUF_H
#define CG_STRBUF_H

#include <stdarg.h>
#include <stddef.h>

typedef struct cg_strbuf {
    char *data; /* NUL-terminated; NULL until the first append */
    size_t len;
    size_t cap;
} cg_strbuf;

#define CG_STRBUF_INIT {NULL, 0, 0}

/* Appends printf-style text. */
void cg_strbuf_printf(cg_strbuf *sb, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

void cg_strbuf_vprintf(cg_strbuf *sb, const char *fmt, va_list ap);

/* Appends `s` verbatim. */
void cg_strbuf_puts(cg_strbuf *sb, const char *s);

/* Appends `n` spaces (used to align continuation lines under a '('). */
void cg_strbuf_spaces(cg_strbuf *sb, size_t n);

/* The text so far: never NULL ("" when empty). Owned by `sb`. */
const char *cg_strbuf_str(const cg_strbuf *sb);

/* Hands the buffer to the caller (free() it) and resets `sb`. */
char *cg_strbuf_take(cg_strbuf *sb);

void cg_strbuf_free(cg_strbuf *sb);

/* printf into a new string the caller frees. */
char *cg_fmt(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

/* free() each of strs[0..n). */
void cg_free_all(char **strs, size_t n);

/* Prints "protoc-gen-genrpc: <msg>" to stderr and exits with status 1. */
void cg_die(const char *msg);

/* malloc/calloc/strdup that never return NULL (they call cg_die). */
void *cg_xmalloc(size_t size);
void *cg_xcalloc(size_t n, size_t size);
char *cg_xstrdup(const char *s);

#endif /* CG_STRBUF_H */
