/*
 * conn.h - one connection, client or acceptor (net layer): the part every
 * connection has. Reading and splitting frames, the write queue, closing,
 * the handshake (the role before READY) and the inactivity timer live in
 * net/; what a READY connection does with its frames is its role's
 * business, reached only through the role table below, which the upper
 * layer hands down when it creates the connection (rpc/client.c and
 * rpc/server.c: a role's own state is a struct that starts with a
 * genrpc__conn, allocated by genrpc__conn_new with the role's size).
 *
 * Threads: the read side, the timers and every state change run on the
 * loop; genrpc__conn_send and genrpc__conn_flush run on any thread
 * (out_mu). Ownership is by reference count: the loop holds one while the
 * fd is open, every queued job, command or pending call holds its own.
 */
#ifndef GENRPC_NET_CONN_H
#define GENRPC_NET_CONN_H

#include <ev.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "base/chunk.h"
#include "base/clock.h"
#include "base/list.h"
#include "base/stats.h"
#include "loop/loop.h"
#include "net/net.h"
#include "net/transport.h"
#include "wire/frame.h"
#include "wire/out.h"

typedef enum genrpc__conn_kind { GENRPC__CLIENT, GENRPC__ACCEPTOR } genrpc__conn_kind;

typedef enum genrpc__state {
    GENRPC__CONNECTING,     /* client: TCP connect in progress */
    GENRPC__TLS_HANDSHAKE,  /* both: the transport's own handshake (TLS) */
    GENRPC__WAIT_HELLO,     /* acceptor */
    GENRPC__WAIT_CHALLENGE, /* client */
    GENRPC__WAIT_AUTH,      /* acceptor */
    GENRPC__WAIT_AUTH_OK,   /* client */
    GENRPC__READY,
    GENRPC__CLOSED,
} genrpc__state;

/* What a READY connection is for: the upper layer's side of it. Every
 * entry runs on the loop except destroy. */
typedef struct genrpc__conn_role {
    /* c was just allocated (zeroed past the conn): set up the role's part.
     * Any thread. */
    void (*init)(genrpc__conn *c);
    /* A whole frame arrived on a READY connection; body is inside chunk
     * (take a reference to keep it). */
    void (*frame)(genrpc__conn *c, genrpc__chunk *chunk, const uint8_t *body, size_t len);
    /* The handshake finished: c is READY (node-up accounting). */
    void (*ready)(genrpc__conn *c);
    /* c closed with err (c->close_err, c->close_msg say why); was_ready: it
     * had been READY. Fails what is in flight on it. */
    void (*closed)(genrpc__conn *c, int err, bool was_ready);
    /* Has c work in flight, so that it is not idle? A client answering no
     * also stops taking calls (they go to a fresh connection). */
    bool (*busy)(genrpc__conn *c);
    /* c is idle and about to be closed for it (NULL: nothing to say first). */
    void (*closing_idle)(genrpc__conn *c);
    /* c, once READY, closed with these CALL/SBCAST frames (their request
     * ids) still unwritten, not a byte of them sent: called before closed
     * (NULL: nothing to do). */
    void (*unsent)(genrpc__conn *c, const uint64_t *req_ids, size_t n);
    /* The last reference went (any thread): free the role's own state. */
    void (*destroy)(genrpc__conn *c);
} genrpc__conn_role;

struct genrpc__conn {
    genrpc__net *net; /* the node's network layer */
    genrpc__conn_kind kind;
    const genrpc__conn_role *role;
    atomic_int refs;
    _Atomic genrpc__state state; /* written on the loop */
    int fd;
    const genrpc__transport *tp; /* set before the fd is (never changes after) */
    void *tp_state;              /* the transport's (tls.c: its SSL object) */
    bool read_on_writable;       /* loop: a read waits for the socket to be writable */
    ev_io rw, ww;
    ev_timer timer;      /* connect / authentication timeout */
    ev_timer send_timer; /* send_timeout while the socket is full */
    ev_timer idle_timer; /* client/server inactivity timeout (idle.c) */
    int64_t idle_ms;     /* that timeout, 0 = none; set by conn_new, never changes */
    _Atomic int64_t last_active_ms; /* coarse clock at the last frame in or out */

    /* identity */
    char peer[GENRPC__NAME_MAX + 1]; /* client: node dialled; acceptor: node after HELLO */
    struct sockaddr_storage addr;
    socklen_t addr_len;

    /* handshake (loop only) */
    uint8_t proto; /* the protocol version agreed (set before READY, then fixed) */
    bool zstd;     /* v2 setting 1: both sides take zstd payloads (set before READY) */
    uint8_t my_nonce[GENRPC__NONCE_LEN];
    uint8_t peer_nonce[GENRPC__NONCE_LEN];

    /* read side (loop only): unparsed bytes are rchunk->data[rstart, rend) */
    genrpc__chunk *rchunk;
    size_t rstart, rend;
    size_t chunk_size; /* size of the next read chunk: grows under bulk traffic */

