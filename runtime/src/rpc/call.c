/*
 * call.c - the caller's side: encode the request once into its outgoing
 * frame, register the call in its connection's pending table, write it
 * (straight from the caller's thread when nothing is queued ahead), then
 * wait (call), hand back a promise (async call) or return and let the loop
 * run a callback (async call with callback).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "wire/decode.h"
#include "rpc/node.h"
#include "rpc/call.h"
#include "rpc/client.h"
#include "rpc/pending.h"

/* Unsent bytes on one connection past which casts fail with OVERLOAD. */
#define CAST_QUEUE_MAX ((size_t)64 << 20)

/* Requests at least this big are written straight from the caller's
 * memory (out.c), at once. Smaller ones are copied into their frame, which
 * lets the loop batch many into one write: measured on loopback (bench/),
 * batching wins over saving the copy for 64 KB requests (1.99 vs 1.31 GB/s
 * echoed at 16 in flight) and loses for 500 KB ones (1.85 vs 2.01 GB/s). */
#define REQUEST_BORROW_MIN ((size_t)256 << 10)

/* Where the request id sits in an encoded request: after prefix and kind. */
#define REQ_ID_OFFSET (GENRPC__LEN_PREFIX + 1)

struct genrpc_promise {
    genrpc__pending p; /* mode PROMISE */
    pthread_mutex_t mu;
    pthread_cond_t cond;
    atomic_int refs;     /* the user's + one while in flight */
    bool done;           /* mu */
    bool consumed;       /* mu */
    /* The promise's reference to its connection, to withdraw the call
     * (timeout, free): set before the user sees the promise, released by
     * genrpc_promise_free. Completion leaves it alone, so the caller's send
     * and the loop's completion never race over it. */
    genrpc__conn *conn;
    int64_t deadline_ns; /* the call's own timeout */
    bool claimed;        /* the runtime collects it (multicall): no expiry */
    /* async_call_inactivity_timeout: a result nobody claims is freed (loop) */
    genrpc_node *node;
    ev_timer expiry;
    genrpc__list exp_link; /* node->expiring (loop) */
};

static void promise_unref(genrpc_promise *pr);

static void
expiry_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    genrpc_promise *pr = w->data;
    pthread_mutex_lock(&pr->mu);
    if (!pr->consumed && pr->p.status.err == GENRPC_OK) {
        genrpc__slice_release(&pr->p.reply);
        genrpc__fail(&pr->p.status, GENRPC_E_TIMEOUT,
                     "result expired: not claimed within async_call_inactivity_timeout (%lld ms)",
                     (long long)pr->node->cfg.async_call_inactivity_timeout_ms);
    }
    pthread_mutex_unlock(&pr->mu);
    genrpc__list_remove(&pr->exp_link);
    promise_unref(pr);
}

/* Loop: a promise just completed; unless claimed in time its result goes. */
static void
expiry_start(genrpc_promise *pr)
{
    genrpc_node *node = pr->node;
    int64_t ms = node->cfg.async_call_inactivity_timeout_ms;
    /* stopping: genrpc__promises_stop may have run already, and a timer
     * started now would never be stopped (nor the promise freed) */
    if (ms < 0 || pr->claimed || !genrpc__on_loop(&node->loop) || atomic_load(&node->net.stopping))
        return;
    atomic_fetch_add(&pr->refs, 1); /* the timer's */
    ev_timer_init(&pr->expiry, expiry_cb, (double)ms / 1000.0, 0.);
    pr->expiry.data = pr;
    ev_timer_start(node->loop.ev, &pr->expiry);
    genrpc__list_push_front(&node->expiring, &pr->exp_link);
}

void
genrpc__promises_stop(genrpc_node *node)
{
    for (genrpc__list *l; (l = genrpc__list_pop_front(&node->expiring));) {
        genrpc_promise *pr = GENRPC__CONTAINER_OF(l, genrpc_promise, exp_link);
        ev_timer_stop(node->loop.ev, &pr->expiry);
        promise_unref(pr);
    }
}

static bool
borrow_any(void *ctx, const uint8_t *data, size_t len)
{
    (void)ctx;
    (void)data;
    (void)len;
    return true;
}

