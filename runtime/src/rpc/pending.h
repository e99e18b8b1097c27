/*
 * pending.h - calls in flight (rpc layer): one record per call, completed
 * in one of three ways (a blocked caller, a promise, a callback), kept in
 * its client connection's table by request id (pending.c).
 */
#ifndef GENRPC_RPC_PENDING_H
#define GENRPC_RPC_PENDING_H

#include <ev.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/chunk.h"
#include "loop/loop.h"
#include "net/conn.h"
#include "wire/out.h"

typedef enum genrpc__pmode {
    GENRPC__WAITER,   /* a blocked caller thread */
    GENRPC__PROMISE,  /* a genrpc_promise */
    GENRPC__CALLBACK, /* a callback run on the loop */
} genrpc__pmode;

/* A blocked caller's wake-up: one per thread, reused for every call. */
typedef struct genrpc__waiter {
    pthread_mutex_t mu;
    pthread_cond_t cond;
} genrpc__waiter;

genrpc__waiter *genrpc__thread_waiter(void);

/* One call in flight. Lives in its conn's pending table from send until
 * the reply, the timeout or the connection's end removes it; whoever
 * removes it completes it. */
typedef struct genrpc__pending {
    uint64_t req_id;
    uint64_t sent_ticks; /* genrpc__ticks() when inserted: the round trip's start (stats) */
    genrpc__pmode mode;
    const genrpc_function_desc *fn;
    /* result, written by the completer before signalling */
    genrpc__slice reply; /* REPLY payload, or data NULL */
    genrpc_status status;
    bool done; /* WAITER: guarded by waiter->mu */
    genrpc__waiter *waiter;
    struct genrpc_promise *promise;
    /* CALLBACK mode */
    genrpc_reply_thunk thunk;
    genrpc_generic_fn user_cb;
    void *arg;
    ev_timer timer;
    genrpc__conn *conn; /* CALLBACK/PROMISE: a reference while in flight */
    genrpc_node *node;
    /* CALLBACK: what the callback waits for: the call's outcome, and a
     * lent request's frame being written, dropped or copied
     * (GENRPC_CALL_LEND_REQUEST) */
    atomic_int holds;
    genrpc__out *lent_out; /* that frame until then (conn->out_mu) */
    /* CALLBACK: the loop runs cmd to start the call (started off the loop:
     * with start_out and timeout_ms), to call back a failed start (started
     * on the loop), or to call back once a lent frame lets go last; one at
     * a time: each is posted only after the previous one has run */
    genrpc__cmd cmd;
    genrpc__out *start_out;
    int64_t timeout_ms;
    /* its cancellation token (a reference) while in its table, or NULL;
     * cancel_link is in the token's list (token->mu). cancel.c */
    genrpc_cancel_token *cancel;
    genrpc__list cancel_link;
    genrpc_cancel_token *start_cancel; /* CALLBACK: the token, held until the start runs */
    /* the caller's genrpc_call_opts.trailers (NULL: not wanted): the
     * answer's trailers are copied there before completion */
    genrpc_metadata *trailers;
    /* PROMISE, CALLBACK: the client interceptors' record (NULL: none) */
    struct genrpc__icpt_call *icpt;
} genrpc__pending;

/* Completes p with its result (already filled), by mode. Loop thread or
 * the thread that removed p from its table. */
void genrpc__pending_complete(genrpc__pending *p);

/* cancel.c. p was just registered on p->conn: join `token` (NULL: none).
 * False if the token has fired: the caller withdraws p itself and fails
 * it with GENRPC_E_CANCELLED. */
bool genrpc__cancel_attach(genrpc__pending *p, genrpc_cancel_token *token);
void genrpc__cancel_detach_slow(genrpc__pending *p);
/* Another reference to t (a callback call's start holds one); returns t. */
genrpc_cancel_token *genrpc__cancel_token_ref(genrpc_cancel_token *t);
/* p left its table: leave its token too (nothing without one). */
static inline void
genrpc__cancel_detach(genrpc__pending *p)
{
    if (p->cancel)
        genrpc__cancel_detach_slow(p);
}
/* Tells the callee of request req_id on c that it was cancelled (a v2
 * CANCEL; nothing on a version-1 connection or one not yet ready). */
void genrpc__send_cancel(genrpc__conn *c, uint64_t req_id);
/* p was withdrawn from its table to be cancelled: send CANCEL, fail it
 * with GENRPC_E_CANCELLED, complete it (a callback from the loop). */
void genrpc__pending_cancelled(genrpc__pending *p);


/* The pending table of client connection c (pending.c). insert assigns
 * p->req_id; GENRPC_E_CLOSED once c closed (or went idle). A record that
 * leaves the table (take, remove, fail_all) leaves its token too. */
int genrpc__pending_insert(genrpc__conn *c, genrpc__pending *p);
genrpc__pending *genrpc__pending_take(genrpc__conn *c, uint64_t req_id);
bool genrpc__pending_remove(genrpc__conn *c, genrpc__pending *p);
/* remove, leaving the token alone (the token's own cancel, under its lock) */
bool genrpc__pending_withdraw(genrpc__conn *c, genrpc__pending *p);
/* c closed: no more inserts; every call in the table fails with err. */
void genrpc__pending_fail_all(genrpc__conn *c, int err, const char *msg);
/* c's server said GOAWAY: no more inserts (new calls go to a fresh
 * connection); the calls it never read (ids above last_req_id) fail with
 * GENRPC_E_UNAVAILABLE; the others wait for their answers. */
void genrpc__pending_goaway(genrpc__conn *c, uint64_t last_req_id);
/* c closed with these calls' requests unwritten: they fail with
 * GENRPC_E_UNAVAILABLE (they did not run) rather than CLOSED. */
void genrpc__pending_fail_unsent(genrpc__conn *c, const uint64_t *req_ids, size_t n);
/* Not idle: calls in flight. Without any, closes the table (no more
 * inserts: a call racing the idle close goes to a fresh connection). */
bool genrpc__pending_busy(genrpc__conn *c);

#endif /* GENRPC_RPC_PENDING_H */
