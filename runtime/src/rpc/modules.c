/*
 * modules.c - the node's module registry (name + version -> implementation)
 * and the check a request passes before anything is decoded: policy,
 * module, version, function.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static bool
valid_module(const genrpc_module_desc *m)
{
    if (!m || !m->name || !m->name[0] || strlen(m->name) > GENRPC__NAME_MAX || m->version == 0 ||
        (m->n_functions && !m->functions))
        return false;
    for (size_t i = 0; i < m->n_functions; i++)
        if (!m->functions[i].name || !m->functions[i].input || !m->functions[i].output ||
            !m->functions[i].invoke || strlen(m->functions[i].name) > GENRPC__NAME_MAX)
            return false;
    return true;
}

int
genrpc_node_register(genrpc_node *node, const genrpc_module_desc *module, const void *impl,
                     void *user)
{
    if (!node || !impl || !valid_module(module))
        return GENRPC_E_INVAL;
    genrpc__reg *r = malloc(sizeof *r);
    if (!r)
        return GENRPC_E_NOMEM;
    r->desc = module;
    r->impl = impl;
    r->user = user;
    atomic_init(&r->refs, 1);
    int rc = GENRPC_OK;
    pthread_rwlock_wrlock(&node->reg_lock);
    for (size_t i = 0; i < node->n_regs; i++)
        if (strcmp(node->regs[i]->desc->name, module->name) == 0 &&
            node->regs[i]->desc->version == module->version)
            rc = GENRPC_E_EXISTS;
    if (rc == GENRPC_OK && node->n_regs == node->cap_regs) {
        size_t ncap = node->cap_regs ? node->cap_regs * 2 : 8;
        genrpc__reg **nr = realloc(node->regs, ncap * sizeof *nr);
        if (nr) {
            node->regs = nr;
            node->cap_regs = ncap;
        } else {
            rc = GENRPC_E_NOMEM;
        }
    }
    if (rc == GENRPC_OK)
        node->regs[node->n_regs++] = r;
    pthread_rwlock_unlock(&node->reg_lock);
    if (rc != GENRPC_OK)
        free(r);
    return rc;
}

void
genrpc__reg_unref(genrpc_node *node, genrpc__reg *r)
{
    if (atomic_fetch_sub(&r->refs, 1) == 2) {
        /* maybe only the unregistering thread is left: wake it */
        pthread_mutex_lock(&node->reg_wait_mu);
        pthread_cond_broadcast(&node->reg_wait_cond);
        pthread_mutex_unlock(&node->reg_wait_mu);
    }
}

int
genrpc_node_unregister(genrpc_node *node, const char *name, uint32_t version)
{
    if (!node || !name)
        return GENRPC_E_INVAL;
    genrpc__reg *r = NULL;
    pthread_rwlock_wrlock(&node->reg_lock);
    for (size_t i = 0; i < node->n_regs; i++) {
        if (strcmp(node->regs[i]->desc->name, name) == 0 &&
            node->regs[i]->desc->version == version) {
            r = node->regs[i];
            node->regs[i] = node->regs[--node->n_regs];
            break;
        }
    }
    pthread_rwlock_unlock(&node->reg_lock);
    if (!r)
        return GENRPC_E_NOT_FOUND;
    /* Calls already running on it finish first: their jobs hold references. */
    pthread_mutex_lock(&node->reg_wait_mu);
    while (atomic_load(&r->refs) > 1)
        pthread_cond_wait(&node->reg_wait_cond, &node->reg_wait_mu);
    pthread_mutex_unlock(&node->reg_wait_mu);
    free(r);
    return GENRPC_OK;
}

static bool
name_is(const char *z, genrpc__str s)
{
    return strlen(z) == s.len && memcmp(z, s.p, s.len) == 0;
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
                            (int)m.len, m.p, node->name);
    genrpc__reg *best = NULL;
    pthread_rwlock_rdlock(&node->reg_lock);
    for (size_t i = 0; i < node->n_regs; i++) {
        genrpc__reg *r = node->regs[i];
        if (!name_is(r->desc->name, m))
            continue;
        if (h->version ? r->desc->version == h->version
                       : !best || r->desc->version > best->desc->version)
            best = r;
    }
    if (best)
        atomic_fetch_add(&best->refs, 1);
    pthread_rwlock_unlock(&node->reg_lock);
    if (!best && h->version)
        return genrpc__fail(st, GENRPC_E_INCOMPATIBLE, "node %s does not serve %.*s version %u",
                            node->name, (int)m.len, m.p, h->version);
    if (!best)
        return genrpc__fail(st, GENRPC_E_UNDEF, "undefined module %.*s on node %s", (int)m.len,
                            m.p, node->name);

    const genrpc_function_desc *found = NULL;
    for (size_t i = 0; i < best->desc->n_functions && !found; i++)
        if (name_is(best->desc->functions[i].name, f))
            found = &best->desc->functions[i];
    int err = GENRPC_OK;
    if (!found || !implemented(best, found))
        err = genrpc__fail(st, GENRPC_E_UNDEF, "undefined function %.*s:%.*s on node %s",
                           (int)m.len, m.p, (int)f.len, f.p, node->name);
    else if (!best->desc->remote || !found->remote)
        err = genrpc__fail(st, GENRPC_E_UNAUTHORIZED, "%.*s:%.*s is internal to node %s",
                           (int)m.len, m.p, (int)f.len, f.p, node->name);
    if (err != GENRPC_OK) {
        genrpc__reg_unref(node, best);
        return err;
    }
    *reg = best;
    *fn = found;
    return GENRPC_OK;
}
