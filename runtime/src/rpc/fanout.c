/*
 * fanout.c - many targets at once: the list of connected nodes, multicall
 * and eval everywhere.
 *
 * A multicall is the async call of call.c fanned out: one promise per
 * target, all sent before any is waited for, each with the time left
 * until one shared deadline, then collected in the caller's order. The
 * wait for target i overlaps the others' runs, so the whole fan-out takes
 * about one timeout, not one per target (gen_rpc's N x timeout, S6).
 * Eval everywhere is genrpc_cast per target: casts never wait for a
 * connect, so an unreachable target delays nobody.
 */
#include <stdlib.h>
#include <string.h>

#include "rpc/node.h"
#include "rpc/call.h"
#include "rpc/client.h"
#include "rpc/fanout.h"

/* ---- connected nodes ----------------------------------------------------- */

/* Distinct peer names seen while walking the client map. */
typedef struct name_set {
    const char *self;
    char (*names)[GENRPC__NAME_MAX + 1];
    size_t n, cap;
    size_t bytes; /* sum of strlen + 1 */
    bool oom;
} name_set;

/* Runs under conns_mu (genrpc__clients_each_ready). */
static void
name_set_add(const char *peer, void *arg)
{
    name_set *s = arg;
    if (s->oom || strcmp(peer, s->self) == 0)
        return;
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->names[i], peer) == 0)
            return;
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 8;
        void *names = realloc(s->names, cap * sizeof *s->names);
        if (!names) {
            s->oom = true;
            return;
        }
        s->names = names;
        s->cap = cap;
    }
    strcpy(s->names[s->n++], peer);
    s->bytes += strlen(peer) + 1;
}

static int
collect_nodes(genrpc_node *node, name_set *s, genrpc_status *st)
{
    memset(s, 0, sizeof *s);
    if (!node)
        return genrpc__fail(st, GENRPC_E_INVAL, "node is NULL");
    s->self = node->cfg.name;
    genrpc__clients_each_ready(node, name_set_add, s);
    if (s->oom) {
        free(s->names);
        return genrpc__fail(st, GENRPC_E_NOMEM, "no memory for the node list");
    }
    return GENRPC_OK;
}

/* Copies name to *strings, returns where it went, advances *strings. */
static char *
pack_name(char **strings, const char *name)
{
    char *dst = *strings;
    size_t len = strlen(name) + 1;
    memcpy(dst, name, len);
    *strings += len;
    return dst;
}

int
genrpc_nodes(genrpc_node *node, char ***names, size_t *n, genrpc_status *st)
{
    if (!names || !n)
        return genrpc__fail(st, GENRPC_E_INVAL, "names and n are required");
    *names = NULL;
    *n = 0;
    name_set s;
    int rc = collect_nodes(node, &s, st);
    if (rc != GENRPC_OK)
        return rc;
    /* One block: the NULL-terminated array, then the strings. */
    char **out = malloc((s.n + 1) * sizeof *out + s.bytes);
    if (!out) {
        free(s.names);
        return genrpc__fail(st, GENRPC_E_NOMEM, "no memory for the node list");
    }
    char *strings = (char *)(out + s.n + 1);
    for (size_t i = 0; i < s.n; i++)
        out[i] = pack_name(&strings, s.names[i]);
    out[s.n] = NULL;
    free(s.names);
    *names = out;
    *n = s.n;
    return genrpc__ok(st);
}

void
genrpc_nodes_free(char **names)
{
    free(names);
}

