/*
 * internal.h - the runtime's private structures. Prefix: genrpc__.
 *
 * Threads (see docs/RATIONALE.md for the whole call path):
 *   - one event-loop thread per node ("the loop"): owns every socket, every
 *     libev watcher and the listener; reads and parses frames; completes
 *     pending calls; flushes deferred output once per loop iteration;
 *   - worker threads: decode requests, run handlers, encode replies;
 *   - caller threads (the user's): encode requests and write them straight
 *     to the socket when nothing is queued ahead of them.
 * Other threads talk to the loop through node->cmds (+ an ev_async).
 *
 * Ownership is by reference count on conns, chunks, registrations and
 * promises; each field comment says which lock guards it.
 */
#ifndef GENRPC_INTERNAL_H
#define GENRPC_INTERNAL_H

#include <ev.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "genrpc/genrpc.h"
#include "base/chunk.h"
#include "base/clock.h"
#include "base/idmap.h"
#include "base/registry.h"
#include "base/list.h"
#include "base/status.h"
#include "net/transport.h"
#include "rpc/policy.h"
#include "wire/frame.h"
#include "wire/out.h"

typedef struct genrpc__conn genrpc__conn;
typedef struct genrpc__job genrpc__job;

/* ---- module registry ----------------------------------------------------- */

typedef struct genrpc__reg {
    genrpc__regentry e; /* name + version in node->modules; refs: 1 + 1 per job */
    const genrpc_module_desc *desc;
    const void *impl;
    void *user;
} genrpc__reg;

void genrpc__reg_unref(genrpc_node *node, genrpc__reg *r);

/* Policy, then module/version, then function. On success *reg holds a
 * reference. On failure fills st with the error for the caller. */
int genrpc__resolve(genrpc_node *node, const genrpc__request_hdr *h, genrpc__reg **reg,
                    const genrpc_function_desc **fn, genrpc_status *st);

/* ---- named handlers (broadcast.c) ----------------------------------------- */

typedef struct genrpc__handler {
    genrpc__regentry e; /* name in node->handlers; refs: 1 + 1 per job */
    char name[GENRPC__NAME_MAX + 1];
    const ProtobufCMessageDescriptor *type;
    genrpc_handler_thunk thunk; /* NULL: cb is a genrpc_handler_fn */
    genrpc_generic_fn cb;
    void *user;
} genrpc__handler;

/* The handler registered under `name`, with a reference; NULL if none. */
genrpc__handler *genrpc__handler_find(genrpc_node *node, genrpc__str name);
void genrpc__handler_unref(genrpc_node *node, genrpc__handler *h);
void genrpc__handler_invoke(genrpc__handler *h, genrpc_node *node, const char *from,
                            const ProtobufCMessage *msg);

/* ---- pending calls (client side) ----------------------------------------- */

typedef enum genrpc__pmode {
    GENRPC__WAITER,   /* a blocked caller thread */
    GENRPC__PROMISE,  /* a genrpc_promise */
    GENRPC__CALLBACK, /* a callback run on the loop */
} genrpc__pmode;

/* A blocked caller's wake-up: one per thread, reused for every call. */
typedef struct genrpc__waiter {
    pthread_mutex_t mu;
    pthread_cond_t cond;
} genrpc__waiter;

genrpc__waiter *genrpc__thread_waiter(void);

/* One call in flight. Lives in its conn's pending table from send until
 * the reply, the timeout or the connection's end removes it; whoever
 * removes it completes it. */
typedef struct genrpc__pending {
    uint64_t req_id;
    genrpc__pmode mode;
    const genrpc_function_desc *fn;
    /* result, written by the completer before signalling */
    genrpc__slice reply; /* REPLY payload, or data NULL */
    genrpc_status status;
    bool done; /* WAITER: guarded by waiter->mu */
    genrpc__waiter *waiter;
    struct genrpc_promise *promise;
    /* CALLBACK mode */
    genrpc_reply_thunk thunk;
    genrpc_generic_fn user_cb;
    void *arg;
    ev_timer timer;
    genrpc__conn *conn; /* CALLBACK/PROMISE: a reference while in flight */
    genrpc_node *node;
    /* CALLBACK: what the callback waits for: the call's outcome, and a
     * lent request's frame being written, dropped or copied
     * (GENRPC_CALL_LEND_REQUEST) */
    atomic_int holds;
    genrpc__out *lent_out; /* that frame until then (conn->out_mu) */
} genrpc__pending;

