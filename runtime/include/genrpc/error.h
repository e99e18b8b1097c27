/*
 * genrpc/error.h - every failure is a value: one error enum, its class, its text.
 *
 * The list below is the single source of truth (an X-macro, like libuv's
 * UV_ERRNO_MAP). The numeric values are part of the wire protocol (ERROR
 * frames carry them, see docs/protocol.md): never renumber, only append.
 */
#ifndef GENRPC_ERROR_H
#define GENRPC_ERROR_H

#include "genrpc/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Error classes, as in gen_rpc: badrpc = the call reached (or was refused by)
 * the remote side; badtcp = the transport failed; local = the caller's own
 * mistake or a local condition. */
typedef enum genrpc_err_class {
    GENRPC_CLASS_NONE = 0, /* GENRPC_OK */
    GENRPC_CLASS_BADRPC,
    GENRPC_CLASS_BADTCP,
    GENRPC_CLASS_LOCAL,
} genrpc_err_class;

/* XX(name, value, class, message) */
#define GENRPC_ERR_MAP(XX)                                                              \
    XX(OK, 0, NONE, "success")                                                         \
    XX(TIMEOUT, 1, BADRPC, "call timed out")                                           \
    XX(UNDEF, 2, BADRPC, "undefined module or function")                               \
    XX(INCOMPATIBLE, 3, BADRPC, "incompatible module version")                         \
    XX(UNAUTHORIZED, 4, BADRPC, "module not allowed by the node's policy")             \
    XX(HANDLER, 5, BADRPC, "remote handler failed")                                    \
    XX(BADARGS, 6, BADRPC, "request could not be decoded")                             \
    XX(DISCOVERY, 7, BADRPC, "discovery could not resolve the node")                   \
    XX(OVERLOAD, 8, BADRPC, "remote node is overloaded")                               \
    XX(UNAVAILABLE, 9, BADRPC, "remote node is draining: the call did not run")        \
    XX(CONNECT, 20, BADTCP, "connection failed")                                       \
    XX(CLOSED, 21, BADTCP, "connection closed")                                        \
    XX(SEND_TIMEOUT, 22, BADTCP, "send timed out")                                     \
    XX(AUTH, 23, BADTCP, "authentication failed")                                      \
    XX(TLS, 24, BADTCP, "TLS failure")                                                 \
    XX(PROTOCOL, 25, BADTCP, "protocol violation")                                     \
    XX(IO, 26, BADTCP, "socket I/O error")                                             \
    XX(INVAL, 40, LOCAL, "invalid argument")                                           \
    XX(NOMEM, 41, LOCAL, "out of memory")                                              \
    XX(NOT_READY, 42, LOCAL, "result not ready yet")                                   \
    XX(CONSUMED, 43, LOCAL, "promise already consumed")                                \
    XX(STOPPED, 44, LOCAL, "node stopped")                                             \
    XX(EXISTS, 45, LOCAL, "already registered")                                        \
    XX(NOT_FOUND, 46, LOCAL, "not registered")                                         \
    XX(TOO_BIG, 47, LOCAL, "message exceeds the maximum frame size")                   \
    XX(SYSTEM, 48, LOCAL, "system call failed")                                         \
    XX(CANCELLED, 49, LOCAL, "call cancelled by the caller")

typedef enum genrpc_err {
#define GENRPC_ERR_ENUM_(name, value, cls, msg) GENRPC_E_##name = value,
    GENRPC_ERR_MAP(GENRPC_ERR_ENUM_)
#undef GENRPC_ERR_ENUM_
} genrpc_err;

/* GENRPC_OK reads better than GENRPC_E_OK at call sites. */
#define GENRPC_OK GENRPC_E_OK

/* A human sentence for err ("call timed out"); "unknown error" for values
 * outside the list. Never NULL; static storage. */
GENRPC_API const char *genrpc_strerror(int err);

/* The enum name without prefix ("TIMEOUT"); "UNKNOWN" for values outside
 * the list. Never NULL; static storage. */
GENRPC_API const char *genrpc_err_name(int err);

/* The class of err (GENRPC_CLASS_LOCAL for unknown values). */
GENRPC_API genrpc_err_class genrpc_err_class_of(int err);

/* "badrpc", "badtcp", "local" or "ok". */
GENRPC_API const char *genrpc_err_class_name(genrpc_err_class cls);

#ifdef __cplusplus
}
#endif
#endif /* GENRPC_ERROR_H */
