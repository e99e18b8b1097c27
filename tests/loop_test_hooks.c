/*
 * loop_test_hooks.c - white-box hooks for loop_test.cc (C: the runtime's
 * private structures use C11 atomics).
 */
#include <stdbool.h>

#include "rpc/client.h"
#include "loop_test_hooks.h"

int
genrpc_test_set_pending_closed(genrpc_node *node, genrpc_target target, bool closed)
{
    genrpc__conn *c = NULL;
    genrpc_status st;
    int rc = genrpc__client_get(node, target, &c, &st);
    if (rc != GENRPC_OK)
        return rc;
    genrpc__client *cl = genrpc__client_of(c);
    pthread_mutex_lock(&cl->pend_mu);
    cl->pend_closed = closed;
    pthread_mutex_unlock(&cl->pend_mu);
    genrpc__conn_unref(c);
    return GENRPC_OK;
}