/* Completes p with its result (already filled), by mode. Loop thread or
 * the thread that removed p from its table. */
void genrpc__pending_complete(genrpc__pending *p);

/* genrpc_call_async for the runtime's own fan-outs (multi.c): a `claimed`
 * promise is collected by the runtime itself, so its result never expires
 * (async_call_inactivity_timeout is for results nobody claims). */
int genrpc__call_async(genrpc_node *node, genrpc_target target, const genrpc_module_desc *module,
                       const genrpc_function_desc *fn, const ProtobufCMessage *request,
                       const genrpc_call_opts *opts, bool claimed, genrpc_promise **out,
                       genrpc_status *st);

/* The same for a frame already encoded (the request id is stamped at its
 * offset 5, after prefix and kind): sends `o` (consumed) as a call whose
 * answer is REPLY or ERROR. fn NULL: the REPLY's payload is not decoded
 * (sbcast). timeout_ms as genrpc_call_opts.timeout_ms. */
int genrpc__call_async_frame(genrpc_node *node, genrpc_target target,
                             const genrpc_function_desc *fn, genrpc__out *o, int64_t timeout_ms,
                             bool claimed, genrpc_promise **out, genrpc_status *st);

/* ---- connections --------------------------------------------------------- */

typedef enum genrpc__role { GENRPC__CLIENT, GENRPC__ACCEPTOR } genrpc__role;

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

struct genrpc__conn {
    genrpc_node *node;
    genrpc__role role;
    atomic_int refs;
    _Atomic genrpc__state state; /* written on the loop */
    int fd;
    const genrpc__transport *tp; /* set before the fd is (never changes after) */
    void *tp_state;              /* the transport's (tls.c: its SSL object) */
    bool read_on_writable;       /* loop: a read waits for the socket to be writable */
    ev_io rw, ww;
    ev_timer timer;      /* connect / authentication timeout */
    ev_timer send_timer; /* send_timeout while the socket is full */
    ev_timer idle_timer; /* client/server inactivity timeout (lifetime.c) */
    int64_t idle_ms;     /* that timeout, 0 = none; set by conn_new, never changes */
    _Atomic int64_t last_active_ms; /* coarse clock at the last frame in or out */

    /* identity */
    char peer[GENRPC__NAME_MAX + 1]; /* client: node dialled; acceptor: node after HELLO */
    bool has_key;
    uint64_t key_hash;
    struct sockaddr_storage addr;
    socklen_t addr_len;

    /* handshake (loop only) */
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
    bool flush_queued; /* on node->flush list (node->cmd_mu) */
    genrpc__conn *flush_next;

    /* client: calls in flight (pend_mu) */
    pthread_mutex_t pend_mu;
    bool pend_closed; /* no more inserts: the conn has closed */
    genrpc__idmap pending; /* request id -> genrpc__pending */
    bool was_ready; /* authenticated once: a later close makes it stale */
    int close_err; /* why it closed: pending calls fail with this */
    char close_msg[GENRPC_MESSAGE_MAX];

    /* acceptor: requests received and not yet started (server.c backpressure) */
    atomic_int backlog;
    bool read_paused; /* loop only: not reading while the backlog is too long */
    /* client: bytes queued and not yet written (out_mu), for the cast bound */
    size_t queued_bytes;

    /* acceptor: its mailbox of requests waiting for a worker (node->job_mu) */
    genrpc__job *mbox_head, *mbox_tail;
    genrpc__conn *ready_next;
    bool ready_linked;

