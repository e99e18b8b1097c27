/*
 * status.h - errors as values (genrpc_status), logging through the node's
 * sink (base layer).
 */
#ifndef GENRPC_BASE_STATUS_H
#define GENRPC_BASE_STATUS_H

#include "genrpc/genrpc.h"

/* Fills st (if not NULL) and returns err. */
int genrpc__fail(genrpc_status *st, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int genrpc__ok(genrpc_status *st);

/* Logs through cfg->log_cb when `level` is enabled (silent by default). */
void genrpc__log(const genrpc_node_config *cfg, genrpc_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
#define GENRPC__LOG_ON(cfg, lvl) ((cfg)->log_cb && (lvl) <= (cfg)->log_level)

#endif /* GENRPC_BASE_STATUS_H */
