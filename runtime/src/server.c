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

#include "arena.h"
#include "decode.h"
#include "internal.h"

/* ---- handler context ----------------------------------------------------- */

struct genrpc_ctx {
    genrpc_node *node;
    genrpc__conn *conn;
    void *user;
    bool is_cast;
    genrpc__arena *arena;
    bool failed;
    int32_t code;
    char message[GENRPC_MESSAGE_MAX];
};

int
genrpc_fail(genrpc_ctx *ctx, int32_t code, const char *fmt, ...)
{
    va_list ap;
    if (!fmt)
        fmt = "handler failed";
    va_start(ap, fmt);
    vsnprintf(ctx->message, sizeof ctx->message, fmt, ap);
    va_end(ap);
    ctx->failed = true;
    ctx->code = code ? code : -1;
    return ctx->code;
}

void *
genrpc_ctx_alloc(genrpc_ctx *ctx, size_t size)
{
    return genrpc__arena_alloc(ctx->arena, size ? size : 1);
}

void *
genrpc_ctx_user(const genrpc_ctx *ctx)
{
    return ctx->user;
}

genrpc_node *
genrpc_ctx_node(const genrpc_ctx *ctx)
{
    return ctx->node;
}

const char *
genrpc_ctx_caller(const genrpc_ctx *ctx)
{
    return ctx->conn->peer;
}

bool
genrpc_ctx_is_cast(const genrpc_ctx *ctx)
{
    return ctx->is_cast;
}

/* ---- replies ------------------------------------------------------------- */

static void
send_error(genrpc__conn *c, uint64_t req_id, const genrpc_status *st, genrpc__flush how)
{
    genrpc__error_body e = {req_id, (uint16_t)st->err, st->handler_code,
                            {st->message, strlen(st->message)}};
    size_t cap = GENRPC__LEN_PREFIX + 1 + 8 + 2 + 4 + 2 + e.message.len;
    genrpc__out *o = genrpc__out_new(cap);
    if (!o)
        return; /* the caller times out: nothing better to do without memory */
    o->len = genrpc__encode_error(o->data, cap, &e);
    genrpc__conn_send(c, o, how);
}

/* Batch replies while more work is queued (the loop writes them together
 * before it next polls), and always when this thread is the one that polls
 * next (the loop's holder); a worker writes the last reply of a burst at
 * once. */
static genrpc__flush
reply_flush_mode(genrpc_node *node)
{
    return genrpc__polls_next(node) ||
                   atomic_load_explicit(&node->jobs_queued, memory_order_relaxed) > 0
               ? GENRPC__FLUSH_DEFER
               : GENRPC__FLUSH_NOW;
}

/* ---- zero-copy replies ----------------------------------------------------
 * A large byte field of the reply that lives in the call's own memory (the
 * request's payload, decoded in place in its read chunk, or anything the
 * handler allocated from the call's arena) is sent from where it is: the
 * frame becomes a list of segments and takes that memory with it, freeing
 * it once written. Everything else is copied, as usual. */

/* The memory a scattered reply frame keeps alive until written. */
typedef struct call_mem {
    genrpc__arena_block *blocks;
    genrpc__chunk *chunk;
} call_mem;

static void
call_mem_free(void *owner)
{
    call_mem *m = owner;
    genrpc__arena_free_blocks(m->blocks);
    genrpc__chunk_unref(m->chunk);
    free(m);
}

typedef struct call_memory {
    const genrpc__arena *a;
    const genrpc__slice *request;
} call_memory;

/* Borrow test: the request's read chunk or the call's arena. */
static bool
call_owns(void *ctx, const uint8_t *p, size_t len)
{
    const call_memory *m = ctx;
    const genrpc__chunk *ch = m->request->chunk;
    if (ch && p >= ch->data && p + len <= ch->data + ch->cap)
        return true;
    return genrpc__arena_owns(m->a, p, len);
}

/* Returns the scattered frame, or NULL when nothing is worth borrowing (or
 * no memory): the caller then copies as usual. */
