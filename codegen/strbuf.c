/*
 * strbuf.c - growable strings for generated text and error messages.
 */
#include "strbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
cg_die(const char *msg)
{
    fprintf(stderr, "protoc-gen-genrpc: %s\n", msg);
    exit(1);
}

void *
cg_xmalloc(size_t size)
{
    void *p = malloc(size ? size : 1);
    if (p == NULL)
        cg_die("out of memory");
    return p;
}

void *
cg_xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (p == NULL)
        cg_die("out of memory");
    return p;
}

char *
cg_xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    return memcpy(cg_xmalloc(n), s, n);
}

/* Makes room for `extra` more bytes plus the terminating NUL. */
static void
strbuf_reserve(cg_strbuf *sb, size_t extra)
{
    size_t need = sb->len + extra + 1;
    if (need <= sb->cap)
        return;
    size_t cap = sb->cap ? sb->cap : 256;
    while (cap < need)
        cap *= 2;
    char *p = realloc(sb->data, cap);
    if (p == NULL)
        cg_die("out of memory");
    sb->data = p;
    sb->cap = cap;
}

void
cg_strbuf_vprintf(cg_strbuf *sb, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        cg_die("bad format string");
    strbuf_reserve(sb, (size_t)n);
    vsnprintf(sb->data + sb->len, (size_t)n + 1, fmt, ap);
    sb->len += (size_t)n;
}

void
cg_strbuf_printf(cg_strbuf *sb, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cg_strbuf_vprintf(sb, fmt, ap);
    va_end(ap);
}

void
cg_strbuf_puts(cg_strbuf *sb, const char *s)
{
    size_t n = strlen(s);
    strbuf_reserve(sb, n);
    memcpy(sb->data + sb->len, s, n + 1);
    sb->len += n;
}

void
cg_strbuf_spaces(cg_strbuf *sb, size_t n)
{
    strbuf_reserve(sb, n);
    memset(sb->data + sb->len, ' ', n);
    sb->len += n;
    sb->data[sb->len] = '\0';
}

const char *
cg_strbuf_str(const cg_strbuf *sb)
{
    return sb->data ? sb->data : "";
}

char *
cg_strbuf_take(cg_strbuf *sb)
{
    char *s = sb->data ? sb->data : cg_xstrdup("");
    sb->data = NULL;
    sb->len = sb->cap = 0;
    return s;
}

void
cg_strbuf_free(cg_strbuf *sb)
{
    free(sb->data);
    sb->data = NULL;
    sb->len = sb->cap = 0;
}

char *
cg_fmt(const char *fmt, ...)
{
    cg_strbuf sb = CG_STRBUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    cg_strbuf_vprintf(&sb, fmt, ap);
    va_end(ap);
    return cg_strbuf_take(&sb);
}

void
cg_free_all(char **strs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(strs[i]);
}
