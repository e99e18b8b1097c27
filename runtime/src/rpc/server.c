/*
 * server.c - the acceptor's side of a call: on the loop, check policy,
 * module, version and function before anything is decoded and queue a job;
 * on a worker, decode into a per-call arena, run the handler, encode the
 * reply straight into its outgoing frame.
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
#include "internal.h"


#define CAST_OF(l) GENRPC__CONTAINER_OF(l, genrpc__job, cast_link)

/* Runs a connection's casts one after another, in order. */
static void
drain_casts(genrpc__job *drainer)
{
    genrpc__conn *c = drainer->conn;
    for (;;) {
        pthread_mutex_lock(&c->job_mu);
        genrpc__list *l = genrpc__list_pop_front(&c->casts);
        if (!l)
            c->casts_running = false;
        pthread_mutex_unlock(&c->job_mu);
        if (!l)
            break;
        genrpc__job *j = CAST_OF(l);
        if (j->run)
            j->run(j); /* a broadcast */
        else
            genrpc__server_run_job(j);
    }
    genrpc__job_free(drainer);
}

void
genrpc__job_discard(genrpc__job *job)
{
    if (job->run == drain_casts) {
        genrpc__conn *c = job->conn;
        pthread_mutex_lock(&c->job_mu);
        genrpc__list casts;
        genrpc__list_move(&casts, &c->casts);
        c->casts_running = false;
        pthread_mutex_unlock(&c->job_mu);
        for (genrpc__list *l; (l = genrpc__list_pop_front(&casts));)
            genrpc__job_free(CAST_OF(l));
    }
    genrpc__job_free(job);
}

static genrpc__job *
job_new(genrpc__conn *c)
{
    genrpc__job *job = calloc(1, sizeof *job);
    if (job) {
        genrpc__conn_ref(c);
        job->conn = c;
    }
    return job;
}

