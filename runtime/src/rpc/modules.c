/*
 * modules.c - the node's module registry (name + version -> implementation)
 * and the check a request passes before anything is decoded: policy,
 * module, version, function.
 */
#include <stdlib.h>
#include <string.h>

#include "rpc/node.h"
#include "rpc/policy.h"
#include "rpc/registry.h"

static bool
valid_module(const genrpc_module_desc *m)
{
    if (!m || !m->name || !m->name[0] || strlen(m->name) > GENRPC__NAME_MAX || m->version == 0 ||
        m->version == GENRPC_ANY_VERSION ||
        (m->n_functions && !m->functions))
        return false;
    for (size_t i = 0; i < m->n_functions; i++)
        if (!m->functions[i].name || !m->functions[i].input || !m->functions[i].output ||
            !m->functions[i].invoke || strlen(m->functions[i].name) > GENRPC__NAME_MAX)
            return false;
    return true;
}

static void
reg_free(genrpc__regentry *e)
{
    genrpc__reg *r = GENRPC__CONTAINER_OF(e, genrpc__reg, e);
    free(r->fn_stats);
    free(r);
}

int
genrpc_node_register(genrpc_node *node, const genrpc_module_desc *module, const void *impl,
                     void *user)
{
    if (!node || !impl || !valid_module(module))
        return GENRPC_E_INVAL;
    genrpc__reg *r = malloc(sizeof *r);
    genrpc__fn_stats *fs = r ? calloc(module->n_functions ? module->n_functions : 1, sizeof *fs)
                             : NULL;
    if (!fs) {
        free(r);
        return GENRPC_E_NOMEM;
    }
    r->fn_stats = fs;
    r->e.name = module->name;
    r->e.version = module->version;
    r->e.free = reg_free;
    r->desc = module;
    r->impl = impl;
    r->user = user;
    int rc = genrpc__registry_add(&node->modules, &r->e);
    if (rc != GENRPC_OK)
        reg_free(&r->e);
    return rc;
}

void
genrpc__reg_unref(genrpc_node *node, genrpc__reg *r)
{
    genrpc__registry_unref(&node->modules, &r->e);
}

int
genrpc_node_unregister(genrpc_node *node, const char *name, uint32_t version)
{
    if (!node || !name)
        return GENRPC_E_INVAL;
    /* Calls already running on it finish first: their jobs hold references. */
    return genrpc__registry_remove(&node->modules, name, version, true);
}

static bool
implemented(const genrpc__reg *r, const genrpc_function_desc *fn)
{
    /* The handler slot is a function pointer inside the generated impl
     * struct; reading its bytes avoids calling through a wrong type. */
    static const unsigned char zero[sizeof(void (*)(void))];
    return memcmp((const char *)r->impl + fn->impl_offset, zero, sizeof zero) != 0;
}

int
genrpc__resolve(genrpc_node *node, const genrpc__request_hdr *h, genrpc__reg **reg,
                const genrpc_function_desc **fn, genrpc_status *st)
{
    const genrpc__str m = h->module, f = h->function;
    if (!genrpc__policy_allows(node->cfg.module_control, node->cfg.module_list,
                               node->cfg.n_module_list, m.p, m.len))
        return genrpc__fail(st, GENRPC_E_UNAUTHORIZED, "module %.*s is not allowed on node %s",
                            (int)m.len, m.p, node->cfg.name);
    genrpc__regentry *e = genrpc__registry_lookup(&node->modules, m, h->version);
    genrpc__reg *best = e ? GENRPC__CONTAINER_OF(e, genrpc__reg, e) : NULL;
    if (!best && h->version)
        return genrpc__fail(st, GENRPC_E_INCOMPATIBLE, "node %s does not serve %.*s version %u",
                            node->cfg.name, (int)m.len, m.p, h->version);
    if (!best)
        return genrpc__fail(st, GENRPC_E_UNDEF, "undefined module %.*s on node %s", (int)m.len,
                            m.p, node->cfg.name);

    const genrpc_function_desc *found = NULL;
    for (size_t i = 0; i < best->desc->n_functions && !found; i++)
        if (genrpc__str_eq(f, best->desc->functions[i].name))
            found = &best->desc->functions[i];
    int err = GENRPC_OK;
    if (!found || !implemented(best, found))
        err = genrpc__fail(st, GENRPC_E_UNDEF, "undefined function %.*s:%.*s on node %s",
                           (int)m.len, m.p, (int)f.len, f.p, node->cfg.name);
    else if (!best->desc->remote || !found->remote)
        err = genrpc__fail(st, GENRPC_E_UNAUTHORIZED, "%.*s:%.*s is internal to node %s",
                           (int)m.len, m.p, (int)f.len, f.p, node->cfg.name);
    if (err != GENRPC_OK) {
        genrpc__reg_unref(node, best);
        return err;
    }
    *reg = best;
    *fn = found;
    return GENRPC_OK;
}