/* How long a request's frame may point into the request's own memory. */
typedef enum borrow_mode {
    BORROW_NOTHING,
    /* the frame is handed to genrpc__conn_send before the caller returns:
     * large byte fields stay where they are, conn_send writes them from
     * there at once or copies them (worth it from REQUEST_BORROW_MIN) */
    BORROW_WHILE_SENDING,
    /* GENRPC_CALL_LEND_REQUEST: until the frame is released (out->release) */
    BORROW_UNTIL_RELEASED,
} borrow_mode;

/* Encodes the request into its frame, borrowing large byte fields as
 * `borrow` allows. */
static int
encode_request(genrpc_node *node, genrpc__kind kind, const genrpc_module_desc *module,
               const genrpc_function_desc *fn, const ProtobufCMessage *req,
               const genrpc_call_opts *opts, borrow_mode borrow, genrpc__out **out,
               genrpc_status *st)
{
    if (!node || !module || !fn || !req || !module->name || !fn->name)
        return genrpc__fail(st, GENRPC_E_INVAL, "node, module, function and request are required");
    if (opts && (opts->flags & ~GENRPC_CALL_LEND_REQUEST))
        return genrpc__fail(st, GENRPC_E_INVAL, "unknown call flags 0x%x",
                            (unsigned)(opts->flags & ~GENRPC_CALL_LEND_REQUEST));
    if (req->descriptor != fn->input)
        return genrpc__fail(st, GENRPC_E_INVAL, "request is a %s, %s:%s takes a %s",
                            req->descriptor->name, module->name, fn->name, fn->input->name);
    size_t mlen = strlen(module->name), flen = strlen(fn->name);
    if (mlen > GENRPC__NAME_MAX || flen > GENRPC__NAME_MAX)
        return genrpc__fail(st, GENRPC_E_INVAL, "module or function name too long");
    size_t size = protobuf_c_message_get_packed_size(req);
    size_t hdr = GENRPC__LEN_PREFIX + genrpc__request_hdr_size(mlen, flen);
    if (hdr - GENRPC__LEN_PREFIX + size > node->cfg.max_frame_size)
        return genrpc__fail(st, GENRPC_E_TOO_BIG, "request of %zu bytes exceeds max_frame_size %zu",
                            size, node->cfg.max_frame_size);
    uint32_t version = opts && opts->version != GENRPC_ANY_VERSION ? opts->version : 0;
    genrpc__request_hdr h = {0, version, {module->name, mlen},
                             {fn->name, flen}, NULL, size};
    size_t borrow_min = borrow == BORROW_UNTIL_RELEASED ? GENRPC__BORROW_MIN : REQUEST_BORROW_MIN;
    genrpc__out *o = borrow != BORROW_NOTHING && size >= borrow_min
                         ? genrpc__out_scatter(req, hdr, size, borrow_any, NULL)
                         : NULL;
    if (o) {
        o->borrowed = borrow == BORROW_WHILE_SENDING;
        genrpc__encode_request_hdr(o->data, hdr, kind, &h);
    } else {
        if (!(o = genrpc__out_new(hdr + size)))
            return genrpc__fail(st, GENRPC_E_NOMEM, "no memory for a %zu-byte request", size);
        genrpc__encode_request_hdr(o->data, hdr + size, kind, &h);
        protobuf_c_message_pack(req, o->data + hdr);
    }
    *out = o;
    return GENRPC_OK;
}

/* Registers p on the target's connection and stamps its id into the frame.
 * On success *conn holds a reference. A cached connection that closed
 * after serving calls is stale: one retry opens a fresh one. A fresh one
 * that closed already (connect refused, authentication failed) fails the
 * call with the reason it closed. */
static int
register_call(genrpc_node *node, genrpc_target target, genrpc__pending *p, genrpc__out *o,
              genrpc__conn **conn, genrpc_status *st)
{
    for (int attempt = 0;; attempt++) {
        int rc = genrpc__client_get(node, target, conn, st);
        if (rc != GENRPC_OK)
            return rc;
        genrpc__conn *c = *conn;
        rc = genrpc__pending_insert(c, p);
        if (rc == GENRPC_OK) {
            genrpc__put_u64(o->data + REQ_ID_OFFSET, p->req_id);
            return GENRPC_OK;
        }
        *conn = NULL;
        if (rc == GENRPC_E_CLOSED && c->was_ready && attempt == 0) {
            genrpc__conn_unref(c);
            continue;
        }
        if (rc == GENRPC_E_CLOSED)
            genrpc__fail(st, c->close_err ? c->close_err : rc, "%s: %s", c->peer, c->close_msg);
        else
            genrpc__fail(st, rc, "cannot register the call");
        genrpc__conn_unref(c);
        return st->err;
    }
}

