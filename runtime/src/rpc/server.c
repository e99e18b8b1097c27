/*
 * server.c - the acceptor role: on the loop, check policy, module, version
 * and function of a request before anything is decoded, and queue a job
 * for a worker (handler.c runs it); backpressure per peer; broadcasts to
 * named handlers.
 *
 * Casts from one connection run one at a time in arrival order (the
 * connection's cast queue is drained by a single job), calls in parallel.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "wire/decode.h"
#include "rpc/node.h"
#include "rpc/events.h"
#include "rpc/policy.h"
#include "rpc/registry.h"
#include "rpc/server.h"

#define SERVER_JOB(j) GENRPC__CONTAINER_OF(j, genrpc__server_job, job)

#define CAST_OF(l) GENRPC__CONTAINER_OF(l, genrpc__server_job, cast_link)

/* Runs a connection's casts one after another, in order. */
static void
drain_casts(genrpc__job *job)
{
    genrpc__server_job *drainer = SERVER_JOB(job);
    genrpc__acceptor *c = genrpc__acceptor_of(drainer->conn);
    for (;;) {
        pthread_mutex_lock(&c->casts_mu);
        genrpc__list *l = genrpc__list_pop_front(&c->casts);
        if (!l)
            c->casts_running = false;
        pthread_mutex_unlock(&c->casts_mu);
        if (!l)
            break;
        genrpc__server_job *j = CAST_OF(l);
        j->job.run(&j->job); /* a cast or a broadcast */
    }
    genrpc__server_job_free(drainer);
}

/* Every server job's discard: frees a job that will never run (node
 * stopping), and for a cast drainer the casts queued behind it too. */
static void
discard_job(genrpc__job *job)
{
    genrpc__server_job *sj = SERVER_JOB(job);
    if (job->run == drain_casts) {
        genrpc__acceptor *c = genrpc__acceptor_of(sj->conn);
        pthread_mutex_lock(&c->casts_mu);
        genrpc__list casts;
        genrpc__list_move(&casts, &c->casts);
        c->casts_running = false;
        pthread_mutex_unlock(&c->casts_mu);
        for (genrpc__list *l; (l = genrpc__list_pop_front(&casts));)
            genrpc__server_job_free(CAST_OF(l));
    }
    genrpc__server_job_free(sj);
}

static genrpc__server_job *
job_new(genrpc__conn *c, void (*run)(genrpc__job *job))
{
    /* malloc, not calloc: glibc's calloc skips the per-thread cache, and a
     * job is one allocation per request (bench/instructions: calloc cost
     * the server 70 instructions per call once the job outgrew the fast
     * bins). */
    genrpc__server_job *job = malloc(sizeof *job);
    if (job) {
        *job = (genrpc__server_job){0};
        genrpc__conn_ref(c);
        job->conn = c;
        job->job.run = run;
        job->job.discard = discard_job;
        job->job.mbox = &genrpc__acceptor_of(c)->mbox;
    }
    return job;
}

static void
queue_cast(genrpc__conn *conn, genrpc__server_job *job)
{
    genrpc__acceptor *c = genrpc__acceptor_of(conn);
    genrpc__server_job *drainer = NULL;
    pthread_mutex_lock(&c->casts_mu);
    genrpc__list_push_back(&c->casts, &job->cast_link);
    if (!c->casts_running) {
        drainer = job_new(conn, drain_casts);
        if (drainer)
            c->casts_running = true;
    }
    pthread_mutex_unlock(&c->casts_mu);
    if (drainer)
        genrpc__runner_submit(&genrpc__node_of(conn)->runner, &drainer->job);
}

/* ---- backpressure ---------------------------------------------------------
 * A peer may have at most BACKLOG_HIGH requests waiting for a worker (calls
 * in its mailbox plus casts in its cast queue). Past that the node stops
 * reading its connection, so TCP pushes back on that peer alone; reading
 * resumes when the backlog is down to BACKLOG_LOW. One peer cannot make the
 * node queue unbounded work (gen_rpc can: CONFORMANCE S13). */

#define BACKLOG_HIGH 1024
#define BACKLOG_LOW 512

