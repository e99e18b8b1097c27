/*
 * server.h - the acceptor role (rpc layer): requests and broadcasts from an
 * authenticated peer become jobs (server.c) that workers run (handler.c).
 */
#ifndef GENRPC_RPC_SERVER_H
#define GENRPC_RPC_SERVER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "base/chunk.h"
#include "loop/loop.h"
#include "loop/runner.h"
#include "net/conn.h"

typedef struct genrpc__reg genrpc__reg;
typedef struct genrpc__handler genrpc__handler;
typedef struct genrpc__server_job genrpc__server_job;

/* A request or broadcast for a worker: a runner job (loop/runner.h) whose
 * run is the server's (genrpc__server_run_job, a broadcast's, or a
 * connection's cast drainer) and whose mailbox is its connection's. */
struct genrpc__server_job {
    genrpc__job job;
    genrpc__list cast_link; /* in its connection's cast queue (casts_mu) */
    genrpc__conn *conn;            /* reference */
    genrpc__reg *reg;              /* reference */
    genrpc__handler *handler;      /* broadcast jobs: reference (reg is NULL) */
    const genrpc_function_desc *fn;
    genrpc__slice payload;
    genrpc__str metadata; /* v2 headers, in payload's chunk (empty: none) */
    uint64_t req_id;
    int64_t deadline_ms; /* coarse monotonic ms; 0: the caller gave none */
    bool is_cast;
};

/* An acceptor connection: the conn first, then what only acceptors have. */
typedef struct genrpc__acceptor {
    genrpc__conn conn;
    /* requests received and not yet started (backpressure) */
    atomic_int backlog;
    bool read_paused; /* loop only: not reading while the backlog is too long */
    genrpc__cmd resume_read_cmd; /* the backlog is down: the loop reads again */
    /* its mailbox of requests waiting for a worker (runner->mu) */
    genrpc__mailbox mbox;
    /* casts run one at a time, in order (casts_mu) */
    pthread_mutex_t casts_mu;
    genrpc__list casts; /* genrpc__server_job.cast_link */
    bool casts_running;
    /* v2 CANCEL: ids of requests the caller gave up on (cancel_mu), looked
     * at only while n_cancelled > 0 (server.c, "Cancellation") */
    pthread_mutex_t cancel_mu;
    atomic_int n_cancelled;
    uint64_t *cancelled; /* a ring of GENRPC__CANCELLED_MAX ids, made on first use */
    unsigned cancelled_next;
    /* loop only: requests read (drain: quiet?) and the highest request id
     * read (the last_req_id of a closing GOAWAY) */
    uint64_t n_requests, max_req_id;
    /* loop only, while the node drains */
    bool goaway_sent;     /* GOAWAY(all) sent */
    uint64_t drain_seen;  /* n_requests at the last drain tick */
    int quiet_ticks;      /* drain ticks in a row with nothing to do */
    genrpc__counter errors; /* ERROR frames sent (handler.c; rpc/stats.c reads) */
} genrpc__acceptor;

/* The most request ids a connection remembers as cancelled: the backlog's
 * bound, so that every request it may have queued can be cancelled. */
#define GENRPC__CANCELLED_MAX 1024

static inline genrpc__acceptor *
genrpc__acceptor_of(genrpc__conn *c)
{
    return (genrpc__acceptor *)c; /* the conn is its first member */
}

/* Has the caller cancelled request req_id of c (a v2 CANCEL)? Any thread;
 * one atomic load while nothing was cancelled (inline: every request
 * asks). `forget`: the request is done, drop its id. */
bool genrpc__request_cancelled_slow(genrpc__conn *c, uint64_t req_id, bool forget);
static inline bool
genrpc__request_cancelled(genrpc__conn *c, uint64_t req_id, bool forget)
{
    if (atomic_load_explicit(&genrpc__acceptor_of(c)->n_cancelled, memory_order_acquire) == 0)
        return false;
    return genrpc__request_cancelled_slow(c, req_id, forget);
}

/* The role a listener gives every accepted connection, and its size. */
extern const genrpc__conn_role genrpc__acceptor_role;
#define GENRPC__ACCEPTOR_SIZE sizeof(genrpc__acceptor)

/* ---- drain (server.c) ------------------------------------------------------
 * genrpc_node_drain (node.c) ticks every GENRPC__DRAIN_TICK_MS on the loop:
 * each acceptor is told GOAWAY(all) (version 2: send nothing new, what you
 * sent is still served), and is closed once it has been quiet (nothing
 * queued, running or unsent, no new request) for GENRPC__DRAIN_QUIET_TICKS
 * ticks in a row, with a last GOAWAY naming the highest request id it read
 * (anything above was never read: the client may send it elsewhere). */
#define GENRPC__DRAIN_TICK_MS 10
#define GENRPC__DRAIN_QUIET_TICKS 5
/* Loop: one drain tick over every acceptor; returns how many remain. */
int genrpc__server_drain_tick(genrpc__net *net);
/* Loop: every ready version-2 acceptor gets the GOAWAY a closing server
 * sends (last_req_id = the highest id it read), before the node closes
 * them (genrpc_node_stop, or a drain out of time). */
void genrpc__server_goaway_all(genrpc__net *net, uint8_t reason, const char *text);

/* A queued request has started running (any thread). */
void genrpc__backlog_started(genrpc__conn *c);
/* handler.c: an ERROR frame for req_id; a failed call is answered, a
 * failed cast dropped and counted. */
void genrpc__send_error(genrpc__conn *c, uint64_t req_id, const genrpc_status *st,
                        genrpc__flush how);
/* ... with trailers (a checked block; empty: none; dropped over v1). */
void genrpc__send_error_md(genrpc__conn *c, uint64_t req_id, const genrpc_status *st,
                           genrpc__flush how, genrpc__str trailers);
void genrpc__answer_failure(genrpc__server_job *job, genrpc_status *st);
void genrpc__server_job_free(genrpc__server_job *job);
/* A call or cast request's run (handler.c): decode, run, encode. */
void genrpc__server_run_job(genrpc__job *job);

#endif /* GENRPC_RPC_SERVER_H */
