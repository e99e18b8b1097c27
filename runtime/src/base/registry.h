/*
 * registry.h - one registry of name[+version] -> reference-counted entry
 * (base layer): the node's modules (name + version) and named handlers
 * (name only, version 0) are each one of these.
 *
 * An entry is embedded in its owner's struct (GENRPC__CONTAINER_OF finds
 * the owner), which keeps `name` valid and sets `free` to free itself.
 * The registry holds one reference; a lookup returns another, which its
 * user gives back with genrpc__registry_unref. Removing an entry either
 * waits until no user holds it and frees it, or (a worker running a job on
 * it, which would wait for itself) leaves the free to its last user.
 */
#ifndef GENRPC_BASE_REGISTRY_H
#define GENRPC_BASE_REGISTRY_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/str.h"

/* C++ (the unit test, which includes <atomic> first) sees std::atomic<int>:
 * lock-free, the same size and layout as C11's atomic_int. */
#ifdef __cplusplus
#define GENRPC__ATOMIC_INT std::atomic<int>
#else
#include <stdatomic.h>
#define GENRPC__ATOMIC_INT atomic_int
#endif

typedef struct genrpc__regentry {
    const char *name;  /* the owner's, NUL-terminated, valid while registered */
    size_t name_len;   /* strlen(name), set by genrpc__registry_add */
    uint32_t version;  /* 0 for registries without versions */
    GENRPC__ATOMIC_INT refs; /* 1 for the registry + 1 per user */
    void (*free)(struct genrpc__regentry *e); /* frees the owner */
} genrpc__regentry;

typedef struct genrpc__registry {
    pthread_rwlock_t lock; /* the table */
    genrpc__regentry **v;
    size_t n, cap;
    pthread_mutex_t wait_mu; /* removers waiting for users */
    pthread_cond_t wait_cond;
} genrpc__registry;

void genrpc__registry_init(genrpc__registry *r);
/* Frees every entry still registered (no users left: node teardown). */
void genrpc__registry_destroy(genrpc__registry *r);

/* Adds e (name, version and free set; refs set here to the registry's 1).
 * GENRPC_OK, GENRPC_E_EXISTS (same name and version: e untouched) or
 * GENRPC_E_NOMEM. */
int genrpc__registry_add(genrpc__registry *r, genrpc__regentry *e);
/* The entry named `name` with that version, or the highest version of the
 * name when version is 0; with a reference. NULL if none. */
genrpc__regentry *genrpc__registry_lookup(genrpc__registry *r, genrpc__str name,
                                          uint32_t version);
/* Every entry, each with a reference, in a malloc'ed array of *n (free
 * it after giving each reference back). NULL with *n = 0 when empty or
 * out of memory. */
genrpc__regentry **genrpc__registry_snapshot(genrpc__registry *r, size_t *n);
/* Gives a lookup's reference back; the last one frees a removed entry. */
void genrpc__registry_unref(genrpc__registry *r, genrpc__regentry *e);
/* Removes the entry with exactly that name and version. wait: returns once
 * no user holds it, and frees it; !wait: its last user frees it (call this
 * way from a thread that may itself hold a reference). GENRPC_OK or
 * GENRPC_E_NOT_FOUND. */
int genrpc__registry_remove(genrpc__registry *r, const char *name, uint32_t version, bool wait);

#endif /* GENRPC_BASE_REGISTRY_H */