/* Loop: one more request queued. */
static void
backlog_queued(genrpc__conn *conn)
{
    GENRPC__ASSERT_ON_LOOP(conn->net->loop);
    genrpc__acceptor *a = genrpc__acceptor_of(conn);
    if (atomic_fetch_add(&a->backlog, 1) + 1 >= BACKLOG_HIGH && !a->read_paused) {
        a->read_paused = true;
        genrpc__conn_pause_reading(conn, true);
        atomic_fetch_add(&genrpc__node_of(conn)->reads_paused, 1);
        genrpc__log(&genrpc__node_of(conn)->cfg, GENRPC_LOG_DEBUG,
                    "%s has %d requests waiting: not reading it", conn->peer, BACKLOG_HIGH);
    }
}

static void
resume_read_cmd(genrpc__cmd *cmd)
{
    genrpc__acceptor *a = GENRPC__CONTAINER_OF(cmd, genrpc__acceptor, resume_read_cmd);
    if (a->read_paused && atomic_load(&a->backlog) < BACKLOG_HIGH) {
        a->read_paused = false;
        genrpc__conn_pause_reading(&a->conn, false);
    }
    genrpc__conn_unref(&a->conn);
}

/* Any thread: a queued request has started running. */
void
genrpc__backlog_started(genrpc__conn *conn)
{
    genrpc__acceptor *a = genrpc__acceptor_of(conn);
    if (atomic_fetch_sub(&a->backlog, 1) - 1 != BACKLOG_LOW)
        return; /* only the thread that crosses the low mark resumes reading */
    genrpc__conn_ref(conn); /* the command's */
    if (!genrpc__loop_post(conn->net->loop, &a->resume_read_cmd))
        genrpc__conn_unref(conn); /* queued already, with its reference */
}

/* A request's deadline on this node's clock: when it arrived plus the time
 * its caller had left (v2; 0: none). The coarse clock: a few ns to read,
 * millisecond resolution, what a millisecond timeout needs. */
static int64_t
request_deadline(uint32_t timeout_ms)
{
    return timeout_ms ? genrpc__coarse_ms() + timeout_ms : 0;
}

/* Loop: a request was read (drain and GOAWAY keep count). */
static void
request_read(genrpc__conn *c, uint64_t req_id)
{
    genrpc__acceptor *a = genrpc__acceptor_of(c);
    a->n_requests++;
    if (req_id > a->max_req_id)
        a->max_req_id = req_id;
}

/* Loop: the job's payload and headers, in the read chunk (inline: every
 * request's path), or decompressed into a chunk of their own (false: the
 * frame is bad, close). */
static bool server_payload_compressed(genrpc__conn *c, genrpc__str metadata,
                                      const uint8_t *payload, size_t len, genrpc__server_job *job);

static inline __attribute__((always_inline)) bool
server_payload(genrpc__conn *c, genrpc__chunk *chunk, uint8_t flags, genrpc__str metadata,
               const uint8_t *payload, size_t len, genrpc__server_job *job)
{
    if (__builtin_expect(flags & GENRPC__F_COMPRESSED, 0))
        return server_payload_compressed(c, metadata, payload, len, job);
    genrpc__chunk_ref(chunk);
    job->payload = (genrpc__slice){chunk, payload, len};
    job->metadata = metadata;
    return true;
}

static bool
server_payload_compressed(genrpc__conn *c, genrpc__str metadata, const uint8_t *payload,
                          size_t len, genrpc__server_job *job)
{
    genrpc__chunk *plain;
    size_t plain_len;
    if (!genrpc__decompress(payload, len, c->net->cfg->max_frame_size,
                            (const uint8_t *)metadata.p, metadata.len, &plain, &plain_len))
        return false;
    job->payload = (genrpc__slice){plain, plain->data + metadata.len, plain_len};
    job->metadata = (genrpc__str){(const char *)plain->data, metadata.len};
    return true;
}

