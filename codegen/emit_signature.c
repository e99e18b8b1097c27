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
    cg_strbuf_printf(sb, "%s%s(", head, name);
    for (size_t i = 0; i < n_params; i++) {
        size_t need = strlen(params[i]) + (i + 1 < n_params ? 1 : strlen(tail) + 1);
        if (i > 0 && col + 1 + need > CG_LINE_MAX) {
            cg_strbuf_puts(sb, ",\n");
            cg_strbuf_spaces(sb, indent);
            col = indent;
        } else if (i > 0) {
            cg_strbuf_puts(sb, ", ");
            col += 2;
        }
        cg_strbuf_puts(sb, params[i]);
        col += strlen(params[i]);
    }
    cg_strbuf_printf(sb, ")%s", tail);
}