/* Turns a completed pending into the caller's result: decodes the reply
 * (the caller owns it) or copies the error. Releases the reply bytes. */
static int
finish(genrpc__pending *p, ProtobufCMessage **reply, genrpc_status *st)
{
    int err = p->status.err;
    if (err == GENRPC_OK && p->fn) { /* no fn: nothing to decode (sbcast) */
        ProtobufCMessage *m = protobuf_c_message_unpack(p->fn->output, NULL, p->reply.len,
                                                        p->reply.data);
        if (m && reply)
            *reply = m;
        else if (m)
            protobuf_c_message_free_unpacked(m, NULL);
        else
            genrpc__fail(&p->status, GENRPC_E_PROTOCOL, "cannot decode the %s reply",
                         p->fn->output->name);
        err = p->status.err;
    }
    genrpc__slice_release(&p->reply);
    if (st)
        *st = p->status;
    return err;
}

/* ---- call ---------------------------------------------------------------- */

/* One waiter per thread, made on first use. The mutex and condition
 * variable live as long as the thread; a condition variable on
 * CLOCK_MONOTONIC makes timeouts immune to wall-clock jumps. */
static __thread genrpc__waiter tl_waiter;
static __thread bool tl_waiter_ready;

genrpc__waiter *
genrpc__thread_waiter(void)
{
    if (!tl_waiter_ready) {
        genrpc__cond_init_monotonic(&tl_waiter.cond);
        pthread_mutex_init(&tl_waiter.mu, NULL);
        tl_waiter_ready = true;
    }
    return &tl_waiter;
}


static void
wait_waiter(genrpc__pending *p, int64_t deadline)
{
    genrpc__waiter *w = p->waiter;
    struct timespec ts;
    genrpc__abstime(deadline, &ts);
    genrpc__worker_blocking(); /* the reply comes through the loop */
    pthread_mutex_lock(&w->mu);
    while (!p->done) {
        if (deadline == GENRPC__NEVER)
            pthread_cond_wait(&w->cond, &w->mu);
        else if (pthread_cond_timedwait(&w->cond, &w->mu, &ts) == ETIMEDOUT)
            break;
    }
    pthread_mutex_unlock(&w->mu);
}

int
genrpc_call(genrpc_node *node, genrpc_target target, const genrpc_module_desc *module,
            const genrpc_function_desc *fn, const ProtobufCMessage *request,
            ProtobufCMessage **reply, const genrpc_call_opts *opts, genrpc_status *st)
{
    if (reply)
        *reply = NULL;
    if (!reply || !node)
        return genrpc__fail(st, GENRPC_E_INVAL, "reply and node are required");
    if (genrpc__on_loop(&node->loop))
        return genrpc__fail(st, GENRPC_E_INVAL,
                            "blocking call from the node's event loop (use an async call)");
    int64_t deadline = genrpc__deadline_after_ms(genrpc__call_timeout_ms(node, opts));
    genrpc__out *o;
    int rc = encode_request(node, GENRPC__K_CALL, module, fn, request, opts, BORROW_WHILE_SENDING,
                            &o, st);
    if (rc != GENRPC_OK)
        return rc;

    genrpc__pending p = {.mode = GENRPC__WAITER, .fn = fn, .waiter = genrpc__thread_waiter()};
    genrpc__conn *conn;
    if ((rc = register_call(node, target, &p, o, &conn, &p.status)) != GENRPC_OK) {
        genrpc__out_free(o);
        if (st)
            *st = p.status;
        return rc;
    }
    genrpc__conn_send(conn, o, GENRPC__FLUSH_NOW);
    wait_waiter(&p, deadline);
    if (!p.done) {
        if (genrpc__pending_remove(conn, &p))
            genrpc__fail(&p.status, GENRPC_E_TIMEOUT, "no reply from %s within %lld ms",
                         target.node, (long long)genrpc__call_timeout_ms(node, opts));
        else
            wait_waiter(&p, GENRPC__NEVER); /* the reply is being handed over right now */
    }
    genrpc__conn_unref(conn);
    return finish(&p, reply, st);
}

/* ---- cast ---------------------------------------------------------------- */