/* On the loop: a CALL or CAST frame from an authenticated peer. */
static void
on_request(genrpc__conn *c, genrpc__chunk *chunk, const uint8_t *body, size_t len)
{
    genrpc_node *node = genrpc__node_of(c);
    genrpc__request_hdr h;
    if (!genrpc__decode_request(c->proto, body, len, &h) ||
        ((h.flags & GENRPC__F_COMPRESSED) && !c->zstd)) {
        atomic_fetch_add(&node->net.protocol_errors, 1);
        genrpc__conn_close(c, GENRPC_E_PROTOCOL, "malformed request");
        return;
    }
    bool is_cast = body[0] == GENRPC__K_CAST;
    genrpc__reg *reg = NULL;
    const genrpc_function_desc *fn = NULL;
    genrpc_status st;
    genrpc__server_job *job = NULL;
    if (genrpc__resolve(node, &h, &reg, &fn, &st) == GENRPC_OK &&
        !(job = job_new(c, genrpc__server_run_job))) {
        genrpc__reg_unref(node, reg);
        genrpc__fail(&st, GENRPC_E_OVERLOAD, "node %s is out of memory", node->cfg.name);
    }
    if (!job) {
        genrpc__server_job failed = {.conn = c, .req_id = h.req_id, .is_cast = is_cast};
        genrpc__answer_failure(&failed, &st);
        return;
    }
    job->reg = reg;
    if (!server_payload(c, chunk, h.flags, h.metadata, h.payload, h.payload_len, job)) {
        genrpc__server_job_free(job); /* its reference to reg too */
        atomic_fetch_add(&node->net.protocol_errors, 1);
        genrpc__conn_close(c, GENRPC_E_PROTOCOL, "compressed payload does not decompress within "
                                                 "max_frame_size");
        return;
    }
    job->fn = fn;
    job->req_id = h.req_id;
    job->deadline_ms = request_deadline(h.timeout_ms);
    job->is_cast = is_cast;
    request_read(c, h.req_id);
    backlog_queued(c);
    if (is_cast)
        queue_cast(c, job);
    else
        genrpc__runner_submit(&node->runner, &job->job);
}

/* ---- broadcasts to named handlers ------------------------------------------
 * ABCAST and SBCAST are checked on the loop (policy entry
 * GENRPC_BROADCAST_MODULE, then the name, then the type), answered at once
 * for SBCAST (REPLY with no payload: the name exists and took the message;
 * ERROR: why not), and run on the connection's cast queue, so that a
 * connection's casts and broadcasts keep their order. A refused broadcast
 * is dropped and counted; the connection stays up (gen_rpc drops it, S14). */

static void
bcast_dropped(genrpc__conn *c, const char *what, const genrpc_status *st)
{
    atomic_fetch_add(&genrpc__node_of(c)->broadcasts_dropped, 1);
    genrpc__log(&genrpc__node_of(c)->cfg, GENRPC_LOG_DEBUG, "%s from %s dropped: %s", what, c->peer, st->message);
}

/* Worker, in the connection's cast order: decode and run the handler. */
static void
run_bcast(genrpc__job *base)
{
    genrpc__server_job *job = SERVER_JOB(base);
    genrpc__conn *c = job->conn;
    genrpc__handler *h = job->handler;
    genrpc__arena a;
    GENRPC__ARENA_INIT(&a);
    ProtobufCMessage *msg = NULL;
    if (job->deadline_ms && genrpc__coarse_ms() >= job->deadline_ms) {
        genrpc_status st;
        genrpc__fail(&st, GENRPC_E_TIMEOUT, "its deadline passed before it could run");
        atomic_fetch_add(&genrpc__node_of(c)->expired_requests, 1);
        bcast_dropped(c, "broadcast", &st);
    } else if (genrpc__decode_borrowed(h->type, job->payload.data, job->payload.len, &a, &msg)) {
        genrpc__handler_invoke(h, genrpc__node_of(c), c->peer, msg);
    } else {
        genrpc_status st;
        genrpc__fail(&st, GENRPC_E_BADARGS, "cannot decode the %s for handler %s", h->type->name,
                     h->name);
        bcast_dropped(c, "broadcast", &st);
    }
    genrpc__arena_release(&a);
    genrpc__server_job_free(job);
}

