/*
 * fanout.h - many targets at once (rpc layer): the checks every fan-out
 * makes of its target list, and the one "promise per target, one
 * deadline, collect in order" loop shared by multicall and sbcast.
 */
#ifndef GENRPC_RPC_FANOUT_H
#define GENRPC_RPC_FANOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "genrpc/genrpc.h"

/* A target names a node and, if it has a key length, a key. (The client
 * map checks the name's length too, when it dials.) */
static inline bool
genrpc__target_ok(const genrpc_target *t)
{
    return t->node && t->node[0] && !(t->key_len && !t->key);
}

/* Every target of a fan-out list is well formed (an E_INVAL before
 * anything is sent, naming the first one that is not). */
int genrpc__check_targets(const genrpc_target *targets, size_t n, genrpc_status *st);

/* One fan-out in flight: send() each target an async call with the time
 * left until one shared deadline, all before any is waited for, then
 * collect them in the caller's order, so that the whole takes about one
 * timeout, not one per target. */
typedef struct genrpc__fanout {
    genrpc_node *node;
    const genrpc_target *targets;
    size_t n;
    int64_t timeout_ms; /* the shared deadline, from now */
    /* status message of a target that did not answer in time: a format
     * taking the target's node name (%s) and timeout_ms (%lld) */
    const char *timeout_fmt;
    bool want_reply; /* collect the decoded reply (else only the status) */
    void *arg;
    /* Sends to target i with timeout_ms left: *p its promise, or NULL and
     * *s the outcome (not sent). */
    void (*send)(struct genrpc__fanout *f, size_t i, int64_t timeout_ms, genrpc_promise **p,
                 genrpc_status *s);
    /* Target i's outcome (reply owned by the callee; NULL unless OK and
     * want_reply): right away when not sent, else when collected. */
    void (*done)(struct genrpc__fanout *f, size_t i, const genrpc_status *s,
                 ProtobufCMessage *reply);
} genrpc__fanout;

/* Runs f (n > 0; not on the loop). GENRPC_OK once every target's done()
 * ran; E_NOMEM (none ran) if there was no memory for the promises. */
int genrpc__fanout_run(genrpc__fanout *f, genrpc_status *st);

#endif /* GENRPC_RPC_FANOUT_H */
