/*
 * tests/support/test_impl.h - implementations of the modules in
 * tests/proto/test.proto, shared by the helper node process
 * (tests/helpers/test_node.c) and the in-process conformance tests.
 */
#ifndef GENRPC_TEST_IMPL_H
#define GENRPC_TEST_IMPL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include "genrpc/genrpc.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Longest Count log kept (later seqs are counted but not logged). */
#define GENRPC_TEST_COUNT_LOG_MAX 100000

/* Per-node state the handlers share (the `user` pointer of every module). */
typedef struct genrpc_test_state {
    pthread_mutex_t lock;
    uint64_t count;                 /* Count calls/casts run so far */
    size_t n_seqs;
    uint64_t *seqs;                 /* seqs in the order the handler ran them */
    uint64_t secret_runs;           /* times the internal Secret handler ran */
    size_t n_notes;                 /* Note broadcasts the named handlers got */
    char **notes;                   /* each "<name> <from> <text>", in order */
    size_t n_handlers;
    void **handlers;                /* genrpc_test_register_handler's, freed with st */
    size_t n_log;                   /* calls.Calls: what its handlers did, in order */
    char **log;
} genrpc_test_state;

/* Initialises *st; 0 or -1 on OOM. Free with genrpc_test_state_destroy
 * after the node that uses it has stopped. */
int genrpc_test_state_init(genrpc_test_state *st);
void genrpc_test_state_destroy(genrpc_test_state *st);

/* Registers test.Test v1, test.NodeInfo v1, test.Clock v1,
 * test.Versioned v1 + v2 and calls.Calls v1 on `node`, all sharing `st` (borrowed until the
 * node stops). Returns GENRPC_OK or the first registration error. */
int genrpc_test_register_all(genrpc_node *node, genrpc_test_state *st);

/* Registers a named handler `name` for test.Note messages that appends
 * "<name> <from> <text>" to st->notes (read remotely with
 * test.NodeInfo.Notes). Returns what genrpc_handler_register returns. */
/* Interceptors (docs/calls.md): a server-side bearer-token check (token
 * borrowed), and a trace id ("trace-id") passed on to nested calls. */
int genrpc_test_add_token_check(genrpc_node *node, const char *token);
int genrpc_test_add_tracing(genrpc_node *node);

int genrpc_test_register_handler(genrpc_node *node, const char *name, genrpc_test_state *st);

#ifdef __cplusplus
}
#endif
#endif /* GENRPC_TEST_IMPL_H */