static void
on_bcast(genrpc__conn *c, genrpc__chunk *chunk, const uint8_t *body, size_t len)
{
    genrpc_node *node = genrpc__node_of(c);
    genrpc__bcast_hdr h;
    if (!genrpc__decode_bcast(c->proto, body, len, &h) ||
        ((h.flags & GENRPC__F_COMPRESSED) && !c->zstd)) {
        atomic_fetch_add(&node->net.protocol_errors, 1);
        genrpc__conn_close(c, GENRPC_E_PROTOCOL, "malformed broadcast");
        return;
    }
    bool sync = body[0] == GENRPC__K_SBCAST;
    const char *what = sync ? "sbcast" : "abcast";
    request_read(c, h.req_id);
    genrpc_status st;
    genrpc__handler *hd = NULL;
    genrpc__server_job *job = NULL;
    if (!genrpc__policy_allows(node->cfg.module_control, node->cfg.module_list,
                               node->cfg.n_module_list, GENRPC_BROADCAST_MODULE,
                               strlen(GENRPC_BROADCAST_MODULE)))
        genrpc__fail(&st, GENRPC_E_UNAUTHORIZED, "broadcasts (%s) are not allowed on node %s",
                     GENRPC_BROADCAST_MODULE, node->cfg.name);
    else if (!(hd = genrpc__handler_find(node, h.name)))
        genrpc__fail(&st, GENRPC_E_UNDEF, "no handler named %.*s on node %s", (int)h.name.len,
                     h.name.p, node->cfg.name);
    else if (!genrpc__str_eq(h.type, hd->type->name))
        genrpc__fail(&st, GENRPC_E_BADARGS, "handler %s on node %s takes %s, not %.*s", hd->name,
                     node->cfg.name, hd->type->name, (int)h.type.len, h.type.p);
    else if (!(job = job_new(c, run_bcast)))
        genrpc__fail(&st, GENRPC_E_OVERLOAD, "node %s is out of memory", node->cfg.name);
    if (!job) {
        if (hd)
            genrpc__handler_unref(node, hd);
        bcast_dropped(c, what, &st);
        if (sync)
            genrpc__send_error(c, h.req_id, &st, GENRPC__FLUSH_DEFER);
        return;
    }
    job->handler = hd;
    if (!server_payload(c, chunk, h.flags, h.metadata, h.payload, h.payload_len, job)) {
        genrpc__server_job_free(job);
        atomic_fetch_add(&node->net.protocol_errors, 1);
        genrpc__conn_close(c, GENRPC_E_PROTOCOL, "compressed payload does not decompress within "
                                                 "max_frame_size");
        return;
    }
    job->req_id = h.req_id;
    job->deadline_ms = request_deadline(h.timeout_ms);
    job->is_cast = true;
    if (sync) {
        size_t n = GENRPC__LEN_PREFIX + genrpc__reply_hdr_size(c->proto, 0);
        genrpc__out *o = genrpc__out_new(n);
        genrpc__reply_body r = {.proto = c->proto, .req_id = h.req_id};
        if (o) {
            o->len = genrpc__encode_reply_hdr(o->data, n, &r);
            genrpc__conn_send(c, o, GENRPC__FLUSH_DEFER);
        }
    }
    queue_cast(c, job);
}

/* ---- cancellation -----------------------------------------------------------
 * A v2 CANCEL names a request its caller gave up on. The server keeps no
 * index of its requests (that would cost every call a lock and a hash
 * insert); it remembers the cancelled ids instead, in a ring per
 * connection that is looked at only while it is not empty: a worker
 * about to run a request checks its id (a cancelled one is dropped, not
 * run, and not answered: the caller has stopped waiting), a running
 * handler's genrpc_ctx_cancelled checks it, and a finished request takes
 * its id out. An id whose request had already finished when the CANCEL
 * came stays until the ring wraps: the ring holds the last
 * GENRPC__CANCELLED_MAX ids cancelled. */

static void
on_cancel(genrpc__conn *c, const uint8_t *body, size_t len)
{
    genrpc__acceptor *a = genrpc__acceptor_of(c);
    uint64_t id;
    if (!genrpc__decode_cancel(body, len, &id)) {
        atomic_fetch_add(&c->net->protocol_errors, 1);
        genrpc__conn_close(c, GENRPC_E_PROTOCOL, "malformed CANCEL");
        return;
    }
    pthread_mutex_lock(&a->cancel_mu);
    if (!a->cancelled)
        a->cancelled = calloc(GENRPC__CANCELLED_MAX, sizeof *a->cancelled);
    if (a->cancelled) {
        unsigned slot = a->cancelled_next++ % GENRPC__CANCELLED_MAX;
        if (a->cancelled[slot] == 0)
            atomic_fetch_add(&a->n_cancelled, 1);
        a->cancelled[slot] = id ? id : UINT64_MAX; /* 0 marks a free slot */
    }
    pthread_mutex_unlock(&a->cancel_mu);
}