    /* acceptor: casts run one at a time, in order (job_mu) */
    pthread_mutex_t job_mu;
    genrpc__list casts; /* genrpc__job.cast_link */
    bool casts_running;

    /* node's lists (node->conns_mu) */
    genrpc__list list_link; /* node->clients or node->acceptors; unlinked: neither */
};

void genrpc__conn_ref(genrpc__conn *c);
void genrpc__conn_unref(genrpc__conn *c);

/* Allocates a conn in its initial state (refs = 1, owned by the caller). */
genrpc__conn *genrpc__conn_new(genrpc_node *node, genrpc__role role, int fd);

/* Loop only: TCP is up (accepted or connected): start reading, run the
 * transport's handshake, then the genrpc handshake. */
void genrpc__conn_up(genrpc__conn *c);
/* Loop only: just start reading/writing the fd (conn_up's first step;
 * a TCP conn driven by hand, as tests/fuzz does). */
void genrpc__conn_start_io(genrpc__conn *c);

/* Loop only: close with err; fails every pending call with err. */
void genrpc__conn_close(genrpc__conn *c, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Any thread: the same, done by the loop next (after a failed write: the
 * writer may be inside genrpc__conn_send, or hold a lock). */
void genrpc__conn_close_soon(genrpc__conn *c, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

typedef enum genrpc__flush { GENRPC__FLUSH_NOW, GENRPC__FLUSH_DEFER } genrpc__flush;

/* Queues an encoded frame (the conn takes ownership of out and frees it
 * once written, or when the connection closes) and writes it now from this
 * thread (FLUSH_NOW) or on the loop before it next sleeps (FLUSH_DEFER:
 * batches many frames into one writev). Frames sent before the handshake
 * finished are held until it does. A borrowed frame (out->borrowed) is
 * written at once whatever `how` says, and whatever is unsent when this
 * returns has been copied (genrpc__out_own): the sender's memory is free
 * to reuse on return. The loop may close c meanwhile (a write error is
 * closed by it too, later: genrpc__conn_close_soon), completing c's
 * pending calls: the caller holds a reference to c that no pending call
 * releases. */
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

/* Loop only: a whole frame body arrived (handshake.c / client.c / server.c). */
void genrpc__handshake_start_client(genrpc__conn *c);
void genrpc__handshake_start_acceptor(genrpc__conn *c);
bool genrpc__handshake_frame(genrpc__conn *c, const uint8_t *body, size_t len);
void genrpc__client_frame(genrpc__conn *c, genrpc__chunk *chunk, const uint8_t *body, size_t len);
void genrpc__server_frame(genrpc__conn *c, genrpc__chunk *chunk, const uint8_t *body, size_t len);
void genrpc__conn_ready(genrpc__conn *c);

/* Pending table (client.c). */
int genrpc__pending_insert(genrpc__conn *c, genrpc__pending *p);
genrpc__pending *genrpc__pending_take(genrpc__conn *c, uint64_t req_id);
bool genrpc__pending_remove(genrpc__conn *c, genrpc__pending *p);
void genrpc__pending_fail_all(genrpc__conn *c, int err, const char *msg);

/* Client map: the conn for a target, created (and connected) on first
 * use. Returns a reference. */
int genrpc__client_get(genrpc_node *node, genrpc_target t, genrpc__conn **out, genrpc_status *st);
void genrpc__client_connected(genrpc__conn *c); /* loop: connect finished */
/* net/dialer.c: name@host -> address and transport driver */
int genrpc__dial_resolve(genrpc_node *node, const char *name, struct sockaddr_storage *ss,
                         socklen_t *len, genrpc_driver *driver, genrpc_status *st);
/* Loop: opens c's socket and starts the connect (a posted command). */
void genrpc__dial_connect_cmd(genrpc_node *node, void *arg);
void genrpc__conn_timer_start(genrpc__conn *c, int64_t ms); /* loop */
void genrpc__client_forget(genrpc__conn *c);  /* remove from the map */
/* Calls fn(peer, arg) for each authenticated client in the map, under
 * conns_mu (fn must not call into the node). Keyed clients of one node
 * are visited once each: fn sees the node as often. */
void genrpc__clients_each_ready(genrpc_node *node, void (*fn)(const char *peer, void *arg),
                                void *arg);

/* ---- connection lifetime and node events (lifetime.c) --------------------- */

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
/* Loop only: an authenticated conn appeared / went away (node events). */
void genrpc__events_conn_up(genrpc__conn *c);
void genrpc__events_conn_down(genrpc__conn *c);
void genrpc__events_free(genrpc_node *node);

/* ---- jobs and workers ---------------------------------------------------- */

struct genrpc__job {
    genrpc__job *next;     /* its conn's mailbox (loop/runner.c) */
    genrpc__list cast_link; /* its conn's cast queue (conn->job_mu) */
    genrpc__conn *conn; /* reference */
    genrpc__reg *reg;   /* reference */
    genrpc__handler *handler; /* broadcast jobs: reference (reg is NULL) */
    const genrpc_function_desc *fn;
    genrpc__slice payload;
    uint64_t req_id;
    bool is_cast;
    void (*run)(genrpc__job *job); /* NULL: the call path */
};

/* Queues jobs (a NULL-terminated list) for the workers. */
/* Queues a job on its connection's mailbox (node->job_mu). */
void genrpc__job_submit(genrpc_node *node, genrpc__job *job);
void genrpc__job_free(genrpc__job *job);
/* Frees a job that will never run (node stopping), casts queued behind it too. */
void genrpc__job_discard(genrpc__job *job);
int genrpc__workers_start(genrpc_node *node, int n);
void genrpc__workers_stop(genrpc_node *node);
bool genrpc__on_worker(const genrpc_node *node);
/* This thread runs node's loop, or has lent it to run a request: either
 * way it polls (and flushes deferred output) before the loop next sleeps. */
bool genrpc__polls_next(const genrpc_node *node);
void genrpc__loop_thread_main(genrpc_node *node);
/* About to wait for something only the loop can bring (a reply): a worker
 * running a request with the loop token lent gives the token back. */
void genrpc__worker_blocking(void);
void genrpc__loop_done(genrpc_node *node);
void genrpc__set_on_loop(const genrpc_node *node); /* the calling thread now runs node's loop */
void genrpc__server_run_job(genrpc__job *job);
/* rpc/handler.c: an ERROR frame for req_id; a failed call answered, a
 * failed cast dropped and counted. */
void genrpc__send_error(genrpc__conn *c, uint64_t req_id, const genrpc_status *st,
                        genrpc__flush how);
void genrpc__answer_failure(genrpc__job *job, genrpc_status *st);
void genrpc__backlog_queued(genrpc__conn *c);  /* loop */
void genrpc__backlog_started(genrpc__conn *c); /* any thread */
/* Bytes queued on c and not yet written (held frames included). */
size_t genrpc__conn_queued_bytes(genrpc__conn *c);

/* ---- commands to the loop ------------------------------------------------ */

typedef struct genrpc__cmd {
    struct genrpc__cmd *next;
    void (*fn)(genrpc_node *node, void *arg);
    void *arg;
} genrpc__cmd;

/* Runs fn(node, arg) on the loop thread soon. */
int genrpc__loop_post(genrpc_node *node, void (*fn)(genrpc_node *, void *), void *arg);
bool genrpc__on_loop(const genrpc_node *node);
void genrpc__loop_defer_flush(genrpc__conn *c);

/* ---- the node ------------------------------------------------------------ */

struct genrpc_node {
    genrpc_node_config cfg; /* strings below are the node's own copies */
    char *name;
    char *cookie;
    size_t cookie_len;
    char *listen_host;
    char **module_list;
    genrpc_node_addr *node_addrs;
    atomic_bool stopping;

    /* loop */
    struct ev_loop *loop;
    uint64_t reads_done;  /* loop only: reads that brought bytes (busy polling) */
    int64_t busy_poll_ns; /* cfg.busy_poll_us */
    pthread_t loop_thread;
    ev_async wake;
    ev_prepare before_poll;
    int listen_fd;
    int port;
    ev_io listen_w;
    int tls_listen_fd; /* the TLS listener (ssl_server_port), or -1 */
    int tls_port;
    ev_io tls_listen_w;
    void *tls_ctx;     /* SSL_CTX (tls.c), NULL without a TLS configuration */
    char *tls_files[4]; /* copies of the tls_* strings of cfg */
    pthread_mutex_t cmd_mu;
    genrpc__cmd *cmds_head, *cmds_tail;
    /* conns with deferred output, in the order their output was queued:
     * replies go out in the order their requests were served (cmd_mu) */
    genrpc__conn *flush_list, *flush_tail;
    genrpc__list expiring; /* genrpc_promise: completed, with an expiry timer (loop) */

    /* connections (conns_mu) */
    pthread_mutex_t conns_mu;
    genrpc__list clients;   /* genrpc__conn.list_link: the client map (few remote nodes) */
    genrpc__list acceptors; /* genrpc__conn.list_link */

    /* registries (each under its own lock) */
    genrpc__registry modules;  /* genrpc__reg.e: name + version */
    genrpc__registry handlers; /* genrpc__handler.e: named handlers, name only */

    /* workers (job_mu) */
    pthread_mutex_t job_mu;
    pthread_cond_t job_cond;
    /* connections with queued jobs, served round-robin (one job per turn)
     * so that a flooding peer cannot delay another peer's requests */
    genrpc__conn *ready_head, *ready_tail;
    atomic_int jobs_queued;
    int idle_workers;
    bool workers_quit;
    pthread_cond_t loop_cond; /* the dedicated loop thread waits here */
    bool token_held;          /* some thread runs the loop (worker.c) */
    bool holder_dedicated;    /* ... and it is the dedicated loop thread */
    bool lent;                /* ... a worker, running a request off the loop */
    _Atomic uint64_t lend_seq; /* counts lendings and takeovers: tells one from the next */
    int64_t lent_since_ns;    /* when the current (or, not lent, the last) lending began */
    bool watching;            /* the dedicated thread checks lendings periodically */
    bool loop_done;           /* shut down: nobody takes the token again */
    pthread_t *workers;
    int n_workers;

    /* node events (lifetime.c): subscribers under mon_mu (held while
     * delivering); peers_up is loop only */
    pthread_mutex_t mon_mu;
    genrpc__list monitors; /* struct genrpc__monitor.link */
    struct genrpc__peer_up *peers_up;
    size_t n_peers_up, cap_peers_up;

    /* counters */
    atomic_int n_clients, n_clients_ready, n_acceptors;
    atomic_uint_least64_t calls_served, casts_dropped, late_replies, auth_failures,
        protocol_errors, reads_paused;
    atomic_uint_least64_t broadcasts_dropped;
};

/* A call's timeout: opts->timeout_ms, else the node's call_receive_timeout
 * (call.c, fanout.c). Inline: it is on every call's path. */
static inline int64_t
genrpc__call_timeout_ms(const genrpc_node *node, const genrpc_call_opts *opts)
{
    return opts && opts->timeout_ms ? opts->timeout_ms : node->cfg.call_receive_timeout_ms;
}

int genrpc__loop_start(genrpc_node *node, genrpc_status *st);
int genrpc__loop_run(genrpc_node *node, genrpc_status *st);
void genrpc__client_sockopts(genrpc_node *node, int fd);
void genrpc__loop_stop(genrpc_node *node);
void genrpc__loop_destroy(genrpc_node *node);
void genrpc__promises_stop(genrpc_node *node); /* loop: drop expiry timers */
int genrpc__listen(genrpc_node *node, genrpc_status *st);
void genrpc__conns_link(genrpc_node *node, genrpc__list *list, genrpc__conn *c);
void genrpc__conns_unlink(genrpc_node *node, genrpc__conn *c);

#endif /* GENRPC_INTERNAL_H */
