/*
 * container.h - GENRPC__CONTAINER_OF (base layer, header only): from a
 * pointer to a member embedded in a struct, the struct. Defined
 * token-for-token as base/list.h does, so either header may come first.
 */
#ifndef GENRPC_BASE_CONTAINER_H
#define GENRPC_BASE_CONTAINER_H

#include <stddef.h>

/* The struct of type `type` whose member `member` is at ptr. */
#define GENRPC__CONTAINER_OF(ptr, type, member) \
    ((type *)(void *)((char *)(ptr) - offsetof(type, member)))

#endif /* GENRPC_BASE_CONTAINER_H */
