/*
 * server.h - the acceptor role (rpc layer): requests and broadcasts from an
 * authenticated peer become jobs (server.c) that workers run (handler.c).
 */
#ifndef GENRPC_RPC_SERVER_H
#define GENRPC_RPC_SERVER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "net/conn.h"

/* An acceptor connection: the conn first, then what only acceptors have. */
typedef struct genrpc__acceptor {
    genrpc__conn conn;
    /* requests received and not yet started (backpressure) */
    atomic_int backlog;
    bool read_paused; /* loop only: not reading while the backlog is too long */
    /* casts run one at a time, in order (casts_mu) */
    pthread_mutex_t casts_mu;
    genrpc__job *casts_head, *casts_tail;
    bool casts_running;
} genrpc__acceptor;

static inline genrpc__acceptor *
genrpc__acceptor_of(genrpc__conn *c)
{
    return (genrpc__acceptor *)c; /* the conn is its first member */
}

/* The role a listener gives every accepted connection, and its size. */
extern const genrpc__conn_role genrpc__acceptor_role;
#define GENRPC__ACCEPTOR_SIZE sizeof(genrpc__acceptor)

/* A queued request has started running (any thread). */
void genrpc__backlog_started(genrpc__conn *c);
/* handler.c: an ERROR frame for req_id; a failed call is answered, a
 * failed cast dropped and counted. */
void genrpc__send_error(genrpc__conn *c, uint64_t req_id, const genrpc_status *st,
                        genrpc__flush how);
void genrpc__answer_failure(genrpc__job *job, genrpc_status *st);
void genrpc__job_free(genrpc__job *job);
/* Frees a job that will never run (node stopping), casts queued behind it too. */
void genrpc__job_discard(genrpc__job *job);

#endif /* GENRPC_RPC_SERVER_H */
