/*
 * transport.h - how a connection's bytes reach the socket: plain TCP
 * (tcp.c) or TLS (tls.c), behind one small table of functions (nng's
 * tls_engine, Redis's connection.h). conn.c frames, queues and closes;
 * the transport only moves bytes and runs its own handshake (TLS) between
 * the TCP connect and the genrpc handshake (HELLO ...). Framing is the same
 * on every transport.
 */
#ifndef GENRPC_TRANSPORT_H
#define GENRPC_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "genrpc/genrpc.h"

typedef struct genrpc__conn genrpc__conn;
typedef struct genrpc_node genrpc_node;

/* What read/writev return besides a byte count (> 0; read: 0 = the peer
 * closed). The transport retries EINTR itself. */
enum {
    GENRPC__IO_WANT_READ = -1,  /* try again when the socket is readable */
    GENRPC__IO_WANT_WRITE = -2, /* try again when the socket is writable */
    GENRPC__IO_ERROR = -3,      /* system error: errno says which */
    GENRPC__IO_CLOSED = -4,     /* the transport closed the conn itself (loop), saying why */
};

typedef struct genrpc__transport {
    const char *name; /* "tcp", "tls" */
    /* True: read, writev and the handshake must run on the loop (an SSL
     * object is not thread-safe); genrpc__conn_flush called elsewhere
     * hands the write to the loop. False (TCP): any thread may write while
     * the loop reads. */
    bool loop_only;
    /* Loop: TCP is up. Starts the transport's own handshake and returns
     * false while it runs (conn state GENRPC__TLS_HANDSHAKE; it calls
     * genrpc__conn_transport_ready when done, or closes c), or true if c
     * carries frames already. NULL: nothing to do. */
    bool (*start)(genrpc__conn *c);
    /* Loop: the socket became readable/writable during that handshake. */
    void (*handshake)(genrpc__conn *c);
    ssize_t (*read)(genrpc__conn *c, void *buf, size_t len);
    /* Writes from iov in order; may write fewer bytes than asked. */
    ssize_t (*writev)(genrpc__conn *c, const struct iovec *iov, int iovcnt);
    /* Acceptor, on HELLO: does what the transport authenticated (the
     * peer's certificate) allow the peer to be `name`? NULL: no opinion.
     * On false, why[] says what is wrong. */
    bool (*peer_is)(genrpc__conn *c, const char *name, char *why, size_t why_len);
    /* Last reference gone: free transport state (any thread). NULL: none. */
    void (*destroy)(genrpc__conn *c);
} genrpc__transport;

extern const genrpc__transport genrpc__tcp_transport;
extern const genrpc__transport genrpc__tls_transport;


/* Loop: the transport's handshake is done (tls.c), the genrpc handshake
 * starts (conn.c). */
void genrpc__conn_transport_ready(genrpc__conn *c);

#endif /* GENRPC_TRANSPORT_H */