static genrpc__out *
scatter_reply(genrpc__job *job, const ProtobufCMessage *reply, size_t size, genrpc__arena *a)
{
    call_memory where = {a, &job->payload};
    size_t hdr = GENRPC__LEN_PREFIX + GENRPC__REPLY_HDR_SIZE;
    genrpc__out *o = genrpc__out_scatter(reply, hdr, size, call_owns, &where);
    call_mem *mem = o ? malloc(sizeof *mem) : NULL;
    if (!mem) {
        if (o)
            genrpc__out_free(o);
        return NULL;
    }
    genrpc__encode_reply_hdr(o->data, hdr, job->req_id, size);
    /* The frame now owns the arena's blocks and a reference to the chunk. */
    mem->blocks = a->blocks;
    a->blocks = NULL;
    mem->chunk = job->payload.chunk;
    if (mem->chunk)
        genrpc__chunk_ref(mem->chunk);
    o->release = call_mem_free;
    o->owner = mem;
    return o;
}

static void
send_reply(genrpc__job *job, const ProtobufCMessage *reply, genrpc__arena *a)
{
    genrpc__conn *c = job->conn;
    genrpc_node *node = c->node;
    size_t size = protobuf_c_message_get_packed_size(reply);
    size_t total = GENRPC__LEN_PREFIX + GENRPC__REPLY_HDR_SIZE + size;
    if (total - GENRPC__LEN_PREFIX > node->cfg.max_frame_size) {
        genrpc_status st;
        genrpc__fail(&st, GENRPC_E_HANDLER, "reply of %zu bytes exceeds max_frame_size %zu",
                     size, node->cfg.max_frame_size);
        send_error(c, job->req_id, &st, reply_flush_mode(node));
        return;
    }
    genrpc__out *o = size >= GENRPC__BORROW_MIN ? scatter_reply(job, reply, size, a) : NULL;
    if (!o) {
        if (!(o = genrpc__out_new(total)))
            return;
        size_t hdr = genrpc__encode_reply_hdr(o->data, total, job->req_id, size);
        protobuf_c_message_pack(reply, o->data + hdr);
    }
    genrpc__conn_send(c, o, reply_flush_mode(node));
}

static void
answer_failure(genrpc__job *job, genrpc_status *st)
{
    if (job->is_cast) {
        atomic_fetch_add(&job->conn->node->casts_dropped, 1);
        genrpc__log(job->conn->node, GENRPC_LOG_DEBUG, "cast from %s dropped: %s",
                    job->conn->peer, st->message);
    } else {
        send_error(job->conn, job->req_id, st, reply_flush_mode(job->conn->node));
    }
}

/* ---- the job: decode, run, encode ---------------------------------------- */

void
genrpc__job_free(genrpc__job *job)
{
    genrpc__slice_release(&job->payload);
    if (job->reg)
        genrpc__reg_unref(job->conn->node, job->reg);
    if (job->handler)
        genrpc__handler_unref(job->conn->node, job->handler);
    genrpc__conn_unref(job->conn);
    free(job);
}

/* Decodes the request into the call's arena, leaving large byte fields in
 * the read chunk (the job holds it until it is done); what the in-place
 * decoder does not handle goes to protobuf-c. NULL if undecodable. */
static ProtobufCMessage *
decode_request(genrpc__job *job, genrpc__arena *a)
{
    const ProtobufCMessageDescriptor *d = job->fn->input;
    ProtobufCAllocator alloc = genrpc__arena_allocator(a);
    ProtobufCMessage *req = NULL;
    if (genrpc__decode_inplace(d, job->payload.data, job->payload.len, &alloc, &req) ==
        GENRPC__DECODE_OK)
        return req;
    return protobuf_c_message_unpack(d, &alloc, job->payload.len, job->payload.data);
}

