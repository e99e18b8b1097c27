/*
 * error.c - texts, names and classes of genrpc_err, from GENRPC_ERR_MAP.
 */
#include "genrpc/error.h"

const char *
genrpc_strerror(int err)
{
    switch (err) {
#define GENRPC_ERR_MSG_(name, value, cls, msg)                                                      \
    case value:                                                                                     \
        return msg;
        GENRPC_ERR_MAP(GENRPC_ERR_MSG_)
#undef GENRPC_ERR_MSG_
    }
    return "unknown error";
}

const char *
genrpc_err_name(int err)
{
    switch (err) {
#define GENRPC_ERR_NAME_(name, value, cls, msg)                                                     \
    case value:                                                                                     \
        return #name;
        GENRPC_ERR_MAP(GENRPC_ERR_NAME_)
#undef GENRPC_ERR_NAME_
    }
    return "UNKNOWN";
}

genrpc_err_class
genrpc_err_class_of(int err)
{
    switch (err) {
#define GENRPC_ERR_CLASS_(name, value, cls, msg)                                                    \
    case value:                                                                                     \
        return GENRPC_CLASS_##cls;
        GENRPC_ERR_MAP(GENRPC_ERR_CLASS_)
#undef GENRPC_ERR_CLASS_
    }
    return GENRPC_CLASS_LOCAL;
}

const char *
genrpc_err_class_name(genrpc_err_class cls)
{
    switch (cls) {
    case GENRPC_CLASS_NONE:
        return "ok";
    case GENRPC_CLASS_BADRPC:
        return "badrpc";
    case GENRPC_CLASS_BADTCP:
        return "badtcp";
    case GENRPC_CLASS_LOCAL:
        break;
    }
    return "local";
}
