/*
 * conn.c - one connection, client or acceptor: reading and splitting
 * frames, the write queue (direct writes from any thread, or deferred and
 * batched into one writev per loop iteration), and closing. Bytes go
 * through the connection's transport (transport.h: TCP or TLS).
 *
 * The fd is shut down when the connection closes but only close()d when the
 * last reference goes, so a thread still inside sendmsg() can never write
 * to a reused descriptor.
 */
#include <errno.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "net/conn.h"
#include "net/dialer.h"
#include "net/handshake.h"

/* Bytes a read asks for at least; read chunks are at least this big. */
#define READ_MIN (16 * 1024)
#define CHUNK_SIZE (64 * 1024)
#define CHUNK_MAX GENRPC__CHUNK_BULK
/* Reads per readable event before giving other connections a turn. */
#define READS_PER_EVENT 16
#define IOV_BATCH 64

static void read_cb(struct ev_loop *loop, ev_io *w, int revents);
static void write_cb(struct ev_loop *loop, ev_io *w, int revents);
static void send_timeout_cb(struct ev_loop *loop, ev_timer *w, int revents);
static void flush_cmd(genrpc__cmd *cmd);
static void arm_write_cmd(genrpc__cmd *cmd);
static void close_cmd(genrpc__cmd *cmd);

genrpc__conn *
genrpc__conn_new(genrpc__net *net, genrpc__conn_kind kind, int fd, const genrpc__conn_role *role,
                 size_t size)
{
    genrpc__conn *c = calloc(1, size);
    if (!c)
        return NULL;
    c->net = net;
    c->kind = kind;
    c->role = role;
    atomic_init(&c->refs, 1);
    atomic_init(&c->state, kind == GENRPC__CLIENT ? GENRPC__CONNECTING : GENRPC__WAIT_HELLO);
    c->fd = fd;
    c->tp = &genrpc__tcp_transport;
    c->chunk_size = CHUNK_SIZE;
    genrpc__list_init(&c->out_q);
    genrpc__list_init(&c->held_q);
    genrpc__list_init(&c->list_link);
    pthread_mutex_init(&c->out_mu, NULL);
    genrpc__cmd_init(&c->flush_cmd, flush_cmd);
    genrpc__cmd_init(&c->arm_write_cmd, arm_write_cmd);
    genrpc__cmd_init(&c->close_cmd, close_cmd);
    atomic_init(&c->close_soon_claimed, false);
    ev_init(&c->rw, read_cb);
    ev_init(&c->ww, write_cb);
    ev_init(&c->send_timer, send_timeout_cb);
    c->rw.data = c->ww.data = c->send_timer.data = c;
    genrpc__idle_init(c);
    role->init(c);
    if (kind == GENRPC__CLIENT)
        atomic_fetch_add(&net->n_clients, 1);
    else
        atomic_fetch_add(&net->n_acceptors, 1);
    return c;
}

void
genrpc__conn_ref(genrpc__conn *c)
{
    atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
}

#define OUT_OF(l) GENRPC__CONTAINER_OF(l, genrpc__out, link)

/* Frees every frame of q; q is empty after. */
static void
free_outs(genrpc__list *q)
{
    for (genrpc__list *l; (l = genrpc__list_pop_front(q));)
        genrpc__out_free(OUT_OF(l));
}

void
genrpc__conn_unref(genrpc__conn *c)
{
    if (atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) != 1)
        return;
    if (c->tp->destroy)
        c->tp->destroy(c);
    if (c->fd >= 0)
        close(c->fd);
    genrpc__chunk_unref(c->rchunk);
    free_outs(&c->out_q);
    free_outs(&c->held_q);
    pthread_mutex_destroy(&c->out_mu);
    if (c->role->destroy)
        c->role->destroy(c);
    free(c);
}

/* Whoever gives a conn its fd also gives the loop a reference, which
 * genrpc__conn_close drops: "fd >= 0" means "the loop holds a reference". */
void
genrpc__conn_start_io(genrpc__conn *c)
{
    GENRPC__ASSERT_ON_LOOP(c->net->loop);
    ev_io_set(&c->rw, c->fd, EV_READ);
    ev_io_set(&c->ww, c->fd, EV_WRITE);
    ev_io_start(c->net->loop->ev, &c->rw);
}