int
genrpc_cast(genrpc_node *node, genrpc_target target, const genrpc_module_desc *module,
            const genrpc_function_desc *fn, const ProtobufCMessage *request,
            const genrpc_call_opts *opts, genrpc_status *st)
{
    genrpc__out *o;
    int rc = encode_request(node, GENRPC__K_CAST, module, fn, request, opts, BORROW_WHILE_SENDING,
                            &o, st);
    if (rc != GENRPC_OK)
        return rc;
    genrpc__conn *conn;
    if ((rc = genrpc__client_get(node, target, &conn, st)) != GENRPC_OK) {
        genrpc__out_free(o);
        return rc;
    }
    /* Casts have no reply to wait for, so nothing else bounds them: past
     * CAST_QUEUE_MAX unsent bytes (a peer that stopped reading) they fail
     * instead of growing the caller's memory without end. */
    size_t queued = genrpc__conn_queued_bytes(conn);
    if (queued > CAST_QUEUE_MAX) {
        genrpc__out_free(o);
        rc = genrpc__fail(st, GENRPC_E_OVERLOAD,
                          "%zu bytes already queued for %s: it is not reading", queued,
                          target.node);
        genrpc__conn_unref(conn);
        return rc;
    }
    /* Nobody waits for a cast: let the loop write them in batches (one
     * writev for many) instead of one system call each. Order is kept:
     * there is one queue per connection. */
    genrpc__conn_send(conn, o, GENRPC__FLUSH_DEFER);
    genrpc__conn_unref(conn);
    return genrpc__ok(st);
}

/* ---- completion (any mode) ------------------------------------------------ */

static void callback_complete(genrpc__pending *p);

void
genrpc__pending_complete(genrpc__pending *p)
{
    switch (p->mode) {
    case GENRPC__WAITER:
        pthread_mutex_lock(&p->waiter->mu);
        p->done = true;
        pthread_cond_signal(&p->waiter->cond);
        pthread_mutex_unlock(&p->waiter->mu);
        break;
    case GENRPC__PROMISE: {
        genrpc_promise *pr = p->promise;
        pthread_mutex_lock(&pr->mu);
        pr->done = true;
        pthread_cond_broadcast(&pr->cond);
        pthread_mutex_unlock(&pr->mu);
        expiry_start(pr);
        promise_unref(pr);
        break;
    }
    case GENRPC__CALLBACK:
        callback_complete(p);
        break;
    }
}

/* ---- async call with a promise ------------------------------------------- */

static void
promise_unref(genrpc_promise *pr)
{
    if (atomic_fetch_sub(&pr->refs, 1) != 1)
        return;
    genrpc__slice_release(&pr->p.reply);
    pthread_mutex_destroy(&pr->mu);
    pthread_cond_destroy(&pr->cond);
    free(pr);
}

int
genrpc_call_async(genrpc_node *node, genrpc_target target, const genrpc_module_desc *module,
                  const genrpc_function_desc *fn, const ProtobufCMessage *request,
                  const genrpc_call_opts *opts, genrpc_promise **out, genrpc_status *st)
{
    return genrpc__call_async(node, target, module, fn, request, opts, false, out, st);
}

int
genrpc__call_async(genrpc_node *node, genrpc_target target, const genrpc_module_desc *module,
                   const genrpc_function_desc *fn, const ProtobufCMessage *request,
                   const genrpc_call_opts *opts, bool claimed, genrpc_promise **out,
                   genrpc_status *st)
{
    if (!out)
        return genrpc__fail(st, GENRPC_E_INVAL, "out is NULL");
    *out = NULL;
    genrpc__out *o;
    int rc = encode_request(node, GENRPC__K_CALL, module, fn, request, opts, BORROW_WHILE_SENDING,
                            &o, st);
    if (rc != GENRPC_OK)
        return rc;
    return genrpc__call_async_frame(node, target, fn, o, opts ? opts->timeout_ms : 0, claimed,
                                    out, st);
}

