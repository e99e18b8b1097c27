/*
 * idle.c - client/server inactivity timeouts.
 *
 * libev's "be smart about timeouts": a frame in or out only stores a
 * coarse timestamp in its conn (genrpc__conn_active, a relaxed store); one
 * non-repeating ev_timer per conn wakes when the timeout would expire, and
 * re-arms itself for the time left when something happened meanwhile. The
 * hot path never touches the timer. A conn with work in flight (a client
 * with calls waiting for replies, an acceptor with requests queued or
 * running, or unsent output) is not idle.
 */
#include "net/conn.h"

static void idle_cb(struct ev_loop *loop, ev_timer *w, int revents);

void
genrpc__idle_init(genrpc__conn *c)
{
    int64_t ms = c->kind == GENRPC__CLIENT ? c->net->cfg->client_inactivity_timeout_ms
                                           : c->net->cfg->server_inactivity_timeout_ms;
    c->idle_ms = ms > 0 ? ms : 0; /* GENRPC_INFINITY (or 0): none */
    ev_init(&c->idle_timer, idle_cb);
    c->idle_timer.data = c;
}

static void
idle_arm(genrpc__conn *c, int64_t ms)
{
    /* +1 ms: the coarse clock may lag the loop's by up to its resolution */
    ev_timer_set(&c->idle_timer, (double)(ms + 1) / 1000.0, 0.);
    ev_timer_start(c->net->loop->ev, &c->idle_timer);
}

void
genrpc__idle_start(genrpc__conn *c)
{
    GENRPC__ASSERT_ON_LOOP(c->net->loop);
    if (!c->idle_ms || atomic_load(&c->state) == GENRPC__CLOSED)
        return;
    atomic_store_explicit(&c->last_active_ms, genrpc__coarse_ms(), memory_order_relaxed);
    idle_arm(c, c->idle_ms);
}

/* Loop only. True when c has work in flight: unsent output, or what its
 * role says (calls waiting for replies, requests queued or running). */
static bool
busy(genrpc__conn *c)
{
    GENRPC__ASSERT_ON_LOOP(c->net->loop);
    pthread_mutex_lock(&c->out_mu);
    bool out = !genrpc__list_empty(&c->out_q) || !genrpc__list_empty(&c->held_q);
    pthread_mutex_unlock(&c->out_mu);
    return out || c->role->busy(c);
}

static void
idle_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    genrpc__conn *c = w->data;
    if (atomic_load(&c->state) != GENRPC__READY)
        return;
    int64_t last = atomic_load_explicit(&c->last_active_ms, memory_order_relaxed);
    int64_t left = last + c->idle_ms - genrpc__coarse_ms();
    if (left > 0) {
        idle_arm(c, left);
        return;
    }
    if (busy(c)) {
        genrpc__conn_active(c);
        idle_arm(c, c->idle_ms);
        return;
    }
    if (c->role->closing_idle)
        c->role->closing_idle(c);
    genrpc__conn_close(c, GENRPC_E_CLOSED, "idle for %lld ms (%s_inactivity_timeout)",
                       (long long)c->idle_ms, c->kind == GENRPC__CLIENT ? "client" : "server");
}

