/*
 * ring.h - a consistent hash ring of node names, shared by the ratelimiter
 * and kv examples.
 *
 * Each node is placed on a 64-bit circle at RING_VNODES points (hashes of
 * "name#0", "name#1", ...); a key belongs to the node owning the first
 * point at or after the key's hash. Adding or removing one node only moves
 * the keys that node gains or loses. Thread-safe: node events change the
 * ring on the node's loop while handlers read it on worker threads.
 */
#ifndef EXAMPLES_RING_H
#define EXAMPLES_RING_H

#include <stdbool.h>
#include <stddef.h>

#define RING_VNODES 64 /* points per node: more points, more even shares */
#define RING_MAX_NODES 16
#define RING_NAME_MAX 256

typedef struct ring ring;

ring *ring_new(void);
void ring_free(ring *r);

/* Adds / removes a node; false if it was already in / not in the ring
 * (or the ring is full). */
bool ring_add(ring *r, const char *node);
bool ring_remove(ring *r, const char *node);

bool ring_has(ring *r, const char *node);
size_t ring_size(ring *r);

/* Copies the owner of `key` into out (RING_NAME_MAX bytes); false if the
 * ring is empty. */
bool ring_owner(ring *r, const char *key, char out[RING_NAME_MAX]);

#endif