int
genrpc__call_async_frame(genrpc_node *node, genrpc_target target, const genrpc_function_desc *fn,
                         genrpc__out *o, int64_t timeout_ms, bool claimed, genrpc_promise **out,
                         genrpc_status *st)
{
    int rc;
    *out = NULL;
    genrpc_call_opts opts = {.timeout_ms = timeout_ms};
    genrpc_promise *pr = calloc(1, sizeof *pr);
    if (!pr) {
        genrpc__out_free(o);
        return genrpc__fail(st, GENRPC_E_NOMEM, "no memory for a promise");
    }
    pthread_mutex_init(&pr->mu, NULL);
    genrpc__cond_init_monotonic(&pr->cond);
    atomic_init(&pr->refs, 2);
    pr->p.mode = GENRPC__PROMISE;
    pr->p.fn = fn;
    pr->p.promise = pr;
    pr->node = node;
    pr->claimed = claimed;
    pr->deadline_ns = genrpc__deadline_after_ms(genrpc__call_timeout_ms(node, &opts));
    genrpc__conn *conn;
    if ((rc = register_call(node, target, &pr->p, o, &conn, &pr->p.status)) != GENRPC_OK) {
        genrpc__out_free(o);
        if (genrpc_err_class_of(rc) != GENRPC_CLASS_BADTCP) {
            if (st)
                *st = pr->p.status;
            atomic_store(&pr->refs, 1);
            promise_unref(pr);
            return rc;
        }
        /* Unreachable: the promise answers the transport error, as if the
         * connection had failed a moment after the call was sent. */
        pr->done = true;
        atomic_store(&pr->refs, 1);
        *out = pr;
        return genrpc__ok(st);
    }
    pr->conn = conn; /* register_call's reference; the loop may complete pr from now on */
    genrpc__conn_send(conn, o, genrpc__on_loop(&node->loop) ? GENRPC__FLUSH_DEFER : GENRPC__FLUSH_NOW);
    *out = pr;
    return genrpc__ok(st);
}

/* mu held. Waits until done or `until`; returns whether done. */
static bool
promise_wait(genrpc_promise *pr, int64_t until)
{
    struct timespec ts;
    genrpc__abstime(until, &ts);
    if (!pr->done)
        genrpc__worker_blocking(); /* the reply comes through the loop */
    while (!pr->done) {
        if (until == GENRPC__NEVER)
            pthread_cond_wait(&pr->cond, &pr->mu);
        else if (pthread_cond_timedwait(&pr->cond, &pr->mu, &ts) == ETIMEDOUT)
            return pr->done;
    }
    return true;
}

/* mu held, not done, the call's own deadline has passed: withdraw the call
 * (or, if its reply is being handed over right now, wait for it). */
static void
promise_expire(genrpc_promise *pr)
{
    pthread_mutex_unlock(&pr->mu);
    bool withdrawn = pr->conn && genrpc__pending_remove(pr->conn, &pr->p);
    pthread_mutex_lock(&pr->mu);
    if (withdrawn) {
        genrpc__fail(&pr->p.status, GENRPC_E_TIMEOUT, "no reply within the call's timeout");
        pr->done = true;
        atomic_fetch_sub(&pr->refs, 1); /* the in-flight reference; the user's remains */
    } else {
        promise_wait(pr, GENRPC__NEVER);
    }
}

static int
promise_take(genrpc_promise *pr, int64_t nb_deadline, ProtobufCMessage **reply,
             genrpc_status *st)
{
    if (reply)
        *reply = NULL;
    if (!pr)
        return genrpc__fail(st, GENRPC_E_INVAL, "promise is NULL");
    pthread_mutex_lock(&pr->mu);
    if (pr->consumed) {
        pthread_mutex_unlock(&pr->mu);
        return genrpc__fail(st, GENRPC_E_CONSUMED, "this promise has already been yielded");
    }
    int64_t until = nb_deadline < pr->deadline_ns ? nb_deadline : pr->deadline_ns;
    if (!promise_wait(pr, until)) {
        if (nb_deadline < pr->deadline_ns) {
            pthread_mutex_unlock(&pr->mu);
            return genrpc__fail(st, GENRPC_E_NOT_READY, "no result yet");
        }
        promise_expire(pr);
    }
    pr->consumed = true;
    pthread_mutex_unlock(&pr->mu);
    return finish(&pr->p, reply, st);
}

int
genrpc_promise_yield(genrpc_promise *p, ProtobufCMessage **reply, genrpc_status *st)
{
    return promise_take(p, GENRPC__NEVER, reply, st);
}

int
genrpc_promise_nb_yield(genrpc_promise *p, int64_t timeout_ms, ProtobufCMessage **reply,
                        genrpc_status *st)
{
    return promise_take(p, genrpc__deadline_after_ms(timeout_ms), reply, st);
}