void
genrpc__conn_up(genrpc__conn *c)
{
    GENRPC__ASSERT_ON_LOOP(c->net->loop);
    genrpc__conn_start_io(c);
    if (c->kind == GENRPC__ACCEPTOR)
        genrpc__handshake_start_acceptor(c); /* its timer bounds the TLS handshake too */
    if (!c->tp->start || c->tp->start(c))
        genrpc__conn_transport_ready(c);
}

void
genrpc__conn_transport_ready(genrpc__conn *c)
{
    if (c->kind == GENRPC__CLIENT)
        genrpc__handshake_start_client(c);
    else
        atomic_store(&c->state, GENRPC__WAIT_HELLO);
}

void
genrpc__conn_pause_reading(genrpc__conn *c, bool pause)
{
    if (pause)
        ev_io_stop(c->net->loop->ev, &c->rw);
    else if (atomic_load(&c->state) != GENRPC__CLOSED)
        ev_io_start(c->net->loop->ev, &c->rw);
}

/* ---- closing ------------------------------------------------------------- */

/* The request ids of the CALL and SBCAST frames in q not a byte of which
 * was written (a reply's id does not matter: the role sent none). NULL
 * when there are none (or no memory: they then fail as closed). */
static uint64_t *
unsent_calls(genrpc__list *q, size_t *n)
{
    size_t count = 0;
    GENRPC__LIST_FOREACH(l, q) count++;
    uint64_t *ids = count ? malloc(count * sizeof *ids) : NULL;
    *n = 0;
    GENRPC__LIST_FOREACH(l, q) {
        const genrpc__out *o = GENRPC__CONTAINER_OF(l, genrpc__out, link);
        uint8_t kind = o->len > GENRPC__REQ_ID_OFFSET + 8 ? o->data[GENRPC__LEN_PREFIX] : 0;
        if (ids && o->proto && o->off == 0 && (kind == GENRPC__K_CALL || kind == GENRPC__K_SBCAST))
            ids[(*n)++] = genrpc__get_u64(o->data + GENRPC__REQ_ID_OFFSET);
    }
    if (ids && !*n) {
        free(ids);
        ids = NULL;
    }
    return ids;
}

void
genrpc__conn_close(genrpc__conn *c, int err, const char *fmt, ...)
{
    GENRPC__ASSERT_ON_LOOP(c->net->loop);
    genrpc__net *net = c->net;
    pthread_mutex_lock(&c->out_mu);
    genrpc__state was = atomic_load(&c->state);
    if (was == GENRPC__CLOSED) {
        pthread_mutex_unlock(&c->out_mu);
        return;
    }
    atomic_store(&c->state, GENRPC__CLOSED);
    size_t n_unsent = 0;
    uint64_t *unsent = NULL;
    if (!c->flushing) { /* else the flusher frees them when it sees CLOSED */
        if (was == GENRPC__READY && c->role->unsent)
            unsent = unsent_calls(&c->out_q, &n_unsent);
        free_outs(&c->out_q);
    }
    free_outs(&c->held_q);
    c->queued_bytes = 0;
    pthread_mutex_unlock(&c->out_mu);

    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->close_msg, sizeof c->close_msg, fmt, ap);
    va_end(ap);
    c->close_err = err;
    genrpc__log(net->cfg, err == GENRPC_E_CLOSED || err == GENRPC_E_STOPPED ? GENRPC_LOG_DEBUG
                                                                         : GENRPC_LOG_INFO,
                "%s %s closed: %s (%s)", c->kind == GENRPC__CLIENT ? "client to" : "acceptor for",
                c->peer[0] ? c->peer : "?", c->close_msg, genrpc_err_name(err));

    ev_io_stop(net->loop->ev, &c->rw);
    ev_io_stop(net->loop->ev, &c->ww);
    ev_timer_stop(net->loop->ev, &c->timer);
    ev_timer_stop(net->loop->ev, &c->send_timer);
    ev_timer_stop(net->loop->ev, &c->idle_timer);
    bool had_io = c->fd >= 0;
    if (c->fd >= 0)
        shutdown(c->fd, SHUT_RDWR);

    /* Off its list first (for a client, the client map: no new call finds
     * it), then the role fails what is in flight. */
    genrpc__conns_unlink(net, c);
    if (c->kind == GENRPC__CLIENT) {
        atomic_fetch_sub(&net->n_clients, 1);
        if (was == GENRPC__READY)
            atomic_fetch_sub(&net->n_clients_ready, 1);
    } else {
        atomic_fetch_sub(&net->n_acceptors, 1);
    }
    if (n_unsent)
        c->role->unsent(c, unsent, n_unsent);
    free(unsent);
    c->role->closed(c, err, was == GENRPC__READY);
    if (had_io)
        genrpc__conn_unref(c); /* the loop's reference */
}

