/*
 * handler.c - running a request on a worker: the handler's context
 * (genrpc_ctx_*), decoding into a per-call arena, invoking the handler,
 * encoding the reply straight into its outgoing frame (large byte fields
 * of the call's own memory sent without a copy).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "wire/decode.h"
#include "rpc/node.h"
#include "rpc/registry.h"
#include "rpc/server.h"

/* ---- handler context ----------------------------------------------------- */

struct genrpc_ctx {
    genrpc_node *node;
    genrpc__conn *conn;
    void *user;
    bool is_cast;
    genrpc__arena *arena;
    uint64_t req_id;
    int64_t deadline_ms; /* coarse monotonic ms; 0: none */
    bool failed;
    int32_t code;
    genrpc_metadata headers;  /* a view of the request's (v2) */
    genrpc_metadata trailers; /* owned; added by the handler and server interceptors */
    char message[GENRPC_MESSAGE_MAX];
};

__thread int64_t genrpc__tl_deadline_ms __attribute__((tls_model("initial-exec")));

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

int64_t
genrpc_ctx_deadline(const genrpc_ctx *ctx)
{
    return ctx->deadline_ms ? ctx->deadline_ms : GENRPC_NO_DEADLINE;
}

int64_t
genrpc_ctx_remaining_ms(const genrpc_ctx *ctx)
{
    if (!ctx->deadline_ms)
        return GENRPC_INFINITY;
    int64_t left = ctx->deadline_ms - genrpc__coarse_ms();
    return left > 0 ? left : 0;
}

bool
genrpc_ctx_deadline_passed(const genrpc_ctx *ctx)
{
    return ctx->deadline_ms && genrpc__coarse_ms() >= ctx->deadline_ms;
}

const genrpc_metadata *
genrpc_ctx_headers(const genrpc_ctx *ctx)
{
    return &ctx->headers;
}

int
genrpc_ctx_add_trailer(genrpc_ctx *ctx, const char *key, const void *value, size_t len)
{
    return ctx ? genrpc_metadata_add(&ctx->trailers, key, value, len) : GENRPC_E_INVAL;
}

/* Reasons to stop, cheapest first. A cast has no caller waiting, so only
 * its deadline and the node stopping count. */
bool
genrpc_ctx_cancelled(const genrpc_ctx *ctx)
{
    genrpc__conn *c = ctx->conn;
    return genrpc_ctx_deadline_passed(ctx) || atomic_load(&c->net->stopping) ||
           (!ctx->is_cast && (atomic_load(&c->state) == GENRPC__CLOSED ||
                              genrpc__request_cancelled(c, ctx->req_id, false)));
}

/* ---- replies ------------------------------------------------------------- */

void
genrpc__send_error(genrpc__conn *c, uint64_t req_id, const genrpc_status *st, genrpc__flush how)
{
    genrpc__send_error_md(c, req_id, st, how, (genrpc__str){0});
}

void
genrpc__send_error_md(genrpc__conn *c, uint64_t req_id, const genrpc_status *st,
                      genrpc__flush how, genrpc__str trailers)
{
    /* version 1 has no trailers: the sizes and the encoder leave them out */
    genrpc__error_body e = {.proto = c->proto,
                            .req_id = req_id,
                            .err = (uint16_t)st->err,
                            .handler_code = st->handler_code,
                            .message = {st->message, strlen(st->message)},
                            .flags = trailers.len ? GENRPC__F_METADATA : 0,
                            .metadata = trailers};
    size_t cap = genrpc__error_frame_size(c->proto, e.message.len, trailers.len);
    genrpc__out *o = genrpc__out_new(cap);
    if (!o)
        return; /* the caller times out: nothing better to do without memory */
    o->len = genrpc__encode_error(o->data, cap, &e);
    genrpc__count(&genrpc__acceptor_of(c)->errors, 1);
    genrpc__conn_send(c, o, how);
}

/* Batch replies while more work is queued (the loop writes them together
 * before it next polls), and always when this thread is the one that polls
 * next (the loop's holder); a worker writes the last reply of a burst at
 * once. */
