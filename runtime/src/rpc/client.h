/*
 * client.h - the client role (rpc layer): the local end of a connection to
 * one remote node or {node, key} shard, the client map that finds or makes
 * it, and the table of calls in flight on it.
 */
#ifndef GENRPC_RPC_CLIENT_H
#define GENRPC_RPC_CLIENT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/idmap.h"
#include "base/stats.h"
#include "net/conn.h"

typedef struct genrpc__pending genrpc__pending;

/* A client connection: the conn first, then what only clients have. */
typedef struct genrpc__client {
    genrpc__conn conn;
    bool has_key; /* a {node, key} shard */
    uint64_t key_hash;
    /* calls in flight (pend_mu) */
    pthread_mutex_t pend_mu;
    bool pend_closed; /* no more inserts: the conn has closed (or went idle) */
    genrpc__idmap pending; /* request id -> genrpc__pending */
    genrpc__counter errors; /* ERROR frames received (loop; rpc/stats.c reads) */
    genrpc__hist round_trips; /* ticks from insert to answer, per call answered (loop) */
} genrpc__client;

static inline genrpc__client *
genrpc__client_of(genrpc__conn *c)
{
    return (genrpc__client *)c; /* the conn is its first member */
}

/* The role of a client connection, and its size (the client map uses
 * them; so does the node fuzzer, to drive a dialled socket by hand). */
extern const genrpc__conn_role genrpc__client_role;
#define GENRPC__CLIENT_SIZE sizeof(genrpc__client)

/* The conn for a target, created (and connected) on first use. Returns a
 * reference. */
int genrpc__client_get(genrpc_node *node, genrpc_target t, genrpc__conn **out, genrpc_status *st);
/* Calls fn(peer, arg) for each authenticated client in the map, under
 * conns_mu (fn must not call into the node: only runtime code passes one).
 * Keyed clients of one node are visited once each: fn sees the node as
 * often. */
void genrpc__clients_each_ready(genrpc_node *node, void (*fn)(const char *peer, void *arg),
                                void *arg);

#endif /* GENRPC_RPC_CLIENT_H */