/* Closing by a command the loop runs next, even from the loop: used when a
 * write fails. Closing completes c's pending calls (their callbacks run);
 * done inside genrpc__conn_send it would run them under the sender's feet,
 * and under whatever lock the sender holds. The command and its reason are
 * c's own (the first reason wins: later ones find it claimed), and it holds
 * a reference to c while queued. */
static void
close_cmd(genrpc__cmd *cmd)
{
    genrpc__conn *c = GENRPC__CONTAINER_OF(cmd, genrpc__conn, close_cmd);
    genrpc__conn_close(c, c->close_soon_err, "%s", c->close_soon_why);
    genrpc__conn_unref(c);
}

void
genrpc__conn_close_soon(genrpc__conn *c, int err, const char *fmt, ...)
{
    if (atomic_exchange(&c->close_soon_claimed, true))
        return; /* closing soon already, for the first reason */
    c->close_soon_err = err;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->close_soon_why, sizeof c->close_soon_why, fmt, ap);
    va_end(ap);
    genrpc__conn_ref(c);
    genrpc__loop_post(c->net->loop, &c->close_cmd); /* queued: claimed only once */
}

static void
close_after_write_error(genrpc__conn *c, int err, int sys_errno)
{
    genrpc__conn_close_soon(c, err, "write failed: %s", strerror(sys_errno));
}

/* ---- reading ------------------------------------------------------------- */

static size_t
frame_limit(const genrpc__conn *c)
{
    return atomic_load(&c->state) == GENRPC__READY ? c->net->cfg->max_frame_size
                                                    : GENRPC__PREAUTH_MAX;
}

/* Makes room for the next read: at least READ_MIN free bytes, and the
 * whole of the frame being received, so a large frame is read straight
 * into its final buffer. A fresh chunk is c->chunk_size bytes, which grows
 * while reads keep filling it (bulk traffic: many frames per read, as few
 * system calls as the kernel allows). Moves the unparsed tail of a frame
 * to a new chunk when the old one is still referenced by requests. */
static bool
reserve(genrpc__conn *c)
{
    size_t have = c->rend - c->rstart, body;
    size_t need = have + READ_MIN;
    genrpc__chunk *old = c->rchunk;
    if (genrpc__frame_peek(old ? old->data + c->rstart : NULL, have, &body) &&
        body <= frame_limit(c) && GENRPC__LEN_PREFIX + body > need) {
        /* Room for the whole frame, but never more than 1 MiB (or double)
         * ahead of the bytes that actually arrived: a peer announcing a
         * huge frame and sending nothing costs little memory. */
        size_t ahead = have + CHUNK_MAX > 2 * have ? have + CHUNK_MAX : 2 * have;
        need = GENRPC__LEN_PREFIX + body < ahead ? GENRPC__LEN_PREFIX + body : ahead;
    }
    /* A chunk smaller than chunk_size is replaced, or reads would stay
     * the size of the first frames and never batch. */
    bool undersized = old && old->cap < c->chunk_size;
    if (old && !undersized && old->cap - c->rstart >= need)
        return true;
    if (old && !undersized && atomic_load(&old->refs) == 1 && old->cap >= need) {
        memmove(old->data, old->data + c->rstart, have);
    } else {
        size_t size = c->chunk_size > need ? c->chunk_size : need;
        genrpc__chunk *nc = genrpc__chunk_new(size);
        if (!nc)
            return false;
        if (have)
            memcpy(nc->data, old->data + c->rstart, have);
        genrpc__chunk_unref(old);
        c->rchunk = nc;
    }
    c->rstart = 0;
    c->rend = have;
    return true;
}

static void
dispatch(genrpc__conn *c, const uint8_t *body, size_t len)
{
    genrpc__state s = atomic_load(&c->state);
    if (s == GENRPC__READY) {
        genrpc__conn_active(c);
        c->role->frame(c, c->rchunk, body, len);
    } else if (!genrpc__handshake_frame(c, body, len)) {
        atomic_fetch_add(&c->net->protocol_errors, 1);
        genrpc__conn_close(c, GENRPC_E_PROTOCOL, "frame 0x%02x before the handshake", body[0]);
    }
}

