/*
 * dialer.h - reaching a remote node (net layer): where it is, and the
 * asynchronous connect on the loop.
 */
#ifndef GENRPC_NET_DIALER_H
#define GENRPC_NET_DIALER_H

#include <sys/socket.h>

#include "net/conn.h"

/* Where a node name leads: filled by genrpc__dial_resolve. */
typedef struct genrpc__dial_addr {
    struct sockaddr_storage ss;
    socklen_t len;
    genrpc_driver driver;
} genrpc__dial_addr;

/* name@host -> address and transport (the installed resolver, else the
 * discovery callback, the per-node map, the defaults). A host name blocks this thread in the resolver. */
int genrpc__dial_resolve(genrpc__net *net, const char *name, genrpc__dial_addr *to,
                         genrpc_status *st);
/* Installs r (a copy is kept) as the resolver every later resolution asks
 * first (false: one is installed already); NULL removes it, once no
 * resolution is using it. */
bool genrpc__dial_set_resolver(genrpc__net *net, const genrpc__resolver *r);
/* Gives the client connection c its address and transport and has the loop
 * connect it (a posted command: cannot fail); c's state says how it goes,
 * its close reason why it failed. Takes a reference to c for the loop. */
void genrpc__dial_start(genrpc__conn *c, const genrpc__dial_addr *to);
/* Loop: the socket became writable while CONNECTING (conn.c). */
void genrpc__dial_connected(genrpc__conn *c);

#endif /* GENRPC_NET_DIALER_H */
