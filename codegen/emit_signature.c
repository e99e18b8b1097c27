/*
 * emit_signature.c - function prototypes laid out the way a person would
 * write them: one line if it fits, else wrapped and aligned under '('.
 */
#include <string.h>

#include "emit.h"

bool
cg_method_is_remote(const cg_service *s, const cg_method *m)
{
    return !s->opts.internal_module && !m->internal;
}

/* Column at which the text `head` leaves the cursor. */
static size_t
column_after(const char *head)
{
    const char *nl = strrchr(head, '\n');
    return strlen(nl ? nl + 1 : head);
}

void
cg_emit_signature(cg_strbuf *sb, const char *head, const char *name,
                  const char *const *params, size_t n_params, const char *tail)
{
    size_t indent = column_after(head) + strlen(name) + 1;
    size_t col = indent;
    size_t tail_cols = strcspn(tail, "\n");
    cg_strbuf_printf(sb, "%s%s(", head, name);
    for (size_t i = 0; i < n_params; i++) {
        size_t len = strlen(params[i]);
        /* what must still fit on this line: ", " param and "," or ")" tail */
        size_t after = i + 1 < n_params ? 1 : 1 + tail_cols;
        if (i > 0 && col + 2 + len + after > CG_LINE_MAX) {
            cg_strbuf_puts(sb, ",\n");
            cg_strbuf_spaces(sb, indent);
            col = indent;
        } else if (i > 0) {
            cg_strbuf_puts(sb, ", ");
            col += 2;
        }
        cg_strbuf_puts(sb, params[i]);
        col += len;
    }
    cg_strbuf_printf(sb, ")%s", tail);
}

void
cg_emit_comment(cg_strbuf *sb, const char *indent, const char *text)
{
    size_t col = strlen(indent) + 2;
    cg_strbuf_printf(sb, "%s/*", indent);
    for (const char *p = text; *p;) {
        while (*p == ' ')
            p++;
        size_t word = strcspn(p, " ");
        if (word == 0)
            break;
        if (col + 1 + word + 3 > CG_LINE_MAX && col > strlen(indent) + 3) {
            cg_strbuf_printf(sb, "\n%s *", indent);
            col = strlen(indent) + 2;
        }
        cg_strbuf_printf(sb, " %.*s", (int)word, p);
        col += 1 + word;
        p += word;
    }
    cg_strbuf_puts(sb, " */\n");
}