void
genrpc_promise_free(genrpc_promise *pr)
{
    if (!pr)
        return;
    genrpc__conn *conn = pr->conn;
    if (conn) {
        if (genrpc__pending_remove(conn, &pr->p))
            promise_unref(pr); /* withdrawn: nobody will complete it */
        genrpc__conn_unref(conn);
    }
    promise_unref(pr);
}

/* ---- async call with a callback ------------------------------------------ */


static void
cb_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    genrpc__pending *p = w->data;
    if (genrpc__pending_remove(p->conn, p)) {
        genrpc__fail(&p->status, GENRPC_E_TIMEOUT, "no reply from %s in time", p->conn->peer);
        callback_complete(p);
    }
}

static void callback_run(genrpc__pending *p);

/* The call has its outcome (loop). A lent request still queued (the call
 * timed out or failed before it was written) copies what it has left to
 * write, so the callback runs now; only without memory for that copy does
 * the callback wait for the frame to be written or dropped. */
static void
callback_complete(genrpc__pending *p)
{
    GENRPC__ASSERT_ON_LOOP(&p->node->loop);
    genrpc_node *node = p->node;
    if (node->loop.ev)
        ev_timer_stop(node->loop.ev, &p->timer);
    if (atomic_load_explicit(&p->holds, memory_order_acquire) == 2 &&
        genrpc__conn_unlend(p->conn, &p->lent_out))
        atomic_fetch_sub_explicit(&p->holds, 1, memory_order_acq_rel); /* the frame's */
    if (atomic_fetch_sub_explicit(&p->holds, 1, memory_order_acq_rel) == 1)
        callback_run(p);
}

static void
callback_run_cmd(genrpc__cmd *cmd)
{
    callback_run(GENRPC__CONTAINER_OF(cmd, genrpc__pending, cmd));
}

/* out->release of a lent request's frame: written or dropped, on whichever
 * thread freed it, under the connection's out_mu (or, never queued, by the
 * thread that started the call). Usually the call is still waiting for its reply;
 * if it has its outcome already and the copy failed, its callback was
 * waiting for this and runs on the loop. */
static void
lent_request_released(void *owner)
{
    genrpc__pending *p = owner;
    p->lent_out = NULL;
    if (atomic_fetch_sub_explicit(&p->holds, 1, memory_order_acq_rel) != 1)
        return;
    /* The last hold: p's start has run (the frame was queued or freed by it) */
    genrpc__cmd_init(&p->cmd, callback_run_cmd);
    genrpc__loop_post(&p->node->loop, &p->cmd);
}

static void
callback_run(genrpc__pending *p)
{
    /* The callback only borrows the reply: decode it into an arena with
     * its byte fields left in the read chunk, free both afterwards. */
    genrpc__arena a;
    GENRPC__ARENA_INIT(&a);
    ProtobufCMessage *reply = NULL;
    if (p->status.err == GENRPC_OK && !genrpc__decode_borrowed(p->fn->output, p->reply.data, p->reply.len, &a, &reply))
        genrpc__fail(&p->status, GENRPC_E_PROTOCOL, "cannot decode the %s reply",
                     p->fn->output->name);
    genrpc_status st = p->status;
    if (p->thunk)
        p->thunk(p->user_cb, st.err, &st, reply, p->arg);
    else
        ((genrpc_reply_cb)p->user_cb)(st.err, &st, reply, p->arg);
    genrpc__arena_release(&a);
    genrpc__slice_release(&p->reply);
    genrpc__conn_unref(p->conn);
    free(p);
}

/* The call failed before it was sent; on the loop, from a command (never
 * inside the genrpc_call_async_cb that started it). */
static void
cb_failed_cmd(genrpc__cmd *cmd)
{
    callback_complete(GENRPC__CONTAINER_OF(cmd, genrpc__pending, cmd));
}

/* On the loop: register, send (batched), arm the timeout. `deferred`: run
 * from p's start command, so a failure may call back now; else (inside the
 * genrpc_call_async_cb that started it) the failure is posted, so the
 * callback runs after that call has returned, as libuv promises. */
