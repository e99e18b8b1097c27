/*
 * handshake.h - from TCP up to READY (net layer, used by conn.c, dialer.c
 * and the transports): HELLO / CHALLENGE / AUTH / AUTH_OK.
 */
#ifndef GENRPC_NET_HANDSHAKE_H
#define GENRPC_NET_HANDSHAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/conn.h"

/* Loop only. */
void genrpc__handshake_start_client(genrpc__conn *c);
void genrpc__handshake_start_acceptor(genrpc__conn *c);
/* A frame before READY. False: c's state expects no frame (a protocol
 * error the caller reports). */
bool genrpc__handshake_frame(genrpc__conn *c, const uint8_t *body, size_t len);
/* (Re)arms c's connect/authentication timer; a negative ms: none. */
void genrpc__conn_timer_start(genrpc__conn *c, int64_t ms);

#endif /* GENRPC_NET_HANDSHAKE_H */
