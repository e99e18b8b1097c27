/*
 * names.c - protobuf-c's name mangling, reimplemented in C.
 *
 * The rules are protoc-c's (c_helpers.cc), including its use of the C
 * locale's isupper/tolower on each byte: any difference would make our
 * names disagree with the ones protobuf-c put in <file>.pb-c.h.
 */
#include "names.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strbuf.h"

typedef char *(*piece_fn)(const char *piece);

char *
cg_camel_to_lower(const char *name)
{
    cg_strbuf sb = CG_STRBUF_INIT;
    bool was_upper = true; /* no '_' before a leading capital */
    for (const char *p = name; *p; p++) {
        bool is_upper = isupper((unsigned char)*p) != 0;
        if (is_upper && !was_upper)
            cg_strbuf_puts(&sb, "_");
        cg_strbuf_printf(&sb, "%c", is_upper ? tolower((unsigned char)*p) : *p);
        was_upper = is_upper;
    }
    return cg_strbuf_take(&sb);
}

char *
cg_camel_to_upper(const char *name)
{
    cg_strbuf sb = CG_STRBUF_INIT;
    bool was_upper = true;
    for (const char *p = name; *p; p++) {
        bool is_upper = isupper((unsigned char)*p) != 0;
        if (is_upper && !was_upper)
            cg_strbuf_puts(&sb, "_");
        cg_strbuf_printf(&sb, "%c", toupper((unsigned char)*p));
        was_upper = is_upper;
    }
    return cg_strbuf_take(&sb);
}

char *
cg_to_camel(const char *name)
{
    cg_strbuf sb = CG_STRBUF_INIT;
    bool next_is_upper = true;
    for (const char *p = name; *p; p++) {
        if (*p == '_') {
            next_is_upper = true;
        } else {
            cg_strbuf_printf(&sb, "%c", next_is_upper ? toupper((unsigned char)*p) : *p);
            next_is_upper = false;
        }
    }
    return cg_strbuf_take(&sb);
}

/* Splits on '.', skips empty pieces (a leading dot), maps each piece
 * through `fn` and joins the results with "__". */
static char *
map_full_name(const char *full_name, piece_fn fn)
{
    cg_strbuf out = CG_STRBUF_INIT;
    const char *p = full_name;
    while (*p) {
        size_t n = strcspn(p, ".");
        if (n > 0) {
            char *piece = cg_xmalloc(n + 1);
            memcpy(piece, p, n);
            piece[n] = '\0';
            char *mapped = fn(piece);
            cg_strbuf_printf(&out, "%s%s", out.len ? "__" : "", mapped);
            free(mapped);
            free(piece);
        }
        p += n;
        if (*p == '.')
            p++;
    }
    return cg_strbuf_take(&out);
}

char *
cg_full_name_to_lower(const char *full_name)
{
    return map_full_name(full_name, cg_camel_to_lower);
}

char *
cg_full_name_to_upper(const char *full_name)
{
    return map_full_name(full_name, cg_camel_to_upper);
}

char *
cg_full_name_to_c(const char *full_name)
{
    return map_full_name(full_name, cg_to_camel);
}

static bool
has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

char *
cg_strip_proto(const char *filename)
{
    char *s = cg_xstrdup(filename);
    if (has_suffix(s, ".protodevel"))
        s[strlen(s) - strlen(".protodevel")] = '\0';
    else if (has_suffix(s, ".proto"))
        s[strlen(s) - strlen(".proto")] = '\0';
    return s;
}

char *
cg_filename_identifier(const char *filename)
{
    cg_strbuf sb = CG_STRBUF_INIT;
    for (const char *p = filename; *p; p++) {
        if (isalnum((unsigned char)*p))
            cg_strbuf_printf(&sb, "%c", *p);
        else
            cg_strbuf_printf(&sb, "_%x", (unsigned)(unsigned char)*p);
    }
    return cg_strbuf_take(&sb);
}

bool
cg_is_c_keyword(const char *word)
{
    static const char *const keywords[] = {
        "auto", "break", "case", "char", "const", "continue", "default", "do",
        "double", "else", "enum", "extern", "float", "for", "goto", "if",
        "inline", "int", "long", "register", "restrict", "return", "short",
        "signed", "sizeof", "static", "struct", "switch", "typedef", "union",
        "unsigned", "void", "volatile", "while", "_Alignas", "_Alignof",
        "_Atomic", "_Bool", "_Complex", "_Generic", "_Imaginary", "_Noreturn",
        "_Static_assert", "_Thread_local",
    };
    for (size_t i = 0; i < sizeof keywords / sizeof keywords[0]; i++) {
        if (strcmp(word, keywords[i]) == 0)
            return true;
    }
    return false;
}
