/*
 * error.c - error names and texts for the embedded build, from the full
 * runtime's one list (GENRPC_ERR_MAP in genrpc/error.h).
 */
#include "genrpc/embedded.h"

const char *
genrpc_emb_strerror(int err)
{
    switch (err) {
#define GENRPC_EMB_MSG_(name, value, cls, msg) \
    case value:                                \
        return msg;
        GENRPC_ERR_MAP(GENRPC_EMB_MSG_)
#undef GENRPC_EMB_MSG_
    default:
        return "unknown error";
    }
}

const char *
genrpc_emb_err_name(int err)
{
    switch (err) {
#define GENRPC_EMB_NAME_(name, value, cls, msg) \
    case value:                                 \
        return #name;
        GENRPC_ERR_MAP(GENRPC_EMB_NAME_)
#undef GENRPC_EMB_NAME_
    default:
        return "UNKNOWN";
    }
}
