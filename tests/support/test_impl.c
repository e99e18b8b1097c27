/*
 * tests/support/test_impl.c - handlers for the modules of tests/proto/test.proto.
 * Each stands in for an Erlang function gen_rpc's suites call; see
 * ../../shared/CONFORMANCE.md.
 */
#include "test_impl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "calls.genrpc.h"
#include "calls.pb-c.h"
#include "test.genrpc.h"
#include "test.pb-c.h"

static genrpc_test_state *state_of(genrpc_ctx *ctx) {
    return (genrpc_test_state *)genrpc_ctx_user(ctx);
}

static int64_t now_unix_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void sleep_ms(uint32_t ms) {
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* Copies s into the call's arena so the reply may point to it. */
static char *ctx_strdup(genrpc_ctx *ctx, const char *s) {
    size_t n = strlen(s) + 1;
    char *out = genrpc_ctx_alloc(ctx, n);
    if (out != NULL)
        memcpy(out, s, n);
    return out;
}

/* ---- test.Test ---------------------------------------------------------- */

static int test_ping(const Test__PingRequest *req, Test__PingReply *reply, genrpc_ctx *ctx) {
    reply->text = ctx_strdup(ctx, req->text);
    return reply->text != NULL ? 0 : genrpc_fail(ctx, 12, "out of memory");
}

static int test_echo(const Test__EchoRequest *req, Test__EchoReply *reply, genrpc_ctx *ctx) {
    if (req->payload.len == 0)
        return 0;
    uint8_t *data = genrpc_ctx_alloc(ctx, req->payload.len);
    if (data == NULL)
        return genrpc_fail(ctx, 12, "out of memory");
    memcpy(data, req->payload.data, req->payload.len);
    reply->payload.data = data;
    reply->payload.len = req->payload.len;
    return 0;
}

static int test_sleep(const Test__SleepRequest *req, Test__SleepReply *reply, genrpc_ctx *ctx) {
    (void)ctx;
    sleep_ms(req->ms);
    reply->value = req->value;
    return 0;
}

static int test_fail(const Test__FailRequest *req, Test__Empty *reply, genrpc_ctx *ctx) {
    (void)reply;
    return genrpc_fail(ctx, req->code, "%s", req->message);
}

static int test_app_error(const Test__AppErrorRequest *req, Test__AppErrorReply *reply,
                          genrpc_ctx *ctx) {
    reply->error = ctx_strdup(ctx, req->error);
    return reply->error != NULL ? 0 : genrpc_fail(ctx, 12, "out of memory");
}

static int test_stub(const Test__Empty *req, Test__StubReply *reply, genrpc_ctx *ctx) {
    (void)req;
    (void)ctx;
    reply->name = (char *)"stub_function";
    return 0;
}

static int test_timestamp(const Test__Empty *req, Test__TimestampReply *reply, genrpc_ctx *ctx) {
    (void)req;
    (void)ctx;
    reply->unix_us = now_unix_us();
    return 0;
}

static int test_count(const Test__CountRequest *req, Test__Empty *reply, genrpc_ctx *ctx) {
    (void)reply;
    genrpc_test_state *st = state_of(ctx);
    pthread_mutex_lock(&st->lock);
    st->count++;
    if (st->n_seqs < GENRPC_TEST_COUNT_LOG_MAX)
        st->seqs[st->n_seqs++] = req->seq;
    pthread_mutex_unlock(&st->lock);
    return 0;
}

static int test_read_count(const Test__Empty *req, Test__CountReply *reply, genrpc_ctx *ctx) {
    (void)req;
    genrpc_test_state *st = state_of(ctx);
    pthread_mutex_lock(&st->lock);
    reply->count = st->count;
    reply->n_seqs = st->n_seqs;
    reply->seqs = genrpc_ctx_alloc(ctx, (st->n_seqs ? st->n_seqs : 1) * sizeof(uint64_t));
    if (reply->seqs != NULL && st->n_seqs > 0)
        memcpy(reply->seqs, st->seqs, st->n_seqs * sizeof(uint64_t));
    pthread_mutex_unlock(&st->lock);
    if (reply->seqs == NULL) {
        reply->n_seqs = 0;
        return genrpc_fail(ctx, 12, "out of memory");
    }
    return 0;
}

static int test_secret(const Test__Empty *req, Test__Empty *reply, genrpc_ctx *ctx) {
    (void)req;
    (void)reply;
    genrpc_test_state *st = state_of(ctx);
    pthread_mutex_lock(&st->lock);
    st->secret_runs++;
    pthread_mutex_unlock(&st->lock);
    return 0;
}

static const Test__Test__Impl test_impl = {
    .ping = test_ping,
    .echo = test_echo,
    .sleep = test_sleep,
    .fail = test_fail,
    .app_error = test_app_error,
    .stub = test_stub,
    .timestamp = test_timestamp,
    .count = test_count,
    .read_count = test_read_count,
    .unimplemented = NULL, /* deliberately: callers get GENRPC_E_UNDEF */
    .secret = test_secret,
};

/* ---- test.NodeInfo ------------------------------------------------------ */

static int node_info_name(const Test__Empty *req, Test__NameReply *reply, genrpc_ctx *ctx) {
    (void)req;
    reply->name = ctx_strdup(ctx, genrpc_node_name(genrpc_ctx_node(ctx)));
    return reply->name != NULL ? 0 : genrpc_fail(ctx, 12, "out of memory");
}

static int node_info_counters(const Test__Empty *req, Test__NodeCounters *reply,
                              genrpc_ctx *ctx) {
    (void)req;
    genrpc_node_info info;
    memset(&info, 0, sizeof info);
    genrpc_node_get_info(genrpc_ctx_node(ctx), &info);
    reply->clients = info.clients;
    reply->acceptors = info.acceptors;
    reply->calls_served = info.calls_served;
    reply->casts_dropped = info.casts_dropped;
    reply->late_replies = info.late_replies;
    reply->auth_failures = info.auth_failures;
    reply->protocol_errors = info.protocol_errors;
    reply->broadcasts_dropped = info.broadcasts_dropped;
    return 0;
}

/* A copy of the state's list *lines / *n (under st->lock) in the call's
 * arena, for a repeated string of the reply. */
static int copy_lines(genrpc_ctx *ctx, char **const *lines, const size_t *n, char ***out,
                      size_t *n_out) {
    genrpc_test_state *st = state_of(ctx);
    pthread_mutex_lock(&st->lock);
    size_t count = *n;
    char **copy = count ? genrpc_ctx_alloc(ctx, count * sizeof *copy) : NULL;
    for (size_t i = 0; copy && i < count; i++)
        copy[i] = ctx_strdup(ctx, (*lines)[i]);
    pthread_mutex_unlock(&st->lock);
    if (count && copy == NULL)
        return genrpc_fail(ctx, 12, "out of memory");
    *out = copy;
    *n_out = count;
    return 0;
}

static int node_info_notes(const Test__Empty *req, Test__NotesReply *reply, genrpc_ctx *ctx) {
    (void)req;
    genrpc_test_state *st = state_of(ctx);
    return copy_lines(ctx, &st->notes, &st->n_notes, &reply->notes, &reply->n_notes);
}

static const Test__NodeInfo__Impl node_info_impl = {
    .name = node_info_name,
    .counters = node_info_counters,
    .notes = node_info_notes,
};

/* ---- named handlers ----------------------------------------------------- */

typedef struct note_handler {
    genrpc_test_state *st;
    char name[256];
} note_handler;

static void on_note(genrpc_node *node, const char *from, const Test__Note *msg, void *user) {
    (void)node;
    note_handler *h = user;
    size_t len = strlen(h->name) + strlen(from) + strlen(msg->text) + 3;
    char *line = malloc(len);
    if (line == NULL)
        return;
    snprintf(line, len, "%s %s %s", h->name, from, msg->text);
    pthread_mutex_lock(&h->st->lock);
    char **notes = realloc(h->st->notes, (h->st->n_notes + 1) * sizeof *notes);
    if (notes != NULL) {
        h->st->notes = notes;
        notes[h->st->n_notes++] = line;
        line = NULL;
    }
    pthread_mutex_unlock(&h->st->lock);
    free(line);
}

int
genrpc_test_register_handler(genrpc_node *node, const char *name, genrpc_test_state *st) {
    if (strlen(name) >= sizeof ((note_handler *)0)->name)
        return GENRPC_E_INVAL;
    pthread_mutex_lock(&st->lock);
    note_handler *h = calloc(1, sizeof *h);
    void **hs = h ? realloc(st->handlers, (st->n_handlers + 1) * sizeof *hs) : NULL;
    if (hs != NULL) {
        st->handlers = hs;
        hs[st->n_handlers++] = h;
    }
    pthread_mutex_unlock(&st->lock);
    if (hs == NULL) {
        free(h);
        return GENRPC_E_NOMEM;
    }
    h->st = st;
    strcpy(h->name, name);
    return test__note__register_handler(node, name, on_note, h);
}

/* ---- test.Clock --------------------------------------------------------- */

static int clock_now(const Test__Empty *req, Test__TimestampReply *reply, genrpc_ctx *ctx) {
    return test_timestamp(req, reply, ctx);
}

static const Test__Clock__Impl clock_impl = {.now = clock_now};

/* ---- test.Versioned v1 and v2 ------------------------------------------- */

static int versioned_v1_which(const Test__Empty *req, Test__VersionReply *reply,
                              genrpc_ctx *ctx) {
    (void)req;
    (void)ctx;
    reply->version = 1;
    return 0;
}

static int versioned_v2_which(const Test__Empty *req, Test__VersionReply *reply,
                              genrpc_ctx *ctx) {
    (void)req;
    (void)ctx;
    reply->version = 2;
    return 0;
}

static const Test__VersionedV1__Impl versioned_v1_impl = {.which = versioned_v1_which};
static const Test__VersionedV2__Impl versioned_v2_impl = {.which = versioned_v2_which};

/* ---- state and registration --------------------------------------------- */

int
genrpc_test_state_init(genrpc_test_state *st) {
    memset(st, 0, sizeof *st);
    st->seqs = calloc(GENRPC_TEST_COUNT_LOG_MAX, sizeof(uint64_t));
    if (st->seqs == NULL)
        return -1;
    pthread_mutex_init(&st->lock, NULL);
    return 0;
}

/* ---- calls.Calls: deadlines, cancellation, drain ------------------------ */

static void log_line(genrpc_test_state *st, const char *what, const char *tag) {
    char line[300];
    snprintf(line, sizeof line, "%s %s", what, tag ? tag : "");
    pthread_mutex_lock(&st->lock);
    char **log = realloc(st->log, (st->n_log + 1) * sizeof *log);
    if (log != NULL) {
        st->log = log;
        st->log[st->n_log] = strdup(line);
        if (st->log[st->n_log] != NULL)
            st->n_log++;
    }
    pthread_mutex_unlock(&st->lock);
}

static int calls_deadline(const Calls__Probe *req, Calls__Seen *reply, genrpc_ctx *ctx) {
    int64_t left = genrpc_ctx_remaining_ms(ctx);
    reply->has_deadline = left != GENRPC_INFINITY;
    reply->remaining_ms = reply->has_deadline ? left : 0;
    log_line(state_of(ctx), "deadline", req->tag);
    if (req->via[0] == '\0')
        return 0;
    /* A nested call: inherits what is left of this request's deadline. */
    genrpc_call_opts opts = GENRPC_CALL_OPTS_INIT;
    opts.timeout_ms = req->via_timeout_ms;
    Calls__Probe probe = CALLS__PROBE__INIT;
    probe.tag = (char *)"nested";
    Calls__Seen *seen = NULL;
    genrpc_status st;
    reply->nested_err = calls__calls__deadline_call(genrpc_ctx_node(ctx),
                                                    genrpc_node_target(req->via), &probe, &seen,
                                                    &opts, &st);
    if (seen != NULL) {
        reply->nested_has_deadline = seen->has_deadline;
        reply->nested_remaining_ms = seen->remaining_ms;
        calls__seen__free_unpacked(seen, NULL);
    }
    return 0;
}

static int calls_watch(const Calls__Probe *req, Calls__Seen *reply, genrpc_ctx *ctx) {
    int64_t left = genrpc_ctx_remaining_ms(ctx);
    reply->has_deadline = left != GENRPC_INFINITY;
    reply->remaining_ms = reply->has_deadline ? left : 0;
    uint32_t ran = 0;
    while (ran < req->work_ms && !genrpc_ctx_cancelled(ctx)) {
        sleep_ms(5);
        ran += 5;
    }
    reply->cancelled = ran < req->work_ms;
    reply->ran_ms = ran;
    log_line(state_of(ctx), reply->cancelled ? "watch-cancelled" : "watch-done", req->tag);
    return 0;
}

static int calls_read_log(const Calls__Nothing *req, Calls__Log *reply, genrpc_ctx *ctx) {
    (void)req;
    genrpc_test_state *st = state_of(ctx);
    return copy_lines(ctx, &st->log, &st->n_log, &reply->lines, &reply->n_lines);
}

/* The metadata md as "key=value" strings in the call's arena. */
static int md_lines(genrpc_ctx *ctx, const genrpc_metadata *md, char ***out, size_t *n) {
    *n = genrpc_metadata_count(md);
    *out = genrpc_ctx_alloc(ctx, (*n ? *n : 1) * sizeof **out);
    for (size_t i = 0; i < *n; i++) {
        char key[GENRPC_METADATA_KEY_MAX + 1];
        const void *v;
        size_t len;
        genrpc_metadata_at(md, i, key, &v, &len);
        size_t kl = strlen(key);
        char *line = genrpc_ctx_alloc(ctx, kl + 1 + len + 1);
        memcpy(line, key, kl);
        line[kl] = '=';
        memcpy(line + kl + 1, v, len);
        line[kl + 1 + len] = '\0';
        (*out)[i] = line;
    }
    return 0;
}

static int calls_meta(const Calls__Probe *req, Calls__Seen *reply, genrpc_ctx *ctx) {
    const genrpc_metadata *h = genrpc_ctx_headers(ctx);
    md_lines(ctx, h, &reply->headers, &reply->n_headers);
    for (size_t i = 0; i < genrpc_metadata_count(h); i++) {
        char key[GENRPC_METADATA_KEY_MAX + 1], echo[GENRPC_METADATA_KEY_MAX + 8];
        const void *v;
        size_t len;
        genrpc_metadata_at(h, i, key, &v, &len);
        snprintf(echo, sizeof echo, "echo-%s", key);
        genrpc_ctx_add_trailer(ctx, echo, v, len);
    }
    genrpc_ctx_add_trailer(ctx, "handled-by", genrpc_node_name(genrpc_ctx_node(ctx)),
                           strlen(genrpc_node_name(genrpc_ctx_node(ctx))));
    reply->blob = req->blob;
    if (req->via[0] != '\0') {
        genrpc_call_opts opts = GENRPC_CALL_OPTS_INIT;
        Calls__Probe probe = CALLS__PROBE__INIT;
        probe.tag = (char *)"nested";
        Calls__Seen *seen = NULL;
        genrpc_status st;
        reply->nested_err = calls__calls__meta_call(genrpc_ctx_node(ctx),
                                                    genrpc_node_target(req->via), &probe, &seen,
                                                    &opts, &st);
        if (seen != NULL) {
            reply->nested_headers = genrpc_ctx_alloc(ctx, (seen->n_headers + 1) * sizeof(char *));
            for (size_t i = 0; i < seen->n_headers; i++)
                reply->nested_headers[i] = ctx_strdup(ctx, seen->headers[i]);
            reply->n_nested_headers = seen->n_headers;
            calls__seen__free_unpacked(seen, NULL);
        }
    }
    if (req->fail)
        return genrpc_fail(ctx, 7, "failed on purpose");
    return 0;
}

static const Calls__Calls__Impl calls_impl = {
    .deadline = calls_deadline,
    .watch = calls_watch,
    .read_log = calls_read_log,
    .meta = calls_meta,
};

/* ---- interceptors (docs/calls.md, "Interceptors": the two examples) ------ */

/* A bearer-token check: a request without "authorization: Bearer <token>"
 * is refused with UNAUTHORIZED before its handler runs. */
static int check_token(void *arg, const genrpc_call_info *info, genrpc_metadata *trailers,
                       genrpc_status *st) {
    (void)info;
    (void)trailers;
    const char *token = arg;
    const void *v;
    size_t len;
    char want[300];
    snprintf(want, sizeof want, "Bearer %s", token);
    if (genrpc_metadata_get(info->headers, "authorization", &v, &len) && len == strlen(want) &&
        memcmp(v, want, len) == 0)
        return GENRPC_OK;
    snprintf(st->message, sizeof st->message, "missing or wrong bearer token");
    return GENRPC_E_UNAUTHORIZED;
}

int
genrpc_test_add_token_check(genrpc_node *node, const char *token) {
    genrpc_interceptor i = {.before = check_token, .arg = (void *)token};
    return genrpc_node_add_server_interceptor(node, &i);
}

/* A trace id that follows a call through nested calls: the server chain
 * keeps the request's "trace-id" for the worker thread running it, the
 * client chain adds it to every call that thread makes. */
static __thread char tl_trace[65];

static int trace_in(void *arg, const genrpc_call_info *info, genrpc_metadata *trailers,
                    genrpc_status *st) {
    (void)arg;
    (void)trailers;
    (void)st;
    const void *v;
    size_t len;
    tl_trace[0] = '\0';
    if (genrpc_metadata_get(info->headers, "trace-id", &v, &len) && len < sizeof tl_trace) {
        memcpy(tl_trace, v, len);
        tl_trace[len] = '\0';
    }
    return GENRPC_OK;
}

static void trace_done(void *arg, const genrpc_call_info *info, const genrpc_status *st,
                       int64_t latency_ns) {
    (void)arg;
    (void)info;
    (void)st;
    (void)latency_ns;
    tl_trace[0] = '\0';
}

static int trace_out(void *arg, const genrpc_call_info *info, genrpc_metadata *headers,
                     genrpc_status *st) {
    (void)arg;
    (void)st;
    if (tl_trace[0] && !genrpc_metadata_get(info->headers, "trace-id", NULL, NULL))
        return genrpc_metadata_add_str(headers, "trace-id", tl_trace);
    return GENRPC_OK;
}

int
genrpc_test_add_tracing(genrpc_node *node) {
    genrpc_interceptor in = {.before = trace_in, .after = trace_done};
    genrpc_interceptor out = {.before = trace_out};
    int err = genrpc_node_add_server_interceptor(node, &in);
    return err == GENRPC_OK ? genrpc_node_add_client_interceptor(node, &out) : err;
}

void
genrpc_test_state_destroy(genrpc_test_state *st) {
    for (size_t i = 0; i < st->n_log; i++)
        free(st->log[i]);
    free(st->log);
    for (size_t i = 0; i < st->n_notes; i++)
        free(st->notes[i]);
    free(st->notes);
    for (size_t i = 0; i < st->n_handlers; i++)
        free(st->handlers[i]);
    free(st->handlers);
    pthread_mutex_destroy(&st->lock);
    free(st->seqs);
    st->seqs = NULL;
}

int
genrpc_test_register_all(genrpc_node *node, genrpc_test_state *st) {
    int err;
    if ((err = test__test__register(node, &test_impl, st)) != GENRPC_OK)
        return err;
    if ((err = test__node_info__register(node, &node_info_impl, st)) != GENRPC_OK)
        return err;
    if ((err = test__clock__register(node, &clock_impl, st)) != GENRPC_OK)
        return err;
    if ((err = test__versioned_v1__register(node, &versioned_v1_impl, st)) != GENRPC_OK)
        return err;
    if ((err = calls__calls__register(node, &calls_impl, st)) != GENRPC_OK)
        return err;
    return test__versioned_v2__register(node, &versioned_v2_impl, st);
}