static void
queue_cast(genrpc__conn *c, genrpc__job *job)
{
    genrpc__job *drainer = NULL;
    pthread_mutex_lock(&c->job_mu);
    genrpc__list_push_back(&c->casts, &job->cast_link);
    if (!c->casts_running) {
        drainer = job_new(c);
        if (drainer) {
            drainer->run = drain_casts;
            c->casts_running = true;
        }
    }
    pthread_mutex_unlock(&c->job_mu);
    if (drainer)
        genrpc__job_submit(c->node, drainer);
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
void
genrpc__backlog_queued(genrpc__conn *c)
{
    if (atomic_fetch_add(&c->backlog, 1) + 1 >= BACKLOG_HIGH && !c->read_paused) {
        c->read_paused = true;
        ev_io_stop(c->node->loop, &c->rw);
        atomic_fetch_add(&c->node->reads_paused, 1);
        genrpc__log(&c->node->cfg, GENRPC_LOG_DEBUG, "%s has %d requests waiting: not reading it",
                    c->peer, BACKLOG_HIGH);
    }
}

static void
resume_read_cmd(genrpc_node *node, void *arg)
{
    genrpc__conn *c = arg;
    if (c->read_paused && atomic_load(&c->state) != GENRPC__CLOSED &&
        atomic_load(&c->backlog) < BACKLOG_HIGH) {
        c->read_paused = false;
        ev_io_start(node->loop, &c->rw);
    }
    genrpc__conn_unref(c);
}

/* Any thread: a queued request has started running. */
void
genrpc__backlog_started(genrpc__conn *c)
{
    if (atomic_fetch_sub(&c->backlog, 1) - 1 != BACKLOG_LOW)
        return; /* only the thread that crosses the low mark resumes reading */
    genrpc__conn_ref(c);
    if (genrpc__loop_post(c->node, resume_read_cmd, c) != GENRPC_OK)
        genrpc__conn_unref(c);
}

/* On the loop: a CALL or CAST frame from an authenticated peer. */
static void
on_request(genrpc__conn *c, genrpc__chunk *chunk, const uint8_t *body, size_t len)
{
    genrpc_node *node = c->node;
    genrpc__request_hdr h;
    if (!genrpc__decode_request(body, len, &h)) {
        atomic_fetch_add(&node->protocol_errors, 1);
        genrpc__conn_close(c, GENRPC_E_PROTOCOL, "malformed request");
        return;
    }
    bool is_cast = body[0] == GENRPC__K_CAST;
    genrpc__reg *reg = NULL;
    const genrpc_function_desc *fn = NULL;
    genrpc_status st;
    genrpc__job *job = NULL;
    if (genrpc__resolve(node, &h, &reg, &fn, &st) == GENRPC_OK && !(job = job_new(c))) {
        genrpc__reg_unref(node, reg);
        genrpc__fail(&st, GENRPC_E_OVERLOAD, "node %s is out of memory", node->name);
    }
    if (!job) {
        genrpc__job failed = {.conn = c, .req_id = h.req_id, .is_cast = is_cast};
        genrpc__answer_failure(&failed, &st);
        return;
    }
    genrpc__chunk_ref(chunk);
    job->payload = (genrpc__slice){chunk, h.payload, h.payload_len};
    job->reg = reg;
    job->fn = fn;
    job->req_id = h.req_id;
    job->is_cast = is_cast;
    genrpc__backlog_queued(c);
    if (is_cast)
        queue_cast(c, job);
    else
        genrpc__job_submit(node, job);
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
    atomic_fetch_add(&c->node->broadcasts_dropped, 1);
    genrpc__log(&c->node->cfg, GENRPC_LOG_DEBUG, "%s from %s dropped: %s", what, c->peer, st->message);
}

/* Worker, in the connection's cast order: decode and run the handler. */
static void
run_bcast(genrpc__job *job)
{
    genrpc__conn *c = job->conn;
    genrpc__handler *h = job->handler;
    genrpc__arena a;
    GENRPC__ARENA_INIT(&a);
    ProtobufCMessage *msg = NULL;
    if (genrpc__decode_borrowed(h->type, job->payload.data, job->payload.len, &a, &msg)) {
        genrpc__handler_invoke(h, c->node, c->peer, msg);
    } else {
        genrpc_status st;
        genrpc__fail(&st, GENRPC_E_BADARGS, "cannot decode the %s for handler %s", h->type->name,
                     h->name);
        bcast_dropped(c, "broadcast", &st);
    }
    genrpc__arena_release(&a);
    genrpc__job_free(job);
}

static void
on_bcast(genrpc__conn *c, genrpc__chunk *chunk, const uint8_t *body, size_t len)
{
    genrpc_node *node = c->node;
    genrpc__bcast_hdr h;
    if (!genrpc__decode_bcast(body, len, &h)) {
        atomic_fetch_add(&node->protocol_errors, 1);
        genrpc__conn_close(c, GENRPC_E_PROTOCOL, "malformed broadcast");
        return;
    }
    bool sync = body[0] == GENRPC__K_SBCAST;
    const char *what = sync ? "sbcast" : "abcast";
    genrpc_status st;
    genrpc__handler *hd = NULL;
    genrpc__job *job = NULL;
    if (!genrpc__policy_allows(node->cfg.module_control, node->cfg.module_list,
                               node->cfg.n_module_list, GENRPC_BROADCAST_MODULE,
                               strlen(GENRPC_BROADCAST_MODULE)))
        genrpc__fail(&st, GENRPC_E_UNAUTHORIZED, "broadcasts (%s) are not allowed on node %s",
                     GENRPC_BROADCAST_MODULE, node->name);
    else if (!(hd = genrpc__handler_find(node, h.name)))
        genrpc__fail(&st, GENRPC_E_UNDEF, "no handler named %.*s on node %s", (int)h.name.len,
                     h.name.p, node->name);
    else if (!genrpc__str_eq(h.type, hd->type->name))
        genrpc__fail(&st, GENRPC_E_BADARGS, "handler %s on node %s takes %s, not %.*s", hd->name,
                     node->name, hd->type->name, (int)h.type.len, h.type.p);
    else if (!(job = job_new(c)))
        genrpc__fail(&st, GENRPC_E_OVERLOAD, "node %s is out of memory", node->name);
    if (!job) {
        if (hd)
            genrpc__handler_unref(node, hd);
        bcast_dropped(c, what, &st);
        if (sync)
            genrpc__send_error(c, h.req_id, &st, GENRPC__FLUSH_DEFER);
        return;
    }
    genrpc__chunk_ref(chunk);
    job->payload = (genrpc__slice){chunk, h.payload, h.payload_len};
    job->handler = hd;
    job->req_id = h.req_id;
    job->is_cast = true;
    job->run = run_bcast;
    if (sync) {
        genrpc__out *o = genrpc__out_new(GENRPC__LEN_PREFIX + GENRPC__REPLY_HDR_SIZE);
        if (o) {
            o->len = genrpc__encode_reply_hdr(o->data, GENRPC__LEN_PREFIX + GENRPC__REPLY_HDR_SIZE,
                                              h.req_id, 0);
            genrpc__conn_send(c, o, GENRPC__FLUSH_DEFER);
        }
    }
    queue_cast(c, job);
}

void
genrpc__server_frame(genrpc__conn *c, genrpc__chunk *chunk, const uint8_t *body, size_t len)
{
    if (body[0] == GENRPC__K_CALL || body[0] == GENRPC__K_CAST) {
        on_request(c, chunk, body, len);
        return;
    }
    if (body[0] == GENRPC__K_ABCAST || body[0] == GENRPC__K_SBCAST) {
        on_bcast(c, chunk, body, len);
        return;
    }
    atomic_fetch_add(&c->node->protocol_errors, 1);
    genrpc__conn_close(c, GENRPC_E_PROTOCOL, "unexpected frame kind 0x%02x", body[0]);
}