int
genrpc_cluster_targets(genrpc_node *node, genrpc_target **targets, size_t *n, genrpc_status *st)
{
    if (!targets || !n)
        return genrpc__fail(st, GENRPC_E_INVAL, "targets and n are required");
    *targets = NULL;
    *n = 0;
    name_set s;
    int rc = collect_nodes(node, &s, st);
    if (rc != GENRPC_OK)
        return rc;
    size_t count = s.n + 1;
    genrpc_target *out = malloc(count * sizeof *out + strlen(node->cfg.name) + 1 + s.bytes);
    if (!out) {
        free(s.names);
        return genrpc__fail(st, GENRPC_E_NOMEM, "no memory for the target list");
    }
    char *strings = (char *)(out + count);
    out[0] = genrpc_node_target(pack_name(&strings, node->cfg.name));
    for (size_t i = 0; i < s.n; i++)
        out[i + 1] = genrpc_node_target(pack_name(&strings, s.names[i]));
    free(s.names);
    *targets = out;
    *n = count;
    return genrpc__ok(st);
}

void
genrpc_targets_free(genrpc_target *targets)
{
    free(targets);
}

/* ---- shared checks --------------------------------------------------------- */

/* Everything that makes a fan-out a programming error, checked before
 * anything is sent. */
static int
check_fanout(genrpc_node *node, const genrpc_target *targets, size_t n,
             const genrpc_module_desc *module, const genrpc_function_desc *fn,
             const ProtobufCMessage *request, genrpc_status *st)
{
    if (!node || !module || !fn || !request || !module->name || !fn->name)
        return genrpc__fail(st, GENRPC_E_INVAL, "node, module, function and request are required");
    if (request->descriptor != fn->input)
        return genrpc__fail(st, GENRPC_E_INVAL, "request is a %s, %s:%s takes a %s",
                            request->descriptor->name, module->name, fn->name, fn->input->name);
    return genrpc__check_targets(targets, n, st);
}

int
genrpc__check_targets(const genrpc_target *targets, size_t n, genrpc_status *st)
{
    if (n > 0 && !targets)
        return genrpc__fail(st, GENRPC_E_INVAL, "targets is NULL but n is %zu", n);
    for (size_t i = 0; i < n; i++)
        if (!genrpc__target_ok(&targets[i]))
            return genrpc__fail(st, GENRPC_E_INVAL, "target %zu has no node name or a NULL key",
                                i);
    return GENRPC_OK;
}

/* ---- the fan-out loop ------------------------------------------------------ */

int
genrpc__fanout_run(genrpc__fanout *f, genrpc_status *st)
{
    genrpc_promise **promises = calloc(f->n, sizeof *promises);
    if (!promises)
        return genrpc__fail(st, GENRPC_E_NOMEM, "no memory for %zu promises", f->n);
    int64_t deadline = genrpc__deadline_after_ms(f->timeout_ms);
    for (size_t i = 0; i < f->n; i++) {
        genrpc_status s;
        f->send(f, i, genrpc__ms_until(deadline), &promises[i], &s);
        if (!promises[i])
            f->done(f, i, &s, NULL); /* not sent: its outcome is known now */
    }
    /* The wait for target i overlaps the others' runs; each promise's own
     * timeout ends at the shared deadline. */
    for (size_t i = 0; i < f->n; i++) {
        if (!promises[i])
            continue;
        ProtobufCMessage *reply = NULL;
        genrpc_status s;
        if (genrpc_promise_yield(promises[i], f->want_reply ? &reply : NULL, &s) ==
            GENRPC_E_TIMEOUT)
            genrpc__fail(&s, GENRPC_E_TIMEOUT, f->timeout_fmt, f->targets[i].node,
                         (long long)f->timeout_ms);
        f->done(f, i, &s, reply);
        genrpc_promise_free(promises[i]);
    }
    free(promises);
    return GENRPC_OK;
}

/* ---- multicall ------------------------------------------------------------- */

static void
store_generic(void *results, size_t i, const genrpc_status *status, ProtobufCMessage *reply)
{
    genrpc_multicall_result *r = (genrpc_multicall_result *)results + i;
    r->status = *status;
    r->reply = reply;
}

typedef struct multicall {
    genrpc__fanout f;
    const genrpc_module_desc *module;
    const genrpc_function_desc *fn;
    const ProtobufCMessage *request;
    const genrpc_call_opts *opts;
    void *results;
    genrpc_multicall_store_fn store;
} multicall;

