/*
 * policy.c - the node's module whitelist/blacklist (see policy.h).
 */
#include "rpc/policy.h"

#include <string.h>

static bool
listed(const char *const *list, size_t n, const char *module, size_t module_len)
{
    for (size_t i = 0; i < n; i++)
        if (strlen(list[i]) == module_len && memcmp(list[i], module, module_len) == 0)
            return true;
    return false;
}

bool
genrpc__policy_allows(genrpc_module_control control, const char *const *list, size_t n,
                      const char *module, size_t module_len)
{
    switch (control) {
    case GENRPC_CONTROL_WHITELIST:
        return listed(list, n, module, module_len);
    case GENRPC_CONTROL_BLACKLIST:
        return !listed(list, n, module, module_len);
    case GENRPC_CONTROL_DISABLED:
        break;
    }
    return true;
}