/* Splits the buffered bytes into frames and handles each. */
static void
parse(genrpc__conn *c)
{
    uint64_t frames = 0; /* counted once per read (statistics) */
    while (atomic_load(&c->state) != GENRPC__CLOSED) {
        size_t have = c->rend - c->rstart, body;
        const uint8_t *p = c->rchunk->data + c->rstart;
        if (!genrpc__frame_peek(p, have, &body))
            break;
        if (body == 0 || body > frame_limit(c)) {
            atomic_fetch_add(&c->net->protocol_errors, 1);
            genrpc__conn_close(c, GENRPC_E_PROTOCOL, "frame of %zu bytes (limit %zu)", body,
                               frame_limit(c));
            genrpc__count1w(&c->frames_in, frames);
            return;
        }
        if (have < GENRPC__LEN_PREFIX + body)
            break;
        c->rstart += GENRPC__LEN_PREFIX + body;
        frames++;
        dispatch(c, p + GENRPC__LEN_PREFIX, body);
    }
    genrpc__count1w(&c->frames_in, frames);
    if (c->rstart == c->rend && atomic_load(&c->rchunk->refs) == 1)
        c->rstart = c->rend = 0;
}

/* A transport's write waited for the socket to be readable (TLS): now
 * it may go on. Loop only. */
static void
flush_after_read(genrpc__conn *c)
{
    GENRPC__ASSERT_ON_LOOP(c->net->loop);
    pthread_mutex_lock(&c->out_mu);
    bool again = c->flush_on_readable;
    if (again)
        c->flush_on_readable = c->write_wait = false;
    pthread_mutex_unlock(&c->out_mu);
    if (again) {
        ev_timer_stop(c->net->loop->ev, &c->send_timer);
        genrpc__conn_flush(c);
    }
}

static void
conn_read(genrpc__conn *c)
{
    genrpc__conn_ref(c); /* handlers below may close c */
    for (int i = 0; i < READS_PER_EVENT && atomic_load(&c->state) != GENRPC__CLOSED; i++) {
        if (!reserve(c)) {
            genrpc__conn_close(c, GENRPC_E_NOMEM, "no memory for the read buffer");
            break;
        }
        size_t room = c->rchunk->cap - c->rend;
        ssize_t n = c->tp->read(c, c->rchunk->data + c->rend, room);
        if (n > 0) {
            c->net->loop->reads_done++;
            genrpc__count1w(&c->bytes_in, (uint64_t)n);
            c->rend += (size_t)n;
            if ((size_t)n == room && c->chunk_size < CHUNK_MAX)
                c->chunk_size *= 2; /* more was waiting: read bigger */
            parse(c);
            if ((size_t)n < room)
                break; /* drained: skip the read that would say EAGAIN */
        } else if (n == 0) {
            genrpc__conn_close(c, GENRPC_E_CLOSED, "closed by peer");
        } else {
            if (n == GENRPC__IO_WANT_WRITE && atomic_load(&c->state) != GENRPC__CLOSED) {
                c->read_on_writable = true;
                ev_io_start(c->net->loop->ev, &c->ww);
            } else if (n == GENRPC__IO_ERROR) {
                genrpc__conn_close(c, GENRPC_E_CLOSED, "read: %s", strerror(errno));
            }
            break;
        }
    }
    if (c->tp->loop_only && atomic_load(&c->state) != GENRPC__CLOSED)
        flush_after_read(c);
    genrpc__conn_unref(c);
}

static void
read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    (void)revents;
    genrpc__conn *c = w->data;
    if (atomic_load(&c->state) == GENRPC__TLS_HANDSHAKE)
        c->tp->handshake(c);
    else
        conn_read(c);
}

/* ---- writing ------------------------------------------------------------- */

static bool flush_claim(genrpc__conn *c);
static void flush_claimed(genrpc__conn *c, bool queued_borrowed);

/* The loop flushes c before it next polls (the deferred queue keeps the
 * order: replies leave in the order their requests were served). The
 * queued command holds a reference to c. */
static void
defer_flush(genrpc__conn *c)
{
    if (genrpc__cmd_queued(&c->flush_cmd))
        return; /* queued already, with its reference: it flushes this frame too (out_mu) */
    genrpc__conn_ref(c);
    if (!genrpc__runner_defer(c->net->runner, &c->flush_cmd))
        genrpc__conn_unref(c); /* queued meanwhile, with its reference */
}

