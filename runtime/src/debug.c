/*
 * debug.c - test hooks: genrpc_node_debug_close_acceptors.
 */
#include <string.h>

#include "rpc/node.h"

typedef struct drop_arg {
    genrpc__cmd cmd; /* on the asking thread's stack: it waits until done */
    genrpc_node *node;
    const char *peer;
    int max;
    int closed;
    bool done;
    pthread_mutex_t mu;
    pthread_cond_t cond;
} drop_arg;

static int
drop_acceptors(genrpc_node *node, const char *peer, int max)
{
    return genrpc__conns_close_acceptors(&node->net, peer, max, GENRPC_E_CLOSED,
                                         "closed by genrpc_node_debug_close_acceptors");
}

static void
drop_cmd(genrpc__cmd *cmd)
{
    drop_arg *a = GENRPC__CONTAINER_OF(cmd, drop_arg, cmd);
    int n = drop_acceptors(a->node, a->peer, a->max);
    pthread_mutex_lock(&a->mu);
    a->closed = n;
    a->done = true;
    pthread_cond_signal(&a->cond);
    pthread_mutex_unlock(&a->mu);
}

int
genrpc_node_debug_close_acceptors(genrpc_node *node, const char *peer, int max)
{
    if (!node)
        return -GENRPC_E_INVAL;
    if (genrpc__on_loop(&node->loop))
        return drop_acceptors(node, peer, max);
    if (atomic_load(&node->net.stopping))
        return -GENRPC_E_STOPPED;
    drop_arg a = {.node = node, .peer = peer, .max = max};
    genrpc__cmd_init(&a.cmd, drop_cmd);
    pthread_mutex_init(&a.mu, NULL);
    pthread_cond_init(&a.cond, NULL);
    genrpc__loop_post(&node->loop, &a.cmd);
    genrpc__worker_blocking(); /* drop_cmd runs on the loop */
    pthread_mutex_lock(&a.mu);
    while (!a.done)
        pthread_cond_wait(&a.cond, &a.mu);
    pthread_mutex_unlock(&a.mu);
    pthread_mutex_destroy(&a.mu);
    pthread_cond_destroy(&a.cond);
    return a.closed;
}
