/*
 * reflection.c - the built-in module genrpc.Reflection (IDL:
 * idl/genrpc/reflection.proto; docs/reflection.md): List names every
 * module a peer could call, with its versions and functions; Describe
 * hands out the serialized FileDescriptorProtos the generator embedded in
 * the module's descriptor (genrpc_module_desc.proto_files).
 *
 * Everything a reply points to is copied into the call's arena: a module
 * may be unregistered (and its descriptor freed) between the handler's
 * return and the reply's encoding.
 */
#include <stdlib.h>
#include <string.h>

#include "genrpc/reflection.genrpc.h"
#include "rpc/node.h"
#include "rpc/policy.h"
#include "rpc/reflection.h"
#include "rpc/registry.h"

/* Handler failure codes (genrpc_status.handler_code). */
#define REFLECTION_NOMEM 12   /* like ENOMEM */
#define REFLECTION_NOT_FOUND 404

static char *
copy_str(genrpc_ctx *ctx, const char *s)
{
    size_t len = strlen(s ? s : "");
    char *p = genrpc_ctx_alloc(ctx, len + 1);
    if (p)
        memcpy(p, s ? s : "", len + 1);
    return p;
}

static bool
fill_function(genrpc_ctx *ctx, const genrpc_function_desc *f, Genrpc__FunctionInfo *out)
{
    genrpc__function_info__init(out);
    out->name = copy_str(ctx, f->name);
    out->input_type = copy_str(ctx, f->input->name);
    out->output_type = copy_str(ctx, f->output->name);
    return out->name && out->input_type && out->output_type;
}

/* Fills `out` with the remote functions of `m`. false: no memory. */
static bool
fill_module(genrpc_ctx *ctx, const genrpc_module_desc *m, Genrpc__ModuleInfo *out)
{
    const genrpc_node_config *cfg = &genrpc_ctx_node(ctx)->cfg;
    genrpc__module_info__init(out);
    out->name = copy_str(ctx, m->name);
    out->version = m->version;
    out->service = copy_str(ctx, m->service);
    out->allowed = genrpc__policy_allows(cfg->module_control, cfg->module_list,
                                         cfg->n_module_list, m->name, strlen(m->name));
    size_t n = 0;
    Genrpc__FunctionInfo *fs = genrpc_ctx_alloc(ctx, (m->n_functions + 1) * sizeof *fs);
    out->functions = genrpc_ctx_alloc(ctx, (m->n_functions + 1) * sizeof *out->functions);
    if (!out->name || !out->service || !fs || !out->functions)
        return false;
    for (size_t i = 0; i < m->n_functions; i++) {
        if (!m->functions[i].remote)
            continue;
        if (!fill_function(ctx, &m->functions[i], &fs[n]))
            return false;
        out->functions[n] = &fs[n];
        n++;
    }
    out->n_functions = n;
    return true;
}

static int
by_name_version(const void *a, const void *b)
{
    const genrpc__regentry *x = *(genrpc__regentry *const *)a, *y = *(genrpc__regentry *const *)b;
    int c = strcmp(x->name, y->name);
    return c ? c : (x->version > y->version) - (x->version < y->version);
}

static int
reflection_list(const Genrpc__ListRequest *req, Genrpc__ListReply *reply, genrpc_ctx *ctx)
{
    (void)req;
    genrpc_node *node = genrpc_ctx_node(ctx);
    size_t n, k = 0;
    genrpc__regentry **v = genrpc__registry_snapshot(&node->modules, &n);
    if (n)
        qsort(v, n, sizeof *v, by_name_version);
    Genrpc__ModuleInfo *ms = genrpc_ctx_alloc(ctx, (n + 1) * sizeof *ms);
    reply->modules = genrpc_ctx_alloc(ctx, (n + 1) * sizeof *reply->modules);
    reply->node = copy_str(ctx, node->cfg.name);
    bool ok = ms && reply->modules && reply->node;
    for (size_t i = 0; i < n; i++) {
        const genrpc_module_desc *m = GENRPC__CONTAINER_OF(v[i], genrpc__reg, e)->desc;
        if (ok && m->remote) {
            ok = fill_module(ctx, m, &ms[k]);
            reply->modules[k] = &ms[k];
            k++;
        }
        genrpc__reg_unref(node, GENRPC__CONTAINER_OF(v[i], genrpc__reg, e));
    }
    free(v);
    reply->n_modules = k;
    if (!ok)
        return genrpc_fail(ctx, REFLECTION_NOMEM, "no memory for the module list");
    return 0;
}

/* The module's embedded descriptors, copied. false: no memory. */
static bool
fill_files(genrpc_ctx *ctx, const genrpc_module_desc *m, Genrpc__DescribeReply *reply)
{
    size_t n = m->proto_files ? m->n_proto_files : 0;
    reply->file_descriptor_protos = genrpc_ctx_alloc(ctx, (n + 1) * sizeof(ProtobufCBinaryData));
    if (!reply->file_descriptor_protos)
        return false;
    for (size_t i = 0; i < n; i++) {
        const genrpc_proto_file *f = &m->proto_files[i];
        uint8_t *p = genrpc_ctx_alloc(ctx, f->len);
        if (!p)
            return false;
        memcpy(p, f->data, f->len);
        reply->file_descriptor_protos[i] = (ProtobufCBinaryData){f->len, p};
    }
    reply->n_file_descriptor_protos = n;
    return true;
}

static int
reflection_describe(const Genrpc__DescribeRequest *req, Genrpc__DescribeReply *reply,
                    genrpc_ctx *ctx)
{
    genrpc_node *node = genrpc_ctx_node(ctx);
    const char *name = req->module ? req->module : "";
    genrpc__regentry *e =
        genrpc__registry_lookup(&node->modules, (genrpc__str){name, strlen(name)}, req->version);
    genrpc__reg *r = e ? GENRPC__CONTAINER_OF(e, genrpc__reg, e) : NULL;
    if (r && !r->desc->remote) {
        genrpc__reg_unref(node, r);
        r = NULL;
    }
    if (!r) {
        if (req->version)
            return genrpc_fail(ctx, REFLECTION_NOT_FOUND,
                               "module %s version %u is not registered on node %s", name,
                               req->version, node->cfg.name);
        return genrpc_fail(ctx, REFLECTION_NOT_FOUND, "module %s is not registered on node %s",
                           name, node->cfg.name);
    }
    Genrpc__ModuleInfo *mi = genrpc_ctx_alloc(ctx, sizeof *mi);
    bool ok = mi && fill_module(ctx, r->desc, mi) && fill_files(ctx, r->desc, reply);
    reply->module = mi;
    genrpc__reg_unref(node, r);
    if (!ok)
        return genrpc_fail(ctx, REFLECTION_NOMEM, "no memory for the description");
    return 0;
}

static const Genrpc__Reflection__Impl reflection_impl = {
    .list = reflection_list,
    .describe = reflection_describe,
};

int
genrpc__reflection_serve(genrpc_node *node)
{
    return genrpc__reflection__register(node, &reflection_impl, NULL);
}