static void
flush_cmd(genrpc__cmd *cmd)
{
    genrpc__conn *c = GENRPC__CONTAINER_OF(cmd, genrpc__conn, flush_cmd);
    genrpc__conn_flush(c);
    genrpc__conn_unref(c);
}

/* A request encoded in a newer layout than the connection agreed on (the
 * caller encodes before it knows; only a version-1 peer makes this
 * happen): the same request in the connection's layout. out_mu held; NULL
 * (out freed) without memory. */
static genrpc__out *
fit_version(genrpc__conn *c, genrpc__out *out, bool counted)
{
    if (!out->proto || out->proto == c->proto)
        return out;
    genrpc__out *fitted = genrpc__out_relayout(out, c->proto);
    if (fitted && counted) /* a held frame: in queued_bytes already */
        c->queued_bytes = c->queued_bytes - out->total + fitted->total;
    genrpc__out_free(out);
    return fitted;
}

void
genrpc__conn_send(genrpc__conn *c, genrpc__out *out, genrpc__flush how)
{
    pthread_mutex_lock(&c->out_mu);
    genrpc__state s = atomic_load(&c->state);
    if (s == GENRPC__READY && out->proto && out->proto != c->proto &&
        !(out = fit_version(c, out, false))) {
        pthread_mutex_unlock(&c->out_mu);
        close_after_write_error(c, GENRPC_E_NOMEM, ENOMEM);
        return;
    }
    if (s == GENRPC__CLOSED) {
        pthread_mutex_unlock(&c->out_mu);
        genrpc__out_free(out);
        return;
    }
    if (out->borrowed && !(s == GENRPC__READY && flush_claim(c)) && !genrpc__out_own(out)) {
        pthread_mutex_unlock(&c->out_mu);
        genrpc__out_free(out);
        close_after_write_error(c, GENRPC_E_NOMEM, ENOMEM);
        return;
    }
    c->queued_bytes += out->total;
    genrpc__count1w(&c->frames_out, 1);
    if (s != GENRPC__READY) {
        genrpc__list_push_back(&c->held_q, &out->link);
        pthread_mutex_unlock(&c->out_mu);
        return;
    }
    genrpc__list_push_back(&c->out_q, &out->link);
    if (out->borrowed) { /* this thread flushes, before the sender reuses its memory */
        flush_claimed(c, true);
        genrpc__conn_active(c);
        return;
    }
    pthread_mutex_unlock(&c->out_mu);
    genrpc__conn_active(c);
    if (how == GENRPC__FLUSH_NOW)
        genrpc__conn_flush(c);
    else
        defer_flush(c);
}

bool
genrpc__conn_unlend(genrpc__conn *c, genrpc__out **frame)
{
    pthread_mutex_lock(&c->out_mu);
    while (*frame && c->in_writev) { /* a nonblocking writev: microseconds */
        pthread_mutex_unlock(&c->out_mu);
        sched_yield();
        pthread_mutex_lock(&c->out_mu);
    }
    genrpc__out *o = *frame;
    bool copied = o && genrpc__out_copy_rest(o);
    if (copied) {
        o->release = NULL;
        o->owner = NULL;
        *frame = NULL;
    }
    pthread_mutex_unlock(&c->out_mu);
    return copied;
}

size_t
genrpc__conn_queued_bytes(genrpc__conn *c)
{
    pthread_mutex_lock(&c->out_mu);
    size_t n = c->queued_bytes;
    pthread_mutex_unlock(&c->out_mu);
    return n;
}

void
genrpc__conn_send_ctl(genrpc__conn *c, genrpc__out *out)
{
    GENRPC__ASSERT_ON_LOOP(c->net->loop);
    pthread_mutex_lock(&c->out_mu);
    c->queued_bytes += out->total;
    genrpc__count1w(&c->frames_out, 1);
    genrpc__list_push_back(&c->out_q, &out->link);
    pthread_mutex_unlock(&c->out_mu);
    genrpc__conn_flush(c);
}

