/*
 * status.c - filling a genrpc_status, and the log sink.
 */
#include <stdarg.h>
#include <stdio.h>

#include "base/status.h"

void
genrpc__log(const genrpc_node_config *cfg, genrpc_log_level level, const char *fmt, ...)
{
    if (!GENRPC__LOG_ON(cfg, level))
        return;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cfg->log_cb(level, msg, cfg->log_arg);
}

static int
vfail(genrpc_status *st, int err, const char *fmt, va_list ap)
{
    if (st) {
        st->err = err;
        st->handler_code = 0;
        vsnprintf(st->message, sizeof st->message, fmt, ap);
    }
    return err;
}

int
genrpc__fail(genrpc_status *st, int err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfail(st, err, fmt, ap);
    va_end(ap);
    return err;
}

int
genrpc__ok(genrpc_status *st)
{
    if (st) {
        st->err = GENRPC_OK;
        st->handler_code = 0;
        st->message[0] = '\0';
    }
    return GENRPC_OK;
}