bool
genrpc__request_cancelled_slow(genrpc__conn *c, uint64_t req_id, bool forget)
{
    genrpc__acceptor *a = genrpc__acceptor_of(c);
    uint64_t key = req_id ? req_id : UINT64_MAX;
    bool found = false;
    pthread_mutex_lock(&a->cancel_mu);
    for (unsigned i = 0; a->cancelled && i < GENRPC__CANCELLED_MAX && !found; i++) {
        if (a->cancelled[i] != key)
            continue;
        found = true;
        if (forget) {
            a->cancelled[i] = 0;
            atomic_fetch_sub(&a->n_cancelled, 1);
        }
    }
    pthread_mutex_unlock(&a->cancel_mu);
    return found;
}

static void
acceptor_frame(genrpc__conn *c, genrpc__chunk *chunk, const uint8_t *body, size_t len)
{
    GENRPC__ASSERT_ON_LOOP(c->net->loop);
    if (body[0] == GENRPC__K_CALL || body[0] == GENRPC__K_CAST) {
        on_request(c, chunk, body, len);
        return;
    }
    if (body[0] == GENRPC__K_ABCAST || body[0] == GENRPC__K_SBCAST) {
        on_bcast(c, chunk, body, len);
        return;
    }
    if (body[0] == GENRPC__K_CANCEL && c->proto >= 2) {
        on_cancel(c, body, len);
        return;
    }
    atomic_fetch_add(&c->net->protocol_errors, 1);
    genrpc__conn_close(c, GENRPC_E_PROTOCOL, "unexpected frame kind 0x%02x", body[0]);
}

/* ---- GOAWAY and drain --------------------------------------------------------- */

/* Loop: a GOAWAY to a version-2 client (version 1 has none). */
static void
send_goaway(genrpc__conn *c, uint64_t last, uint8_t reason, const char *text)
{
    if (c->proto < 2 || atomic_load(&c->state) != GENRPC__READY)
        return;
    genrpc__goaway g = {last, reason, {text, strlen(text)}};
    genrpc__out *o = genrpc__out_new(GENRPC__GOAWAY_FRAME_MAX);
    if (!o)
        return; /* the close that follows is the message */
    o->len = o->total = genrpc__encode_goaway(o->data, GENRPC__GOAWAY_FRAME_MAX, &g);
    genrpc__conn_send(c, o, GENRPC__FLUSH_NOW);
}

/* Acceptors of net, each with a reference (conns_mu is not held while
 * they are closed: closing takes it). *n: how many; NULL if none or no
 * memory. */
static genrpc__conn **
acceptors_held(genrpc__net *net, size_t *n)
{
    pthread_mutex_lock(&net->conns_mu);
    size_t count = 0;
    GENRPC__LIST_FOREACH(l, &net->acceptors) count++;
    genrpc__conn **all = count ? malloc(count * sizeof *all) : NULL;
    *n = 0;
    GENRPC__LIST_FOREACH(l, &net->acceptors) {
        if (!all)
            break;
        genrpc__conn *c = GENRPC__CONTAINER_OF(l, genrpc__conn, list_link);
        genrpc__conn_ref(c);
        all[(*n)++] = c;
    }
    pthread_mutex_unlock(&net->conns_mu);
    return all;
}

/* Loop: nothing queued, running or unsent on a, and no request since the
 * last tick. The loop, the list and the tick hold a reference each; any
 * other is a job, a command or a flush in progress. */
static bool
acceptor_quiet(genrpc__acceptor *a)
{
    genrpc__conn *c = &a->conn;
    bool quiet = atomic_load(&c->refs) <= 3 && atomic_load(&a->backlog) == 0 &&
                 a->n_requests == a->drain_seen && genrpc__conn_queued_bytes(c) == 0;
    a->drain_seen = a->n_requests;
    return quiet;
}