/* Handshake done (loop): what callers queued meanwhile goes out now. */
void
genrpc__conn_ready(genrpc__conn *c)
{
    GENRPC__ASSERT_ON_LOOP(c->net->loop);
    pthread_mutex_lock(&c->out_mu);
    if (atomic_load(&c->state) == GENRPC__CLOSED) { /* sending AUTH_OK failed */
        pthread_mutex_unlock(&c->out_mu);
        return;
    }
    c->was_ready = true;
    atomic_store(&c->state, GENRPC__READY);
    bool fitted = true;
    for (genrpc__list *l; fitted && (l = genrpc__list_pop_front(&c->held_q));) {
        genrpc__out *o = fit_version(c, GENRPC__CONTAINER_OF(l, genrpc__out, link), true);
        if ((fitted = o != NULL))
            genrpc__list_push_back(&c->out_q, &o->link);
    }
    pthread_mutex_unlock(&c->out_mu);
    if (!fitted) {
        genrpc__conn_close(c, GENRPC_E_NOMEM, "no memory to re-encode held requests");
        return;
    }
    genrpc__idle_start(c);
    c->role->ready(c);
    genrpc__conn_flush(c);
}

/* Drops `n` written bytes from the head of the queue. out_mu held. */
static void
consume(genrpc__conn *c, size_t n)
{
    GENRPC__ASSERT_HELD(&c->out_mu);
    genrpc__list *l;
    while (n > 0 && (l = genrpc__list_first(&c->out_q))) {
        genrpc__out *o = OUT_OF(l);
        size_t left = o->total - o->off;
        if (n < left) {
            o->off += n;
            c->queued_bytes -= n;
            return;
        }
        c->queued_bytes -= left;
        n -= left;
        genrpc__list_remove(l);
        genrpc__out_free(o);
    }
}

/* Loop only. */
static void
arm_send_timer(genrpc__conn *c)
{
    GENRPC__ASSERT_ON_LOOP(c->net->loop);
    int64_t ms = c->net->cfg->send_timeout_ms;
    if (ms >= 0 && !ev_is_active(&c->send_timer) && atomic_load(&c->state) != GENRPC__CLOSED) {
        ev_timer_set(&c->send_timer, (double)ms / 1000.0, 0.);
        ev_timer_start(c->net->loop->ev, &c->send_timer);
    }
}

static void
arm_write(genrpc__conn *c)
{
    GENRPC__ASSERT_ON_LOOP(c->net->loop);
    if (atomic_load(&c->state) == GENRPC__CLOSED)
        return;
    ev_io_start(c->net->loop->ev, &c->ww);
    arm_send_timer(c);
}

static void
arm_write_cmd(genrpc__cmd *cmd)
{
    genrpc__conn *c = GENRPC__CONTAINER_OF(cmd, genrpc__conn, arm_write_cmd);
    arm_write(c);
    genrpc__conn_unref(c);
}

/* out_mu held. Makes this thread the flusher if it may write now: one
 * thread at a time does (c->flushing), and a loop-only transport (TLS)
 * only on the loop. */
static bool
flush_claim(genrpc__conn *c)
{
    GENRPC__ASSERT_HELD(&c->out_mu);
    genrpc__state s = atomic_load(&c->state);
    if (c->flushing || c->write_wait || s == GENRPC__CLOSED || s == GENRPC__CONNECTING ||
        s == GENRPC__TLS_HANDSHAKE || (c->tp->loop_only && !genrpc__on_loop(c->net->loop)))
        return false;
    c->flushing = true;
    return true;
}

/* Before the flusher lets go: frames borrowing a sender's memory copy what
 * they have left (they are this thread's own; other threads' borrowed
 * frames were copied before they were queued behind a flusher). */
static int
own_borrowed(genrpc__conn *c)
{
    int err = 0;
    GENRPC__LIST_FOREACH_SAFE(l, &c->out_q) {
        genrpc__out *o = OUT_OF(l);
        if (!o->borrowed || genrpc__out_own(o))
            continue;
        /* No memory for the copy: drop the frame (the stream is broken
         * now, the connection closes) rather than keep a dangling one. */
        err = ENOMEM;
        c->queued_bytes -= o->total - o->off;
        genrpc__list_remove(l);
        genrpc__out_free(o);
    }
    return err;
}

/* Entered with out_mu held and c->flushing claimed; returns with both
 * released. Writes what is queued until done or EAGAIN, dropping the lock
 * around the write so other threads can queue meanwhile. `queued_borrowed`:
 * this thread queued a borrowed frame (only a flusher can), to be owned
 * before it lets go if it is not all written. */