    /* write side */
    pthread_mutex_t out_mu;
    genrpc__list out_q;  /* genrpc__out.link: ready to write */
    genrpc__list held_q; /* genrpc__out.link: app frames queued before READY */
    bool flushing;     /* a thread is flushing (claimed the queue) */
    bool in_writev;    /* ... and is inside writev, out_mu released */
    bool write_wait;   /* EAGAIN: the loop's write watcher is armed */
    bool flush_on_readable; /* ... or the transport's write waits for readable */
    size_t queued_bytes; /* queued and not yet written (out_mu): the cast bound */
    genrpc__cmd flush_cmd;     /* deferred flush, on the loop's deferred queue */
    genrpc__cmd arm_write_cmd; /* EAGAIN off the loop: the loop arms the write watcher */
    /* close_soon: the first reason wins (close_soon_claimed), then the
     * loop closes with it (close_cmd) */
    genrpc__cmd close_cmd;
    atomic_bool close_soon_claimed;
    int close_soon_err;
    char close_soon_why[GENRPC_MESSAGE_MAX];
    genrpc__cmd connect_cmd; /* client: the dialer's connect, on the loop */

    /* how it ended (written once, on the loop, before state becomes CLOSED
     * is visible to pending calls) */
    bool was_ready; /* authenticated once: a later close makes it stale */
    int close_err;  /* why it closed: pending calls fail with this */
    char close_msg[GENRPC_MESSAGE_MAX];

    /* statistics (rpc/stats.c reads them; each has one writer at a time):
     * the loop counts what it reads, whoever writes (out_mu, or the flush
     * claim) what is sent */
    genrpc__counter bytes_in, frames_in, bytes_out, frames_out;

    /* node's lists (node->conns_mu) */
    genrpc__list list_link; /* node->clients or node->acceptors; unlinked: neither */
};

void genrpc__conn_ref(genrpc__conn *c);
void genrpc__conn_unref(genrpc__conn *c);

/* Allocates a conn of `size` bytes (>= sizeof(genrpc__conn): the role's
 * struct, which starts with the conn) in its initial state, and has the
 * role set up its part (refs = 1, owned by the caller). NULL: no memory. */
genrpc__conn *genrpc__conn_new(genrpc__net *net, genrpc__conn_kind kind, int fd,
                               const genrpc__conn_role *role, size_t size);

/* Loop only: TCP is up (accepted or connected): start reading, run the
 * transport's handshake, then the genrpc handshake. */
void genrpc__conn_up(genrpc__conn *c);
/* Loop only: just start reading/writing the fd (conn_up's first step;
 * a TCP conn driven by hand, as tests/fuzz does). */
void genrpc__conn_start_io(genrpc__conn *c);
/* Loop only: stop reading c (backpressure) or start again. */
void genrpc__conn_pause_reading(genrpc__conn *c, bool pause);

/* Loop only: close with err; the role fails what is in flight with err. */
void genrpc__conn_close(genrpc__conn *c, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Any thread: the same, done by the loop next (after a failed write: the
 * writer may be inside genrpc__conn_send, or hold a lock). */
void genrpc__conn_close_soon(genrpc__conn *c, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

typedef enum genrpc__flush { GENRPC__FLUSH_NOW, GENRPC__FLUSH_DEFER } genrpc__flush;

/* Queues an encoded frame (c owns it from here: frees it once written, or
 * when the connection closes) and writes it now from this thread
 * (FLUSH_NOW) or on the loop before it next sleeps (FLUSH_DEFER: many
 * frames in one writev). Frames sent before the handshake finished are held
 * until it does. A borrowed frame (out->borrowed) is written at once
 * whatever `how` says, and what is unsent on return has been copied.
 * The loop may close c meanwhile, completing its pending calls: the caller
 * holds a reference to c of its own. */
void genrpc__conn_send(genrpc__conn *c, genrpc__out *out, genrpc__flush how);
/* Handshake frames: written before anything held. Loop only. */
void genrpc__conn_send_ctl(genrpc__conn *c, genrpc__out *out);
/* Writes what is queued, from any thread. */
void genrpc__conn_flush(genrpc__conn *c);
/* *frame, queued on c and still pointing into its sender's memory (or
 * NULL once released), copies what it has left to write, after any writev
 * reading it right now returns; then *frame = NULL and its release hook is
 * dropped. True if it did; false if *frame was NULL or there was no memory. */
bool genrpc__conn_unlend(genrpc__conn *c, genrpc__out **frame);
/* Bytes queued on c and not yet written (held frames included). */
size_t genrpc__conn_queued_bytes(genrpc__conn *c);

/* Loop only: the handshake is done (handshake.c): c is READY. */
void genrpc__conn_ready(genrpc__conn *c);

/* A frame went in or out: resets the inactivity timer. Any thread; costs a
 * clock read and a relaxed store, and nothing without a timeout. */
static inline void
genrpc__conn_active(genrpc__conn *c)
{
    if (c->idle_ms)
        atomic_store_explicit(&c->last_active_ms, genrpc__coarse_ms(), memory_order_relaxed);
}
void genrpc__idle_init(genrpc__conn *c);  /* conn_new */
void genrpc__idle_start(genrpc__conn *c); /* loop: the conn became READY */

/* The node's lists of connections (net->conns_mu): each holds a reference. */
void genrpc__conns_link(genrpc__net *net, genrpc__list *list, genrpc__conn *c);
void genrpc__conns_unlink(genrpc__net *net, genrpc__conn *c);
/* Loop only (the node's shutdown): closes every connection with err. */
void genrpc__conns_close_all(genrpc__net *net, int err, const char *why);
/* Loop only: closes up to max (<= 0: all) acceptors, newest first, of
 * `peer` (NULL: any), with err; returns how many. */
int genrpc__conns_close_acceptors(genrpc__net *net, const char *peer, int max, int err,
                                  const char *why);

#endif /* GENRPC_NET_CONN_H */
