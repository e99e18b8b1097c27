/*
 * loop.c - the event loop: commands posted by other threads, and the
 * deferred work (connections' batched output) run before each poll. Who
 * runs the loop is runner.c's business.
 */
#include "loop/loop.h"

/* Which loop (if any) the current thread runs: blocking calls from a loop
 * callback would deadlock, so call.c refuses them. */
static __thread const genrpc__loop *tl_loop;

bool
genrpc__on_loop(const genrpc__loop *loop)
{
    return tl_loop == loop;
}

void
genrpc__set_on_loop(genrpc__loop *loop)
{
    tl_loop = loop;
}

/* cmd_mu held. */
static bool
push(genrpc__loop *loop, genrpc__list *q, genrpc__cmd *cmd)
{
    GENRPC__ASSERT_HELD(&loop->cmd_mu);
    if (cmd->queued) /* only written under cmd_mu */
        return false;
    __atomic_store_n(&cmd->queued, true, __ATOMIC_RELAXED);
    genrpc__list_push_back(q, &cmd->link);
    return true;
}

/* cmd_mu held: pops q's first command. */
static genrpc__cmd *
pop(genrpc__list *q)
{
    genrpc__list *l = genrpc__list_pop_front(q);
    if (!l)
        return NULL;
    genrpc__cmd *cmd = GENRPC__CONTAINER_OF(l, genrpc__cmd, link);
    __atomic_store_n(&cmd->queued, false, __ATOMIC_RELAXED);
    return cmd;
}

bool
genrpc__loop_post(genrpc__loop *loop, genrpc__cmd *cmd)
{
    pthread_mutex_lock(&loop->cmd_mu);
    bool queued = push(loop, &loop->cmds, cmd);
    pthread_mutex_unlock(&loop->cmd_mu);
    if (queued)
        ev_async_send(loop->ev, &loop->wake);
    return queued;
}

bool
genrpc__loop_defer(genrpc__loop *loop, genrpc__cmd *cmd)
{
    /* Read before the run that follows the pop clearing it: if the loop's
     * pop (under cmd_mu, before run takes its lock) had happened before
     * what the caller published under that lock, this load would see false. */
    if (genrpc__cmd_queued(cmd))
        return false;
    pthread_mutex_lock(&loop->cmd_mu);
    bool queued = push(loop, &loop->deferred, cmd);
    pthread_mutex_unlock(&loop->cmd_mu);
    return queued;
}

void
genrpc__loop_wake(genrpc__loop *loop)
{
    ev_async_send(loop->ev, &loop->wake);
}

/* Runs posted commands, then deferred work (commands first, whenever they
 * were posted), until both queues are empty. One command at a time under
 * the lock: once `queued` is cleared another thread may queue it again,
 * which rewrites its `next`. */
static void
drain(genrpc__loop *loop)
{
    for (;;) {
        pthread_mutex_lock(&loop->cmd_mu);
        genrpc__cmd *cmd = pop(&loop->cmds);
        if (!cmd)
            cmd = pop(&loop->deferred);
        pthread_mutex_unlock(&loop->cmd_mu);
        if (!cmd)
            return;
        cmd->run(cmd);
    }
}

static void
wake_cb(struct ev_loop *ev, ev_async *w, int revents)
{
    (void)ev;
    (void)revents;
    drain(w->data);
}

static void
before_poll_cb(struct ev_loop *ev, ev_prepare *w, int revents)
{
    (void)ev;
    (void)revents;
    drain(w->data);
}

int
genrpc__loop_init(genrpc__loop *loop, int64_t busy_poll_ns, genrpc_status *st)
{
    pthread_mutex_init(&loop->cmd_mu, NULL);
    genrpc__list_init(&loop->cmds);
    genrpc__list_init(&loop->deferred);
    loop->reads_done = 0;
    loop->busy_poll_ns = busy_poll_ns;
    loop->ev = ev_loop_new(EVFLAG_AUTO | EVFLAG_NOSIGMASK);
    if (!loop->ev) {
        pthread_mutex_destroy(&loop->cmd_mu);
        return genrpc__fail(st, GENRPC_E_SYSTEM, "cannot create the event loop");
    }
    ev_async_init(&loop->wake, wake_cb);
    loop->wake.data = loop;
    ev_async_start(loop->ev, &loop->wake);
    ev_prepare_init(&loop->before_poll, before_poll_cb);
    loop->before_poll.data = loop;
    ev_prepare_start(loop->ev, &loop->before_poll);
    return genrpc__ok(st);
}

void
genrpc__loop_destroy(genrpc__loop *loop)
{
    if (!loop->ev)
        return;
    /* The calling thread is the loop's last runner: what runs now is
     * "on the loop" as far as its commands can tell. */
    const genrpc__loop *was = tl_loop;
    tl_loop = loop;
    drain(loop);
    tl_loop = was;
    ev_loop_destroy(loop->ev);
    loop->ev = NULL;
    pthread_mutex_destroy(&loop->cmd_mu);
}
