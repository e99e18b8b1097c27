/*
 * genrpc/stats.h - a node's statistics as a tree (after nng's nng_stat):
 * counters kept per node, per peer and per connection (bytes, frames, calls
 * in flight, queued requests, reconnects, errors) and per served function
 * (calls, errors by code, latency percentiles). docs/stats.md lists every
 * name.
 *
 * genrpc_stats_get takes a snapshot: a tree the caller owns, walks with
 * genrpc_stat_child / genrpc_stat_next (or genrpc_stat_find), and frees
 * with genrpc_stats_free. The snapshot never changes; take another to see
 * newer values. Every pointer read from a stat (names, strings, children)
 * belongs to the snapshot and lives until it is freed.
 *
 * The same tree is served remotely by the built-in module genrpc.Stats
 * (idl/genrpc/stats.proto), unless builtins_off has GENRPC_BUILTIN_STATS.
 */
#ifndef GENRPC_STATS_H
#define GENRPC_STATS_H

#include <stdint.h>
#include "genrpc/export.h"
#include "genrpc/node.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct genrpc_stat genrpc_stat;

/* What a stat holds. Values match idl/genrpc/stats.proto's Stat.Type. */
typedef enum genrpc_stat_kind {
    GENRPC_STAT_SCOPE = 0,   /* a group: no value, only children */
    GENRPC_STAT_COUNTER = 1, /* a count that only grows (calls, bytes) */
    GENRPC_STAT_LEVEL = 2,   /* a value now (calls in flight, a percentile) */
    GENRPC_STAT_STRING = 3,  /* text (genrpc_stat_string) */
} genrpc_stat_kind;

/* What a COUNTER or LEVEL counts. Values match stats.proto's Stat.Unit. */
typedef enum genrpc_stat_unit_kind {
    GENRPC_STAT_UNIT_NONE = 0,
    GENRPC_STAT_UNIT_BYTES = 1,
    GENRPC_STAT_UNIT_MESSAGES = 2, /* frames, calls, requests */
    GENRPC_STAT_UNIT_NANOS = 3,    /* a duration in nanoseconds */
    GENRPC_STAT_UNIT_EVENTS = 4,   /* connects, errors, ... */
} genrpc_stat_unit_kind;

/* A snapshot of node's statistics. On success *out is the root (a SCOPE
 * named after the node) and the caller owns the whole tree: free it with
 * genrpc_stats_free. Returns GENRPC_OK, GENRPC_E_INVAL (a NULL argument)
 * or GENRPC_E_NOMEM (then *out is NULL). Any thread; takes no lock that a
 * call waits on for longer than copying a few counters. */
GENRPC_API int genrpc_stats_get(genrpc_node *node, genrpc_stat **out);

/* Frees a snapshot from genrpc_stats_get (its root; NULL is ignored). */
GENRPC_API void genrpc_stats_free(genrpc_stat *root);

/* The first child of st, its next sibling; NULL when there is none. */
GENRPC_API const genrpc_stat *genrpc_stat_child(const genrpc_stat *st);
GENRPC_API const genrpc_stat *genrpc_stat_next(const genrpc_stat *st);

/* The stat at `path` below st: child names separated by '/', as
 * "functions/kv.Store/Get/calls"; NULL if there is none. A name that
 * itself holds a '/' cannot be found this way: walk the children. */
GENRPC_API const genrpc_stat *genrpc_stat_find(const genrpc_stat *st, const char *path);

GENRPC_API const char *genrpc_stat_name(const genrpc_stat *st);
/* One line saying what it is ("" for the scopes of peers, modules, ...). */
GENRPC_API const char *genrpc_stat_desc(const genrpc_stat *st);
GENRPC_API genrpc_stat_kind genrpc_stat_type(const genrpc_stat *st);
GENRPC_API genrpc_stat_unit_kind genrpc_stat_unit(const genrpc_stat *st);
/* A COUNTER's or LEVEL's value (0 for the others). */
GENRPC_API uint64_t genrpc_stat_value(const genrpc_stat *st);
/* A STRING's text ("" for the others). */
GENRPC_API const char *genrpc_stat_string(const genrpc_stat *st);

#ifdef __cplusplus
}
#endif

#endif /* GENRPC_STATS_H */
