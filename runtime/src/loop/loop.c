/*
 * loop.c - the node's event loop: commands posted by other threads, and
 * the deferred-flush list written out before each poll. Who runs the loop
 * is runner.c's business.
 */
#include <stdlib.h>
#include <unistd.h>

#include "internal.h"
/* Which node's loop (if any) the current thread runs: blocking calls from
 * a loop callback would deadlock, so call.c refuses them. */
static __thread const genrpc_node *tls_loop_node;

bool
genrpc__on_loop(const genrpc_node *node)
{
    return tls_loop_node == node;
}

void
genrpc__set_on_loop(const genrpc_node *node)
{
    tls_loop_node = node;
}

int
genrpc__loop_post(genrpc_node *node, void (*fn)(genrpc_node *, void *), void *arg)
{
    genrpc__cmd *cmd = malloc(sizeof *cmd);
    if (!cmd)
        return GENRPC_E_NOMEM;
    cmd->next = NULL;
    cmd->fn = fn;
    cmd->arg = arg;
    pthread_mutex_lock(&node->cmd_mu);
    if (node->cmds_tail)
        node->cmds_tail->next = cmd;
    else
        node->cmds_head = cmd;
    node->cmds_tail = cmd;
    pthread_mutex_unlock(&node->cmd_mu);
    ev_async_send(node->loop, &node->wake);
    return GENRPC_OK;
}

void
genrpc__loop_defer_flush(genrpc__conn *c)
{
    genrpc_node *node = c->node;
    bool wake;
    pthread_mutex_lock(&node->cmd_mu);
    /* c->flush_queued is guarded by cmd_mu, like the list itself. */
    wake = !c->flush_queued;
    if (wake) {
        c->flush_queued = true;
        genrpc__conn_ref(c);
        c->flush_next = NULL;
        if (node->flush_tail)
            node->flush_tail->flush_next = c;
        else
            node->flush_list = c;
        node->flush_tail = c;
    }
    pthread_mutex_unlock(&node->cmd_mu);
    /* The prepare watcher flushes before the next poll: nobody to wake if
     * this thread is the one that polls next. */
    if (wake && !genrpc__polls_next(node))
        ev_async_send(node->loop, &node->wake);
}

/* Pops one connection off the deferred-flush list. Popping one at a time
 * under the lock matters: once flush_queued is cleared, another thread may
 * queue the connection again, which rewrites its flush_next. */
static genrpc__conn *
pop_flush(genrpc_node *node)
{
    pthread_mutex_lock(&node->cmd_mu);
    genrpc__conn *c = node->flush_list;
    if (c) {
        node->flush_list = c->flush_next;
        if (!node->flush_list)
            node->flush_tail = NULL;
        c->flush_next = NULL;
        c->flush_queued = false;
    }
    pthread_mutex_unlock(&node->cmd_mu);
    return c;
}

/* Runs queued commands and flushes deferred output. */
static void
drain(genrpc_node *node)
{
    for (;;) {
        pthread_mutex_lock(&node->cmd_mu);
        genrpc__cmd *cmds = node->cmds_head;
        node->cmds_head = node->cmds_tail = NULL;
        bool flush = node->flush_list != NULL;
        pthread_mutex_unlock(&node->cmd_mu);
        if (!cmds && !flush)
            return;
        while (cmds) {
            genrpc__cmd *next = cmds->next;
            cmds->fn(node, cmds->arg);
            free(cmds);
            cmds = next;
        }
        for (genrpc__conn *c; (c = pop_flush(node));) {
            genrpc__conn_flush(c);
            genrpc__conn_unref(c);
        }
    }
}

static void
wake_cb(struct ev_loop *loop, ev_async *w, int revents)
{
    (void)loop;
    (void)revents;
    drain(w->data);
}

static void
before_poll_cb(struct ev_loop *loop, ev_prepare *w, int revents)
{
    (void)loop;
    (void)revents;
    drain(w->data);
}

/* ---- thread -------------------------------------------------------------- */

static void *
loop_main(void *arg)
{
    genrpc__loop_thread_main(arg);
    return NULL;
}

int
genrpc__loop_start(genrpc_node *node, genrpc_status *st)
{
    node->loop = ev_loop_new(EVFLAG_AUTO | EVFLAG_NOSIGMASK);
    if (!node->loop)
        return genrpc__fail(st, GENRPC_E_SYSTEM, "cannot create the event loop");
    ev_async_init(&node->wake, wake_cb);
    node->wake.data = node;
    ev_async_start(node->loop, &node->wake);
    ev_prepare_init(&node->before_poll, before_poll_cb);
    node->before_poll.data = node;
    ev_prepare_start(node->loop, &node->before_poll);
    return genrpc__ok(st);
}

int
genrpc__loop_run(genrpc_node *node, genrpc_status *st)
{
    if (pthread_create(&node->loop_thread, NULL, loop_main, node) != 0)
        return genrpc__fail(st, GENRPC_E_SYSTEM, "cannot start the loop thread");
    return genrpc__ok(st);
}

/* On the loop: close everything, then let ev_run return. */
static void
shutdown_cmd(genrpc_node *node, void *arg)
{
    (void)arg;
    if (node->listen_fd >= 0) {
        ev_io_stop(node->loop, &node->listen_w);
        close(node->listen_fd);
        node->listen_fd = -1;
    }
    if (node->tls_listen_fd >= 0) {
        ev_io_stop(node->loop, &node->tls_listen_w);
        close(node->tls_listen_fd);
        node->tls_listen_fd = -1;
    }
    for (;;) {
        pthread_mutex_lock(&node->conns_mu);
        genrpc__list *l = genrpc__list_first(&node->clients);
        if (!l)
            l = genrpc__list_first(&node->acceptors);
        genrpc__conn *c = l ? GENRPC__CONTAINER_OF(l, genrpc__conn, list_link) : NULL;
        if (c)
            genrpc__conn_ref(c);
        pthread_mutex_unlock(&node->conns_mu);
        if (!c)
            break;
        genrpc__conn_close(c, GENRPC_E_STOPPED, "node %s stopped", node->name);
        genrpc__conn_unref(c);
    }
    genrpc__promises_stop(node);
    genrpc__loop_done(node);
}

/* Closes everything on the loop and joins its thread. The loop itself
 * stays allocated so that workers still finishing handlers can post to it;
 * genrpc__loop_destroy runs what they posted and frees it. */
void
genrpc__loop_stop(genrpc_node *node)
{
    while (genrpc__loop_post(node, shutdown_cmd, NULL) != GENRPC_OK)
        usleep(1000); /* out of memory: try again, stopping must happen */
    pthread_join(node->loop_thread, NULL);
}

/* After the workers are gone: run what was posted since the loop ended
 * (every connection is closed, so each command only releases what it
 * holds) and free the loop. */
void
genrpc__loop_destroy(genrpc_node *node)
{
    drain(node);
    ev_loop_destroy(node->loop);
    node->loop = NULL;
}