static genrpc__flush
reply_flush_mode(genrpc_node *node)
{
    return genrpc__polls_next(&node->runner) || genrpc__runner_jobs_queued(&node->runner) > 0
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
scatter_reply(genrpc__server_job *job, const ProtobufCMessage *reply, size_t size, genrpc__arena *a,
              genrpc__str md)
{
    call_memory where = {a, &job->payload};
    uint8_t proto = job->conn->proto;
    size_t hdr = GENRPC__LEN_PREFIX + genrpc__reply_hdr_size(proto, md.len);
    genrpc__out *o = genrpc__out_scatter(reply, hdr, size, call_owns, &where);
    call_mem *mem = o ? malloc(sizeof *mem) : NULL;
    if (!mem) {
        if (o)
            genrpc__out_free(o);
        return NULL;
    }
    genrpc__reply_body r = {.proto = proto,
                            .req_id = job->req_id,
                            .flags = md.len ? GENRPC__F_METADATA : 0,
                            .metadata = md,
                            .payload_len = size};
    genrpc__encode_reply_hdr(o->data, hdr, &r);
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
send_reply(genrpc__server_job *job, const ProtobufCMessage *reply, genrpc__arena *a,
           genrpc__str md)
{
    genrpc__conn *c = job->conn;
    genrpc_node *node = genrpc__node_of(c);
    size_t size = protobuf_c_message_get_packed_size(reply);
    /* version 1 has no trailers: reply_hdr_size and the encoder leave them out */
    genrpc__reply_body r = {.proto = c->proto,
                            .req_id = job->req_id,
                            .flags = md.len ? GENRPC__F_METADATA : 0,
                            .metadata = md,
                            .payload_len = size};
    size_t total = GENRPC__LEN_PREFIX + genrpc__reply_hdr_size(r.proto, md.len) + size;
    if (total - GENRPC__LEN_PREFIX > node->cfg.max_frame_size) {
        genrpc_status st;
        genrpc__fail(&st, GENRPC_E_HANDLER, "reply of %zu bytes exceeds max_frame_size %zu",
                     size, node->cfg.max_frame_size);
        genrpc__send_error_md(c, job->req_id, &st, reply_flush_mode(node), md);
        return;
    }
    genrpc__out *o = size >= GENRPC__BORROW_MIN ? scatter_reply(job, reply, size, a, md) : NULL;
    if (!o) {
        if (!(o = genrpc__out_new(total)))
            return;
        size_t hdr = genrpc__encode_reply_hdr(o->data, total, &r);
        protobuf_c_message_pack(reply, o->data + hdr);
    }
    genrpc__conn_send(c, genrpc__maybe_compress(c, o), reply_flush_mode(node));
}

void
genrpc__answer_failure(genrpc__server_job *job, genrpc_status *st)
{
    if (job->is_cast) {
        atomic_fetch_add(&genrpc__node_of(job->conn)->casts_dropped, 1);
        genrpc__log(&genrpc__node_of(job->conn)->cfg, GENRPC_LOG_DEBUG, "cast from %s dropped: %s",
                    job->conn->peer, st->message);
    } else {
        genrpc__send_error(job->conn, job->req_id, st, reply_flush_mode(genrpc__node_of(job->conn)));
    }
}

/* ---- the job: decode, run, encode ---------------------------------------- */

void
genrpc__server_job_free(genrpc__server_job *job)
{
    genrpc__slice_release(&job->payload);
    if (job->reg)
        genrpc__reg_unref(genrpc__node_of(job->conn), job->reg);
    if (job->handler)
        genrpc__handler_unref(genrpc__node_of(job->conn), job->handler);
    genrpc__conn_unref(job->conn);
    free(job);
}

/* A worker picked the request up: is it still worth running? Not once its
 * deadline has passed (a call is answered TIMEOUT, a cast dropped) or its
 * caller cancelled it (dropped: nobody waits for the answer). Both are
 * counted. GENRPC_OK, or why not (TIMEOUT, CANCELLED). */
static int
job_still_wanted(genrpc__server_job *job)
{
    genrpc_node *node = genrpc__node_of(job->conn);
    /* the runner's own clock reading when it has one: CLOCK_MONOTONIC,
     * ahead of the coarse clock the deadline was set by (by up to a tick):
     * taken back by that much, a request is never dropped before its time */
    int64_t now_ms = genrpc__tl_job_started_ns
                         ? genrpc__tl_job_started_ns / 1000000 - GENRPC__COARSE_LAG_MS
                         : genrpc__coarse_ms();
    if (job->deadline_ms && now_ms >= job->deadline_ms) {
        genrpc_status st;
        genrpc__fail(&st, GENRPC_E_TIMEOUT, "its deadline passed before node %s could run it",
                     node->cfg.name);
        atomic_fetch_add_explicit(&node->expired_requests, 1, memory_order_relaxed);
        genrpc__answer_failure(job, &st);
        return GENRPC_E_TIMEOUT;
    }
    if (!job->is_cast && genrpc__request_cancelled(job->conn, job->req_id, false)) {
        atomic_fetch_add_explicit(&node->cancelled_requests, 1, memory_order_relaxed);
        return GENRPC_E_CANCELLED;
    }
    return GENRPC_OK;
}

/* Server chain (not empty): the `before` hooks; false if one refused
 * (answered). */
static bool
icpt_before(genrpc__server_job *job, genrpc_ctx *ctx, genrpc__icpt_call *ic)
{
    genrpc_node *node = ctx->node;
    *ic = (genrpc__icpt_call){.chain = &node->server_icpt,
                              .info = {.node = node,
                                       .peer = job->conn->peer,
                                       .module = job->reg->desc->name,
                                       .version = job->reg->desc->version,
                                       .function = job->fn->name,
                                       .is_cast = job->is_cast,
                                       .is_server = true,
                                       .deadline = genrpc_ctx_deadline(ctx),
                                       .headers = &ctx->headers}};
    genrpc_status st;
    if (genrpc__icpt_server_before(ic, &ctx->trailers, &st) == GENRPC_OK)
        return true;
    if (job->is_cast)
        genrpc__answer_failure(job, &st);
    else
        genrpc__send_error_md(job->conn, job->req_id, &st, reply_flush_mode(node),
                              genrpc__md_block(&ctx->trailers));
    genrpc__icpt_server_after(ic, &st);
    return false;
}

void
genrpc__server_run_job(genrpc__job *base)
{
    genrpc__server_job *job = GENRPC__CONTAINER_OF(base, genrpc__server_job, job);
    genrpc_node *node = genrpc__node_of(job->conn);
    const genrpc_function_desc *fn = job->fn;
    genrpc__arena a;
    GENRPC__ARENA_INIT(&a);
    genrpc_status st;
    genrpc_ctx ctx; /* by field: an initialiser would zero all of message[] */
    ctx.trailers = (genrpc_metadata){0};
    genrpc__icpt_call ic;
    bool icpt = false;
    genrpc__backlog_started(job->conn);
    uint64_t t0 = genrpc__ticks(); /* statistics (rpc/stats.h): one instruction */
    bool ran = false;
    int err = job_still_wanted(job);
    if (err != GENRPC_OK)
        goto done;
    ran = true;

    ctx.node = node;
    ctx.conn = job->conn;
    ctx.user = job->reg->user;
    ctx.is_cast = job->is_cast;
    ctx.arena = &a;
    ctx.req_id = job->req_id;
    ctx.deadline_ms = job->deadline_ms;
    ctx.failed = false;
    ctx.code = 0;
    ctx.headers = genrpc__md_view(job->metadata);
    ctx.message[0] = '\0';
    if (GENRPC__ICPT_ON(node, server_icpt)) {
        if (!icpt_before(job, &ctx, &ic)) {
            ran = false; /* refused by an interceptor: counted as not run */
            goto done;
        }
        icpt = true;
    }

    /* Large byte fields stay in the read chunk (the job holds it until it
     * is done). req NULL: undecodable. */
    ProtobufCMessage *req = NULL;
    genrpc__decode_borrowed(fn->input, job->payload.data, job->payload.len, &a, &req);
    ProtobufCMessage *reply = req ? genrpc__arena_alloc(&a, fn->output->sizeof_message) : NULL;
    if (!req || !reply) {
        genrpc__fail(&st, GENRPC_E_BADARGS, "cannot decode the %s request of %s:%s",
                     fn->input->name, job->reg->desc->name, fn->name);
        genrpc__answer_failure(job, &st);
        err = GENRPC_E_BADARGS;
        goto done_icpt;
    }
    protobuf_c_message_init(fn->output, reply);

    int64_t outer = genrpc__tl_deadline_ms;
    genrpc__tl_deadline_ms = job->deadline_ms; /* calls the handler makes inherit it */
    int rc = fn->invoke(job->reg->impl, req, reply, &ctx);
    genrpc__tl_deadline_ms = outer;
    atomic_fetch_add_explicit(&node->calls_served, 1, memory_order_relaxed);
    genrpc__str md = genrpc__md_block(&ctx.trailers);
    if (rc != 0) {
        err = GENRPC_E_HANDLER;
        genrpc__fail(&st, GENRPC_E_HANDLER, "%s",
                     ctx.failed ? ctx.message : "handler returned an error");
        st.handler_code = ctx.failed ? ctx.code : rc;
        if (job->is_cast)
            genrpc__log(&node->cfg, GENRPC_LOG_DEBUG, "cast %s:%s failed: %d %s",
                        job->reg->desc->name, fn->name, st.handler_code, st.message);
        else
            genrpc__send_error_md(job->conn, job->req_id, &st, reply_flush_mode(node), md);
    } else {
        if (icpt)
            genrpc__ok(&st);
        if (!job->is_cast)
            send_reply(job, reply, &a, md);
    }
done_icpt:
    if (icpt)
        genrpc__icpt_server_after(&ic, &st);
done:
    genrpc__fn_stats_record(&job->reg->fn_stats[fn - job->reg->desc->functions], err, ran,
                            genrpc__ticks() - t0);
    if (ctx.trailers.cap)
        genrpc__md_release(&ctx.trailers);
    genrpc__arena_release(&a);
    if (!job->is_cast)
        genrpc__request_cancelled(job->conn, job->req_id, true); /* forget its CANCEL, if any */
    genrpc__server_job_free(job); /* releases the request's chunk too */
}