static void
multicall_send(genrpc__fanout *f, size_t i, int64_t timeout_ms, genrpc_promise **p,
               genrpc_status *s)
{
    multicall *m = (multicall *)f;
    genrpc_call_opts o = GENRPC_CALL_OPTS_INIT;
    if (m->opts)
        o = *m->opts;
    o.timeout_ms = timeout_ms; /* what is left of the shared deadline */
    o.trailers = NULL;         /* one set cannot hold n answers' trailers */
    genrpc__call_async(f->node, f->targets[i], m->module, m->fn, m->request, &o, true, p, s);
}

static void
multicall_done(genrpc__fanout *f, size_t i, const genrpc_status *s, ProtobufCMessage *reply)
{
    multicall *m = (multicall *)f;
    m->store(m->results, i, s, reply);
}

int
genrpc_multicall_typed(genrpc_node *node, const genrpc_target *targets, size_t n,
                       const genrpc_module_desc *module, const genrpc_function_desc *fn,
                       const ProtobufCMessage *request, const genrpc_call_opts *opts,
                       void *results, genrpc_multicall_store_fn store, genrpc_status *st)
{
    int rc = check_fanout(node, targets, n, module, fn, request, st);
    if (rc != GENRPC_OK)
        return rc;
    if (n > 0 && (!results || !store))
        return genrpc__fail(st, GENRPC_E_INVAL, "results and store are required");
    if (genrpc__on_loop(&node->loop))
        return genrpc__fail(st, GENRPC_E_INVAL,
                            "multicall from the node's event loop (it blocks; use async calls)");
    if (n == 0)
        return genrpc__ok(st);
    multicall m = {
        .f = {.node = node,
              .targets = targets,
              .n = n,
              .timeout_ms = genrpc__call_timeout_ms(node, opts),
              .timeout_fmt = "no reply from %s within the multicall's %lld ms",
              .want_reply = true,
              .send = multicall_send,
              .done = multicall_done},
        .module = module,
        .fn = fn,
        .request = request,
        .opts = opts,
        .results = results,
        .store = store,
    };
    rc = genrpc__fanout_run(&m.f, st);
    return rc == GENRPC_OK ? genrpc__ok(st) : rc;
}

int
genrpc_multicall(genrpc_node *node, const genrpc_target *targets, size_t n,
                 const genrpc_module_desc *module, const genrpc_function_desc *fn,
                 const ProtobufCMessage *request, const genrpc_call_opts *opts,
                 genrpc_multicall_result *results, genrpc_status *st)
{
    return genrpc_multicall_typed(node, targets, n, module, fn, request, opts, results,
                                  store_generic, st);
}

void
genrpc_multicall_free_replies(genrpc_multicall_result *results, size_t n)
{
    for (size_t i = 0; results && i < n; i++) {
        if (results[i].reply)
            protobuf_c_message_free_unpacked(results[i].reply, NULL);
        results[i].reply = NULL;
    }
}

/* ---- eval everywhere ------------------------------------------------------- */

int
genrpc_eval_everywhere(genrpc_node *node, const genrpc_target *targets, size_t n,
                       const genrpc_module_desc *module, const genrpc_function_desc *fn,
                       const ProtobufCMessage *request, const genrpc_call_opts *opts,
                       genrpc_status *st)
{
    int rc = check_fanout(node, targets, n, module, fn, request, st);
    if (rc != GENRPC_OK)
        return rc;
    for (size_t i = 0; i < n; i++) {
        genrpc_status s;
        if (genrpc_cast(node, targets[i], module, fn, request, opts, &s) != GENRPC_OK)
            genrpc__log(&node->cfg, GENRPC_LOG_DEBUG, "eval_everywhere: cast to %s not sent: %s",
                        targets[i].node, s.message);
    }
    return genrpc__ok(st);
}