int
genrpc__server_drain_tick(genrpc__net *net)
{
    GENRPC__ASSERT_ON_LOOP(net->loop);
    size_t n;
    genrpc__conn **all = acceptors_held(net, &n);
    for (size_t i = 0; i < n; i++) {
        genrpc__conn *c = all[i];
        genrpc__acceptor *a = genrpc__acceptor_of(c);
        if (atomic_load(&c->state) != GENRPC__READY) {
            genrpc__conn_unref(c); /* a handshake: its HELLO gets REJECT draining */
            continue;
        }
        if (!a->goaway_sent) {
            a->goaway_sent = true;
            send_goaway(c, GENRPC__GOAWAY_ALL, GENRPC__GOAWAY_DRAINING, "node is draining");
        }
        a->quiet_ticks = acceptor_quiet(a) ? a->quiet_ticks + 1 : 0;
        if (a->quiet_ticks >= GENRPC__DRAIN_QUIET_TICKS) {
            send_goaway(c, a->max_req_id, GENRPC__GOAWAY_DRAINING, "node is draining");
            genrpc__conn_close(c, GENRPC_E_CLOSED, "node %s is draining: all served",
                               net->cfg->name);
        }
        genrpc__conn_unref(c);
    }
    free(all);
    return atomic_load(&net->n_acceptors);
}

void
genrpc__server_goaway_all(genrpc__net *net, uint8_t reason, const char *text)
{
    GENRPC__ASSERT_ON_LOOP(net->loop);
    size_t n;
    genrpc__conn **all = acceptors_held(net, &n);
    for (size_t i = 0; i < n; i++) {
        send_goaway(all[i], genrpc__acceptor_of(all[i])->max_req_id, reason, text);
        genrpc__conn_unref(all[i]);
    }
    free(all);
}

/* ---- the role ------------------------------------------------------------ */

static void
acceptor_init(genrpc__conn *c)
{
    genrpc__acceptor *a = genrpc__acceptor_of(c);
    pthread_mutex_init(&a->casts_mu, NULL);
    pthread_mutex_init(&a->cancel_mu, NULL);
    genrpc__list_init(&a->casts);
    genrpc__cmd_init(&a->resume_read_cmd, resume_read_cmd);
    genrpc__mailbox_init(&a->mbox);
}

static void
acceptor_closed(genrpc__conn *c, int err, bool was_ready)
{
    (void)err; /* requests queued or running finish; their replies are dropped */
    if (was_ready)
        genrpc__events_conn_down(c);
}

/* An acceptor is referenced by the loop and the acceptor list; every queued
 * or running request holds one more (so do transient users such as the
 * deferred-flush list: at worst the idle close waits one more round). */
static bool
acceptor_busy(genrpc__conn *c)
{
    return atomic_load(&c->refs) > 2;
}

static void
acceptor_destroy(genrpc__conn *c)
{
    genrpc__acceptor *a = genrpc__acceptor_of(c);
    pthread_mutex_destroy(&a->casts_mu);
    pthread_mutex_destroy(&a->cancel_mu);
    free(a->cancelled);
}

/* Ready (node-up accounting); during a drain, told at once to go away. */
static void
acceptor_ready(genrpc__conn *c)
{
    genrpc__events_conn_up(c);
    if (atomic_load(&c->net->draining)) {
        genrpc__acceptor_of(c)->goaway_sent = true;
        send_goaway(c, GENRPC__GOAWAY_ALL, GENRPC__GOAWAY_DRAINING, "node is draining");
    }
}

/* An idle acceptor about to be closed (server_inactivity_timeout): a
 * version-2 client learns which of its requests were read. */
static void
acceptor_closing_idle(genrpc__conn *c)
{
    send_goaway(c, genrpc__acceptor_of(c)->max_req_id, GENRPC__GOAWAY_IDLE, "idle");
}

const genrpc__conn_role genrpc__acceptor_role = {
    .init = acceptor_init,
    .frame = acceptor_frame,
    .ready = acceptor_ready,
    .closing_idle = acceptor_closing_idle,
    .closed = acceptor_closed,
    .busy = acceptor_busy,
    .destroy = acceptor_destroy,
};
