/*
 * policy.h - the node's module whitelist/blacklist, decided on a module's
 * wire name before anything of a request is decoded. Pure; unit-tested.
 */
#ifndef GENRPC_POLICY_H
#define GENRPC_POLICY_H

#include <stdbool.h>
#include <stddef.h>

#include "genrpc/node.h"

/* `module` is module_len bytes, not NUL-terminated (it comes off the wire). */
bool genrpc__policy_allows(genrpc_module_control control, const char *const *list, size_t n,
                           const char *module, size_t module_len);

#endif /* GENRPC_POLICY_H */
