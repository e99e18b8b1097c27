/*
 * intercept.c - interceptor chains (call.h, "interceptors"): registration,
 * and running a chain's hooks around a call (call.c, promise.c, callback.c
 * on the client side; handler.c on the server side).
 */
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/status.h"
#include "rpc/node.h"
#include "rpc/intercept.h"

static int
add(genrpc__icpt_chain *chain, const genrpc_interceptor *icpt)
{
    if (!icpt || (!icpt->before && !icpt->after))
        return GENRPC_E_INVAL;
    if (chain->n == GENRPC_INTERCEPTORS_MAX)
        return GENRPC_E_TOO_BIG;
    chain->v[chain->n] = *icpt;
    /* published last: a chain is read without a lock */
    __atomic_store_n(&chain->n, chain->n + 1, __ATOMIC_RELEASE);
    return GENRPC_OK;
}

int
genrpc_node_add_client_interceptor(genrpc_node *node, const genrpc_interceptor *icpt)
{
    return node ? add(&node->client_icpt, icpt) : GENRPC_E_INVAL;
}

int
genrpc_node_add_server_interceptor(genrpc_node *node, const genrpc_interceptor *icpt)
{
    return node ? add(&node->server_icpt, icpt) : GENRPC_E_INVAL;
}

/* Runs `before` hooks until one refuses; ic->ran counts those that ran. */
static int
run_before(genrpc__icpt_call *ic, int n, genrpc_metadata *md, genrpc_status *st)
{
    ic->start_ns = genrpc__now_ns();
    for (ic->ran = 0; ic->ran < n; ic->ran++) {
        const genrpc_interceptor *h = &ic->chain->v[ic->ran];
        if (!h->before)
            continue;
        genrpc_status mine = {0};
        int rc = h->before(h->arg, &ic->info, md, &mine);
        if (rc != GENRPC_OK) {
            ic->ran++; /* this one is told the outcome too */
            return genrpc__fail(st, rc, "refused by an interceptor: %s",
                                mine.message[0] ? mine.message : genrpc_strerror(rc));
        }
    }
    return GENRPC_OK;
}

static void
run_after(genrpc__icpt_call *ic, const genrpc_status *st)
{
    int64_t latency = genrpc__now_ns() - ic->start_ns;
    for (int i = ic->ran - 1; i >= 0; i--) {
        const genrpc_interceptor *h = &ic->chain->v[i];
        if (h->after)
            h->after(h->arg, &ic->info, st, latency);
    }
}

static char *
copy_name(char **at, const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = memcpy(*at, s, n);
    *at += n;
    return p;
}

int
genrpc__icpt_client_start(genrpc_node *node, const char *peer, const char *module,
                          const char *function, bool is_cast, int64_t timeout_ms,
                          const genrpc_call_opts **opts, genrpc_call_opts *copy,
                          genrpc__icpt_call **icp, genrpc_status *st)
{
    *icp = NULL;
    if (!peer || !module || !function)
        return GENRPC_OK; /* the call itself reports the bad argument */
    int n = __atomic_load_n(&node->client_icpt.n, __ATOMIC_ACQUIRE);
    size_t names = strlen(peer) + strlen(module) + strlen(function) + 3;
    genrpc__icpt_call *ic = calloc(1, sizeof *ic + names);
    if (!ic)
        return genrpc__fail(st, GENRPC_E_NOMEM, "no memory for the interceptors");
    char *at = ic->names;
    const genrpc_call_opts *o = *opts;
    ic->chain = &node->client_icpt;
    ic->info = (genrpc_call_info){.node = node,
                                  .peer = copy_name(&at, peer),
                                  .module = copy_name(&at, module),
                                  .function = copy_name(&at, function),
                                  .version = o && o->version != GENRPC_ANY_VERSION ? o->version : 0,
                                  .is_cast = is_cast,
                                  .deadline = timeout_ms,
                                  .headers = o ? o->headers : NULL};
    int rc = o && o->headers ? genrpc_metadata_append(&ic->headers, o->headers) : GENRPC_OK;
    if (rc != GENRPC_OK) {
        genrpc__md_release(&ic->headers);
        free(ic);
        return genrpc__fail(st, rc, "cannot copy the call's headers");
    }
    if ((rc = run_before(ic, n, &ic->headers, st)) != GENRPC_OK) {
        genrpc__icpt_end(ic, st);
        return rc;
    }
    if (o)
        *copy = *o;
    else
        *copy = (genrpc_call_opts)GENRPC_CALL_OPTS_INIT;
    copy->headers = &ic->headers;
    *opts = copy;
    *icp = ic;
    return GENRPC_OK;
}

int
genrpc__icpt_client_fn(genrpc_node *node, genrpc_target target, const genrpc_module_desc *module,
                       const genrpc_function_desc *fn, bool is_cast, int64_t timeout_ms,
                       const genrpc_call_opts **opts, genrpc_call_opts *copy,
                       genrpc__icpt_call **ic, genrpc_status *st)
{
    *ic = NULL;
    if (!module || !fn || !module->name || !fn->name)
        return GENRPC_OK;
    return genrpc__icpt_client_start(node, target.node, module->name, fn->name, is_cast,
                                     timeout_ms, opts, copy, ic, st);
}

void
genrpc__icpt_end(genrpc__icpt_call *ic, const genrpc_status *st)
{
    if (!ic)
        return;
    run_after(ic, st);
    genrpc__md_release(&ic->headers);
    free(ic);
}

int
genrpc__icpt_server_before(genrpc__icpt_call *ic, genrpc_metadata *trailers, genrpc_status *st)
{
    int n = __atomic_load_n(&ic->chain->n, __ATOMIC_ACQUIRE);
    int rc = run_before(ic, n, trailers, st);
    if (rc == GENRPC_OK)
        return GENRPC_OK;
    if (genrpc_err_class_of(rc) != GENRPC_CLASS_BADRPC || rc == GENRPC_E_DISCOVERY ||
        rc == GENRPC_E_TIMEOUT)
        st->err = GENRPC_E_UNAUTHORIZED; /* what may travel in an ERROR */
    return st->err;
}

void
genrpc__icpt_server_after(genrpc__icpt_call *ic, const genrpc_status *st)
{
    run_after(ic, st);
}
