/*
 * port.h - what the qemu MPS2 port gives the embedded genrpc client: the
 * transport ops over UART 0 (transport.c) and a random-bytes hook
 * (random.c). HMAC is the client's default (src/hmac_mbedtls.c).
 */
#ifndef GENRPC_QEMU_MPS2_PORT_H
#define GENRPC_QEMU_MPS2_PORT_H

#include <stddef.h>
#include <stdint.h>

#include "genrpc/embedded.h"

/* Fills `t` with the UART 0 transport (board must be initialised: clock_init,
 * uart_init). open is a no-op: qemu made the TCP connection when it started.
 * close cannot end that connection either; it drops a byte left in the UART.
 * A reconnect on the same stream then fails (the node closes a connection
 * that sends a second HELLO), so the device program never closes. */
void device_transport(genrpc_emb_transport *t);

/* genrpc_emb_random_fn: NOT cryptographically secure. qemu's MPS2 has no
 * TRNG, so this is a fixed-seed PRNG (splitmix64): every run sends the same
 * nonces. A real device passes its TRNG here. */
int device_random(void *ctx, uint8_t *buf, size_t len);

#endif