static void
flush_claimed(genrpc__conn *c, bool queued_borrowed)
{
    GENRPC__ASSERT_HELD(&c->out_mu);
    bool wait_writable = false;
    int sys_err = 0;
    while (!genrpc__list_empty(&c->out_q) && atomic_load(&c->state) != GENRPC__CLOSED) {
        struct iovec iov[IOV_BATCH];
        int n = 0;
        for (genrpc__list *l = c->out_q.next; l != &c->out_q && n < IOV_BATCH; l = l->next)
            n += genrpc__out_iov(OUT_OF(l), iov + n, IOV_BATCH - n);
        c->in_writev = true;
        pthread_mutex_unlock(&c->out_mu);
        ssize_t w = c->tp->writev(c, iov, n);
        int e = errno;
        pthread_mutex_lock(&c->out_mu);
        c->in_writev = false;
        if (w >= 0) {
            genrpc__count1w(&c->bytes_out, (uint64_t)w);
            consume(c, (size_t)w);
        } else if (w == GENRPC__IO_WANT_WRITE) {
            c->write_wait = wait_writable = true;
            break;
        } else if (w == GENRPC__IO_WANT_READ) { /* loop-only transport: on the loop */
            c->write_wait = c->flush_on_readable = true;
            arm_send_timer(c);
            break;
        } else {
            if (w == GENRPC__IO_ERROR)
                sys_err = e ? e : EIO;
            break; /* GENRPC__IO_CLOSED: the transport is closing c */
        }
    }
    if (atomic_load(&c->state) == GENRPC__CLOSED) {
        free_outs(&c->out_q);
    } else if (queued_borrowed && !genrpc__list_empty(&c->out_q)) {
        int e = own_borrowed(c);
        if (!sys_err)
            sys_err = e;
    }
    c->flushing = false;
    pthread_mutex_unlock(&c->out_mu);

    if (sys_err)
        close_after_write_error(c, sys_err == ENOMEM ? GENRPC_E_NOMEM : GENRPC_E_CLOSED, sys_err);
    else if (wait_writable && genrpc__on_loop(c->net->loop))
        arm_write(c);
    else if (wait_writable) {
        genrpc__conn_ref(c); /* the command's */
        if (!genrpc__loop_post(c->net->loop, &c->arm_write_cmd))
            genrpc__conn_unref(c); /* queued already, with its reference */
    }
}

/* Writes what is queued, from any thread; others just queue meanwhile.
 * A loop-only transport (TLS) is flushed by the loop: other threads hand
 * it the connection (the deferred-flush list). */
void
genrpc__conn_flush(genrpc__conn *c)
{
    if (c->tp->loop_only && !genrpc__on_loop(c->net->loop)) {
        if (atomic_load(&c->state) != GENRPC__CLOSED) /* else nothing to write, ever */
            defer_flush(c);
        return;
    }
    pthread_mutex_lock(&c->out_mu);
    if (!flush_claim(c)) {
        pthread_mutex_unlock(&c->out_mu);
        return;
    }
    flush_claimed(c, false);
}

static void
write_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)revents;
    genrpc__conn *c = w->data;
    genrpc__state s = atomic_load(&c->state);
    if (s == GENRPC__CONNECTING) {
        genrpc__dial_connected(c);
        return;
    }
    if (s == GENRPC__TLS_HANDSHAKE) {
        c->tp->handshake(c);
        return;
    }
    ev_io_stop(loop, &c->ww);
    genrpc__conn_ref(c); /* a failed write closes c here if it cannot post the close */
    bool read_too = c->read_on_writable;
    c->read_on_writable = false;
    pthread_mutex_lock(&c->out_mu);
    bool was_waiting = c->write_wait && !c->flush_on_readable;
    if (was_waiting)
        c->write_wait = false;
    pthread_mutex_unlock(&c->out_mu);
    if (was_waiting) {
        ev_timer_stop(loop, &c->send_timer);
        genrpc__conn_flush(c);
    }
    if (read_too && atomic_load(&c->state) != GENRPC__CLOSED)
        conn_read(c);
    genrpc__conn_unref(c);
}

static void
send_timeout_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    genrpc__conn *c = w->data;
    genrpc__conn_close(c, GENRPC_E_SEND_TIMEOUT, "peer read nothing for %lld ms",
                       (long long)c->net->cfg->send_timeout_ms);
}