static void
cb_start_on_loop(genrpc_node *node, genrpc__pending *p, bool deferred)
{
    GENRPC__ASSERT_ON_LOOP(&node->loop);
    genrpc__out *out = p->start_out;
    p->start_out = NULL;
    int rc = atomic_load(&node->net.stopping) ? GENRPC_E_STOPPED
                                          : genrpc__pending_insert(p->conn, p);
    if (rc != GENRPC_OK) {
        genrpc__conn *c = p->conn;
        genrpc__out_free(out);
        if (rc == GENRPC_E_CLOSED && c->close_err)
            genrpc__fail(&p->status, c->close_err, "%s: %s", c->peer, c->close_msg);
        else
            genrpc__fail(&p->status, rc, "connection to %s is gone", c->peer);
        if (deferred) {
            callback_complete(p);
        } else {
            genrpc__cmd_init(&p->cmd, cb_failed_cmd); /* not queued: its run is this one */
            genrpc__loop_post(&node->loop, &p->cmd);
        }
        return;
    }
    genrpc__put_u64(out->data + REQ_ID_OFFSET, p->req_id);
    if (p->timeout_ms >= 0) {
        ev_timer_init(&p->timer, cb_timeout, (double)p->timeout_ms / 1000.0, 0.);
        p->timer.data = p;
        ev_timer_start(node->loop.ev, &p->timer);
    }
    /* Once sent, p belongs to the connection: a reply or a close (by the
     * loop, later) completes and frees it. Touch neither p nor p->conn's
     * reference after the send. */
    genrpc__conn *c = p->conn;
    genrpc__conn_ref(c);
    genrpc__conn_send(c, out, GENRPC__FLUSH_DEFER);
    genrpc__conn_unref(c);
}

static void
cb_start_cmd(genrpc__cmd *cmd)
{
    genrpc__pending *p = GENRPC__CONTAINER_OF(cmd, genrpc__pending, cmd);
    cb_start_on_loop(p->node, p, true);
}

int
genrpc_call_async_typed(genrpc_node *node, genrpc_target target,
                        const genrpc_module_desc *module, const genrpc_function_desc *fn,
                        const ProtobufCMessage *request, const genrpc_call_opts *opts,
                        genrpc_reply_thunk thunk, genrpc_generic_fn user_cb, void *arg)
{
    genrpc_status st;
    if (!user_cb)
        return GENRPC_E_INVAL;
    genrpc__out *o;
    /* Off the loop the frame is sent later, by the loop: unless the caller
     * lends its request until the callback, the frame owns its bytes. */
    bool lend = opts && (opts->flags & GENRPC_CALL_LEND_REQUEST);
    int rc = encode_request(node, GENRPC__K_CALL, module, fn, request, opts,
                            lend                    ? BORROW_UNTIL_RELEASED
                            : genrpc__on_loop(&node->loop) ? BORROW_WHILE_SENDING
                                                    : BORROW_NOTHING,
                            &o, &st);
    if (rc != GENRPC_OK)
        return rc;
    genrpc__pending *p = calloc(1, sizeof *p);
    if (!p || (rc = genrpc__client_get(node, target, &p->conn, &st)) != GENRPC_OK) {
        genrpc__out_free(o);
        free(p);
        return p ? rc : GENRPC_E_NOMEM;
    }
    bool lent = lend && o->segs; /* something was borrowed: the callback waits for the frame */
    atomic_init(&p->holds, lent ? 2 : 1);
    if (lent) {
        p->lent_out = o;
        o->release = lent_request_released;
        o->owner = p;
    }
    p->mode = GENRPC__CALLBACK;
    p->fn = fn;
    p->node = node;
    p->thunk = thunk;
    p->user_cb = user_cb;
    p->arg = arg;
    p->start_out = o;
    p->timeout_ms = genrpc__call_timeout_ms(node, opts);
    if (genrpc__on_loop(&node->loop)) {
        cb_start_on_loop(node, p, false); /* p->cmd is set up if it is needed */
    } else {
        genrpc__cmd_init(&p->cmd, cb_start_cmd);
        genrpc__loop_post(&node->loop, &p->cmd); /* p is the command's until it runs */
    }
    return GENRPC_OK;
}

int
genrpc_call_async_cb(genrpc_node *node, genrpc_target target, const genrpc_module_desc *module,
                     const genrpc_function_desc *fn, const ProtobufCMessage *request,
                     const genrpc_call_opts *opts, genrpc_reply_cb cb, void *arg)
{
    return genrpc_call_async_typed(node, target, module, fn, request, opts, NULL,
                                   (genrpc_generic_fn)cb, arg);
}
