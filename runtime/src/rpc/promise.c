/*
 * promise.c - async calls with a promise (genrpc_call_async, yield,
 * nb_yield), the runtime's own claimed promises (fan-outs), and the expiry
 * of results nobody claims (async_call_inactivity_timeout).
 */
#include <errno.h>
#include <stdlib.h>

#include "rpc/node.h"
#include "rpc/call.h"
#include "rpc/pending.h"

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

/* The call of promise pr has its outcome (any thread that removed it from
 * its table; the loop usually). */
void
genrpc__promise_complete(genrpc_promise *pr)
{
    genrpc__icpt_finish(&pr->p.icpt, &pr->p.status);
    pthread_mutex_lock(&pr->mu);
    pr->done = true;
    pthread_cond_broadcast(&pr->cond);
    pthread_mutex_unlock(&pr->mu);
    expiry_start(pr);
    promise_unref(pr);
}

/* ---- async call with a promise ------------------------------------------- */

static void
promise_unref(genrpc_promise *pr)
{
    if (atomic_fetch_sub(&pr->refs, 1) != 1)
        return;
    genrpc__icpt_finish(&pr->p.icpt, &pr->p.status); /* withdrawn, never completed */
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
    int64_t timeout_ms = node ? genrpc__call_timeout_ms(node, opts) : 0;
    genrpc__icpt_call *ic;
    genrpc_call_opts icopts;
    int rc = genrpc__call_start(node, target, module, fn, false, timeout_ms, &opts, &icopts, &ic,
                                st);
    if (rc != GENRPC_OK)
        return rc;
    rc = genrpc__encode_request(node, GENRPC__K_CALL, module, fn, request, opts, timeout_ms,
                                GENRPC__BORROW_WHILE_SENDING, &o, st);
    if (rc != GENRPC_OK) {
        genrpc__icpt_end(ic, st ? st : &(genrpc_status){.err = rc});
        return rc;
    }
    genrpc__call_extra x = {opts ? opts->trailers : NULL, ic};
    return genrpc__call_async_frame(node, target, fn, o, timeout_ms, opts ? opts->cancel : NULL,
                                    claimed, &x, out, st);
}

int
genrpc__call_async_frame(genrpc_node *node, genrpc_target target, const genrpc_function_desc *fn,
                         genrpc__out *o, int64_t timeout_ms, genrpc_cancel_token *cancel,
                         bool claimed, const genrpc__call_extra *x, genrpc_promise **out,
                         genrpc_status *st)
{
    int rc;
    *out = NULL;
    genrpc_call_opts opts = {.timeout_ms = timeout_ms, .cancel = cancel};
    genrpc_promise *pr = malloc(sizeof *pr); /* not calloc: see server.c job_new */
    if (pr)
        *pr = (genrpc_promise){0};
    if (!pr) {
        genrpc__out_free(o);
        genrpc__fail(st, GENRPC_E_NOMEM, "no memory for a promise");
        genrpc__icpt_end(x ? x->icpt : NULL, st ? st : &(genrpc_status){.err = GENRPC_E_NOMEM});
        return GENRPC_E_NOMEM;
    }
    if (x) {
        pr->p.trailers = x->trailers;
        pr->p.icpt = x->icpt;
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
    if ((rc = genrpc__register_call(node, target, &pr->p, o, &conn, &pr->p.status)) == GENRPC_OK &&
        (rc = genrpc__register_cancel(&pr->p, &opts, &pr->p.status)) != GENRPC_OK)
        genrpc__conn_unref(conn);
    if (rc != GENRPC_OK) {
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
    genrpc__conn_send(conn, genrpc__maybe_compress(conn, o),
                      genrpc__on_loop(&node->loop) ? GENRPC__FLUSH_DEFER : GENRPC__FLUSH_NOW);
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
        genrpc__icpt_finish(&pr->p.icpt, &pr->p.status);
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
    return genrpc__call_finish(&pr->p, reply, st);
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

int
genrpc_promise_cancel(genrpc_promise *pr)
{
    if (!pr)
        return GENRPC_E_INVAL;
    if (!pr->conn || !genrpc__pending_remove(pr->conn, &pr->p))
        return GENRPC_E_NOT_FOUND; /* it has its outcome, or is getting it now */
    genrpc__pending_cancelled(&pr->p);
    return GENRPC_OK;
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

