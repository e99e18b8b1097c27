/*
 * callback.c - async calls with a callback (genrpc_call_async_cb/_typed):
 * started and completed on the loop, the callback always run from the loop
 * after the starting call returned, with the reply decoded in place into an
 * arena; a request lent with GENRPC_CALL_LEND_REQUEST stays the caller's
 * until the callback.
 */
#include <stdlib.h>

#include "base/arena.h"
#include "wire/decode.h"
#include "rpc/node.h"
#include "rpc/call.h"
#include "rpc/client.h"
#include "rpc/pending.h"

/* ---- async call with a callback ------------------------------------------ */


static void
cb_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    genrpc__pending *p = w->data;
    if (genrpc__pending_remove(p->conn, p)) {
        genrpc__fail(&p->status, GENRPC_E_TIMEOUT, "no reply from %s in time", p->conn->peer);
        genrpc__callback_complete(p);
    }
}

static void callback_run(genrpc__pending *p);

/* The call has its outcome (loop). A lent request still queued (the call
 * timed out or failed before it was written) copies what it has left to
 * write, so the callback runs now; only without memory for that copy does
 * the callback wait for the frame to be written or dropped. */
void
genrpc__callback_complete(genrpc__pending *p)
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
    genrpc__icpt_finish(&p->icpt, &st);
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
    genrpc__callback_complete(GENRPC__CONTAINER_OF(cmd, genrpc__pending, cmd));
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
    if (rc == GENRPC_OK && p->start_cancel && !genrpc__cancel_attach(p, p->start_cancel)) {
        genrpc__pending_withdraw(p->conn, p);
        rc = GENRPC_E_CANCELLED;
    }
    if (p->start_cancel) {
        genrpc_cancel_token_free(p->start_cancel); /* the start's reference */
        p->start_cancel = NULL;
    }
    if (rc != GENRPC_OK) {
        genrpc__conn *c = p->conn;
        genrpc__out_free(out);
        if (rc == GENRPC_E_CANCELLED)
            genrpc__fail(&p->status, rc, "call to %s cancelled before it was sent", c->peer);
        else if (rc == GENRPC_E_CLOSED && c->close_err)
            genrpc__fail(&p->status, c->close_err, "%s: %s", c->peer, c->close_msg);
        else
            genrpc__fail(&p->status, rc, "connection to %s is gone", c->peer);
        if (deferred) {
            genrpc__callback_complete(p);
        } else {
            genrpc__cmd_init(&p->cmd, cb_failed_cmd); /* not queued: its run is this one */
            genrpc__loop_post(&node->loop, &p->cmd);
        }
        return;
    }
    genrpc__put_u64(out->data + GENRPC__REQ_ID_OFFSET, p->req_id);
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
    genrpc__conn_send(c, p->lent_out ? out : genrpc__maybe_compress(c, out), GENRPC__FLUSH_DEFER);
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
    int64_t timeout_ms = node ? genrpc__call_timeout_ms(node, opts) : 0;
    genrpc__icpt_call *ic;
    genrpc_call_opts icopts;
    int rc = genrpc__call_start(node, target, module, fn, false, timeout_ms, &opts, &icopts, &ic,
                                &st);
    if (rc != GENRPC_OK)
        return rc;
    rc = genrpc__encode_request(node, GENRPC__K_CALL, module, fn, request, opts, timeout_ms,
                            lend                    ? GENRPC__BORROW_UNTIL_RELEASED
                            : genrpc__on_loop(&node->loop) ? GENRPC__BORROW_WHILE_SENDING
                                                    : GENRPC__BORROW_NOTHING,
                            &o, &st);
    if (rc != GENRPC_OK) {
        genrpc__icpt_end(ic, &st);
        return rc;
    }
    genrpc__pending *p = malloc(sizeof *p); /* not calloc: see server.c job_new */
    if (p)
        *p = (genrpc__pending){0};
    if (!p || (rc = genrpc__client_get(node, target, &p->conn, &st)) != GENRPC_OK) {
        genrpc__out_free(o);
        if (!p)
            genrpc__fail(&st, GENRPC_E_NOMEM, "no memory for a call");
        genrpc__icpt_end(ic, &st);
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
    p->trailers = opts ? opts->trailers : NULL;
    p->icpt = ic;
    p->fn = fn;
    p->node = node;
    p->thunk = thunk;
    p->user_cb = user_cb;
    p->arg = arg;
    p->start_out = o;
    p->timeout_ms = timeout_ms;
    p->start_cancel = opts && opts->cancel ? genrpc__cancel_token_ref(opts->cancel) : NULL;
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