void
genrpc__server_run_job(genrpc__job *job)
{
    genrpc_node *node = job->conn->node;
    const genrpc_function_desc *fn = job->fn;
    genrpc__arena a;
    GENRPC__ARENA_INIT(&a);
    genrpc_status st;
    genrpc__backlog_started(job->conn);

    ProtobufCMessage *req = decode_request(job, &a);
    ProtobufCMessage *reply = req ? genrpc__arena_alloc(&a, fn->output->sizeof_message) : NULL;
    if (!req || !reply) {
        genrpc__fail(&st, GENRPC_E_BADARGS, "cannot decode the %s request of %s:%s",
                     fn->input->name, job->reg->desc->name, fn->name);
        answer_failure(job, &st);
        goto done;
    }
    protobuf_c_message_init(fn->output, reply);

    genrpc_ctx ctx = {node, job->conn, job->reg->user, job->is_cast, &a, false, 0, ""};
    int rc = fn->invoke(job->reg->impl, req, reply, &ctx);
    atomic_fetch_add_explicit(&node->calls_served, 1, memory_order_relaxed);
    if (rc != 0) {
        genrpc__fail(&st, GENRPC_E_HANDLER, "%s",
                     ctx.failed ? ctx.message : "handler returned an error");
        st.handler_code = ctx.failed ? ctx.code : rc;
        if (job->is_cast)
            genrpc__log(node, GENRPC_LOG_DEBUG, "cast %s:%s failed: %d %s",
                        job->reg->desc->name, fn->name, st.handler_code, st.message);
        else
            send_error(job->conn, job->req_id, &st, reply_flush_mode(node));
    } else if (!job->is_cast) {
        send_reply(job, reply, &a);
    }
done:
    genrpc__arena_release(&a);
    genrpc__job_free(job); /* releases the request's chunk too */
}

/* Runs a connection's casts one after another, in order. */
static void
drain_casts(genrpc__job *drainer)
{
    genrpc__conn *c = drainer->conn;
    for (;;) {
        pthread_mutex_lock(&c->job_mu);
        genrpc__job *j = c->casts_head;
        if (j) {
            c->casts_head = j->next;
            if (!c->casts_head)
                c->casts_tail = NULL;
        } else {
            c->casts_running = false;
        }
        pthread_mutex_unlock(&c->job_mu);
        if (!j)
            break;
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
        genrpc__job *j = c->casts_head;
        c->casts_head = c->casts_tail = NULL;
        c->casts_running = false;
        pthread_mutex_unlock(&c->job_mu);
        while (j) {
            genrpc__job *next = j->next;
            genrpc__job_free(j);
            j = next;
        }
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
    if (c->casts_tail)
        c->casts_tail->next = job;
    else
        c->casts_head = job;
    c->casts_tail = job;
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
        genrpc__log(c->node, GENRPC_LOG_DEBUG, "%s has %d requests waiting: not reading it",
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
        answer_failure(&failed, &st);
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
    genrpc__log(c->node, GENRPC_LOG_DEBUG, "%s from %s dropped: %s", what, c->peer, st->message);
}

/* Worker, in the connection's cast order: decode and run the handler. */
static void
run_bcast(genrpc__job *job)
{
    genrpc__conn *c = job->conn;
    genrpc__handler *h = job->handler;
    genrpc__arena a;
    GENRPC__ARENA_INIT(&a);
    ProtobufCAllocator alloc = genrpc__arena_allocator(&a);
    ProtobufCMessage *msg = NULL;
    if (genrpc__decode_inplace(h->type, job->payload.data, job->payload.len, &alloc, &msg) !=
        GENRPC__DECODE_OK)
        msg = protobuf_c_message_unpack(h->type, &alloc, job->payload.len, job->payload.data);
    if (msg) {
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
    else if (strlen(hd->type->name) != h.type.len ||
             memcmp(hd->type->name, h.type.p, h.type.len) != 0)
        genrpc__fail(&st, GENRPC_E_BADARGS, "handler %s on node %s takes %s, not %.*s", hd->name,
                     node->name, hd->type->name, (int)h.type.len, h.type.p);
    else if (!(job = job_new(c)))
        genrpc__fail(&st, GENRPC_E_OVERLOAD, "node %s is out of memory", node->name);
    if (!job) {
        if (hd)
            genrpc__handler_unref(node, hd);
        bcast_dropped(c, what, &st);
        if (sync)
            send_error(c, h.req_id, &st, GENRPC__FLUSH_DEFER);
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
