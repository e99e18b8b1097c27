/*
 * policy.c - the node's module whitelist/blacklist (see policy.h).
 */
#include "rpc/policy.h"

#include "base/str.h"

static bool
listed(const char *const *list, size_t n, const char *module, size_t module_len)
{
    for (size_t i = 0; i < n; i++)
        if (genrpc__str_eq((genrpc__str){module, module_len}, list[i]))
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
