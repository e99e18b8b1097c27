/*
 * events.h - node-up/node-down events (rpc layer): counted per remote node
 * over its authenticated connections, delivered to genrpc_node_monitor's
 * subscribers.
 */
#ifndef GENRPC_RPC_EVENTS_H
#define GENRPC_RPC_EVENTS_H

#include "net/conn.h"

/* Loop only: an authenticated conn appeared / went away (the roles call
 * these from their ready/closed). */
void genrpc__events_conn_up(genrpc__conn *c);
void genrpc__events_conn_down(genrpc__conn *c);
/* Node teardown: frees the subscriptions. */
void genrpc__events_free(genrpc_node *node);

#endif /* GENRPC_RPC_EVENTS_H */
