/*
 * cancel.c - cancellation tokens (genrpc_cancel_token, genrpc_cancel) and
 * the CANCEL frame a cancelled call sends its callee.
 *
 * A token keeps the calls started with it in a list under its mutex, each
 * holding a reference to it. Exactly one party completes a call: the one
 * that takes it out of its connection's pending table. genrpc_cancel
 * withdraws each call under the token's lock (token->mu, then the
 * table's pend_mu); a call that something else took first (its reply, its
 * connection closing, its timeout) leaves the token on its own, after
 * pend_mu is released (pending.c calls genrpc__cancel_detach), so the two
 * locks are never taken the other way round.
 */
#include <stdlib.h>

#include "rpc/node.h"
#include "rpc/call.h"
#include "rpc/pending.h"

#define PENDING_OF(l) GENRPC__CONTAINER_OF(l, genrpc__pending, cancel_link)

struct genrpc_cancel_token {
    pthread_mutex_t mu;
    atomic_int refs;  /* the caller's + one per call that holds it */
    atomic_bool fired;
    genrpc__list calls; /* genrpc__pending.cancel_link (mu) */
};

static void
token_unref(genrpc_cancel_token *t)
{
    if (atomic_fetch_sub(&t->refs, 1) != 1)
        return;
    pthread_mutex_destroy(&t->mu);
    free(t);
}

int
genrpc_cancel_token_new(genrpc_cancel_token **out)
{
    if (!out)
        return GENRPC_E_INVAL;
    genrpc_cancel_token *t = malloc(sizeof *t);
    *out = t;
    if (!t)
        return GENRPC_E_NOMEM;
    pthread_mutex_init(&t->mu, NULL);
    atomic_init(&t->refs, 1);
    atomic_init(&t->fired, false);
    genrpc__list_init(&t->calls);
    return GENRPC_OK;
}

genrpc_cancel_token *
genrpc__cancel_token_ref(genrpc_cancel_token *t)
{
    atomic_fetch_add(&t->refs, 1);
    return t;
}

bool
genrpc_cancel_token_fired(const genrpc_cancel_token *t)
{
    return t && atomic_load(&t->fired);
}

void
genrpc_cancel_token_free(genrpc_cancel_token *t)
{
    if (t)
        token_unref(t);
}

bool
genrpc__cancel_attach(genrpc__pending *p, genrpc_cancel_token *t)
{
    if (!t)
        return true;
    genrpc__list_init(&p->cancel_link);
    pthread_mutex_lock(&t->mu);
    bool fired = atomic_load(&t->fired);
    if (!fired) {
        atomic_fetch_add(&t->refs, 1);
        p->cancel = t;
        genrpc__list_push_back(&t->calls, &p->cancel_link);
    }
    pthread_mutex_unlock(&t->mu);
    return !fired;
}

void
genrpc__cancel_detach_slow(genrpc__pending *p)
{
    genrpc_cancel_token *t = p->cancel;
    pthread_mutex_lock(&t->mu);
    genrpc__list_remove(&p->cancel_link);
    pthread_mutex_unlock(&t->mu);
    p->cancel = NULL;
    token_unref(t);
}

void
genrpc_cancel(genrpc_cancel_token *t)
{
    if (!t)
        return;
    genrpc__list taken;
    genrpc__list_init(&taken);
    pthread_mutex_lock(&t->mu);
    atomic_store(&t->fired, true);
    GENRPC__LIST_FOREACH_SAFE(l, &t->calls) {
        genrpc__pending *p = PENDING_OF(l);
        if (!genrpc__pending_withdraw(p->conn, p))
            continue; /* being completed: it leaves the list itself */
        genrpc__list_remove(l);
        genrpc__list_push_back(&taken, l);
    }
    pthread_mutex_unlock(&t->mu);
    for (genrpc__list *l; (l = genrpc__list_pop_front(&taken));) {
        genrpc__pending *p = PENDING_OF(l);
        p->cancel = NULL;
        genrpc__pending_cancelled(p);
        token_unref(t); /* p's */
    }
}

void
genrpc__send_cancel(genrpc__conn *c, uint64_t req_id)
{
    if (c->proto < 2 || atomic_load(&c->state) != GENRPC__READY)
        return;
    genrpc__out *o = genrpc__out_new(GENRPC__CANCEL_FRAME_SIZE);
    if (!o)
        return; /* the callee runs it; its answer is dropped */
    genrpc__encode_cancel(o->data, GENRPC__CANCEL_FRAME_SIZE, req_id);
    genrpc__conn_send(c, o, genrpc__on_loop(c->net->loop) ? GENRPC__FLUSH_DEFER : GENRPC__FLUSH_NOW);
}

static void
callback_cancelled_cmd(genrpc__cmd *cmd)
{
    genrpc__callback_complete(GENRPC__CONTAINER_OF(cmd, genrpc__pending, cmd));
}

void
genrpc__pending_cancelled(genrpc__pending *p)
{
    genrpc__send_cancel(p->conn, p->req_id);
    genrpc__fail(&p->status, GENRPC_E_CANCELLED, "call to %s cancelled by the caller",
                 p->conn->peer);
    if (p->mode != GENRPC__CALLBACK) {
        genrpc__pending_complete(p); /* p may be gone after this */
        return;
    }
    /* A callback runs on the loop, and never inside genrpc_cancel: even
     * called on the loop, it runs from a command afterwards. p->cmd is
     * idle: the start ran (p was in the table), nothing else posts it
     * before the callback. */
    genrpc__cmd_init(&p->cmd, callback_cancelled_cmd);
    genrpc__loop_post(&p->node->loop, &p->cmd);
}
