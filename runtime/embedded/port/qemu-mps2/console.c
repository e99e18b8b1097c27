/*
 * console.c - con_printf: enough of printf for the device program's
 * report, formatted into a line buffer and written with semihosting.
 */
#include "board.h"

typedef struct line {
    char buf[160];
    size_t len;
} line;

static void
flush(line *l)
{
    l->buf[l->len] = '\0';
    semihost_puts(l->buf);
    l->len = 0;
}

static void
put(line *l, char c)
{
    if (l->len == sizeof l->buf - 1)
        flush(l);
    l->buf[l->len++] = c;
}

static void
put_num(line *l, unsigned long v, unsigned base)
{
    char digits[12];
    int n = 0;
    do {
        digits[n++] = "0123456789abcdef"[v % base];
        v /= base;
    } while (v != 0);
    while (n > 0)
        put(l, digits[--n]);
}

void
con_printf(const char *fmt, ...)
{
    line l = {.len = 0};
    va_list ap;
    va_start(ap, fmt);
    for (const char *p = fmt; *p != '\0'; p++) {
        if (*p != '%') {
            put(&l, *p);
            continue;
        }
        p++;
        int prec = -1, lng = 0;
        if (p[0] == '.' && p[1] == '*') {
            prec = va_arg(ap, int);
            p += 2;
        }
        if (*p == 'l') {
            lng = 1;
            p++;
        }
        switch (*p) {
        case 's': {
            const char *s = va_arg(ap, const char *);
            for (int i = 0; s[i] != '\0' && (prec < 0 || i < prec); i++)
                put(&l, s[i]);
            break;
        }
        case 'd': {
            long v = lng ? va_arg(ap, long) : va_arg(ap, int);
            if (v < 0) {
                put(&l, '-');
                v = -v;
            }
            put_num(&l, (unsigned long)v, 10);
            break;
        }
        case 'u':
            put_num(&l, lng ? va_arg(ap, unsigned long) : va_arg(ap, unsigned), 10);
            break;
        case 'x':
            put_num(&l, lng ? va_arg(ap, unsigned long) : va_arg(ap, unsigned), 16);
            break;
        case 'c':
            put(&l, (char)va_arg(ap, int));
            break;
        case '%':
            put(&l, '%');
            break;
        default: /* unknown: print it as written */
            put(&l, '%');
            if (*p == '\0')
                p--;
            else
                put(&l, *p);
            break;
        }
    }
    va_end(ap);
    flush(&l);
}
