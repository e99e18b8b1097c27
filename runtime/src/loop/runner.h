/*
 * runner.h - who runs the loop, and the jobs it hands to workers (loop
 * layer): the loop token, leader/followers with a lent loop, takeover of a
 * lending that lasts too long, worker threads, and per-peer mailboxes
 * served round-robin. See runner.c for the scheme.
 *
 * The runner knows no connection and no call: a job is a genrpc__job
 * embedded in the upper layer's record, with the run and discard functions
 * that layer gives it, queued on a genrpc__mailbox embedded in whatever
 * stands for a peer (the acceptor's connection). The job keeps that
 * mailbox alive (a reference on its owner) until it has run or been
 * discarded.
 */
#ifndef GENRPC_LOOP_RUNNER_H
#define GENRPC_LOOP_RUNNER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/list.h"
#include "loop/loop.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct genrpc__job genrpc__job;
typedef struct genrpc__mailbox genrpc__mailbox;

struct genrpc__job {
    genrpc__list link;              /* in its mailbox (runner->mu) */
    void (*run)(genrpc__job *job);  /* on a worker; frees the job */
    void (*discard)(genrpc__job *job); /* the node stops before it ran: frees it */
    genrpc__mailbox *mbox;          /* where it queues */
};

/* One peer's jobs waiting for a worker (runner->mu); genrpc__mailbox_init
 * before first use. */
struct genrpc__mailbox {
    genrpc__list jobs;       /* genrpc__job.link */
    genrpc__list ready_link; /* in the runner's ready list while it has jobs */
};

static inline void
genrpc__mailbox_init(genrpc__mailbox *mb)
{
    genrpc__list_init(&mb->jobs);
    genrpc__list_init(&mb->ready_link);
}

/* CLOCK_MONOTONIC (genrpc__now_ns) when the job this thread is running
 * started, if the runner read the clock for it anyway (a job run by the
 * loop's holder between polls); 0 otherwise: read it yourself. */
extern __thread int64_t genrpc__tl_job_started_ns __attribute__((tls_model("initial-exec")));

typedef struct genrpc__runner {
    genrpc__loop *loop;
    pthread_mutex_t mu;
    pthread_cond_t job_cond;
    /* mailboxes with queued jobs, served round-robin (one job per turn)
     * so that a flooding peer cannot delay another peer's requests */
    genrpc__list ready; /* genrpc__mailbox.ready_link */
    atomic_int jobs_queued;
    int idle_workers;
    bool workers_quit;
    pthread_cond_t loop_cond; /* the dedicated loop thread waits here */
    bool token_held;          /* some thread runs the loop */
    bool holder_dedicated;    /* ... and it is the dedicated loop thread */
    bool lent;                /* ... a worker, running a request off the loop */
    _Atomic uint64_t lend_seq; /* counts lendings and takeovers: tells one from the next */
    int64_t lent_since_ns;    /* when the current (or, not lent, the last) lending began */
    bool watching;            /* the dedicated thread checks lendings periodically */
    bool loop_done;           /* shut down: nobody takes the token again */
    pthread_t thread;         /* the dedicated loop thread */
    bool thread_started;
    pthread_t *workers;
    int n_workers;
} genrpc__runner;

/* Initialises r for `loop` (no thread yet). */
void genrpc__runner_init(genrpc__runner *r, genrpc__loop *loop);
/* Starts n workers, then the dedicated loop thread. On failure what
 * started is still running: genrpc__runner_stop_workers ends it. */
int genrpc__runner_start(genrpc__runner *r, int n, genrpc_status *st);
/* On the loop (the node's shutdown command): every holder lets go and
 * nobody takes the token again. */
void genrpc__runner_loop_done(genrpc__runner *r);
/* Waits for the dedicated loop thread to end (after loop_done). */
void genrpc__runner_join_loop(genrpc__runner *r);
/* After the loop is done: lets running jobs finish, discards queued ones. */
void genrpc__runner_stop_workers(genrpc__runner *r);
void genrpc__runner_destroy(genrpc__runner *r);

/* Queues a job (job->mbox set) for the workers. Any thread. */
void genrpc__runner_submit(genrpc__runner *r, genrpc__job *job);
/* Jobs queued and not yet started (relaxed: a hint). */
static inline int
genrpc__runner_jobs_queued(genrpc__runner *r)
{
    return atomic_load_explicit(&r->jobs_queued, memory_order_relaxed);
}

/* The calling thread is one of r's workers. */
bool genrpc__on_worker(const genrpc__runner *r);
/* Pure: this thread runs r's loop, or has it lent to run a job; either
 * way it polls (and runs deferred work) before the loop next sleeps. */
bool genrpc__polls_next(const genrpc__runner *r);
/* The caller relied on polls_next() to skip a wake-up: if the lending is
 * taken over meanwhile, the worker wakes the loop when its job returns. */
void genrpc__note_wake_skipped(void);
/* genrpc__loop_defer, and a wake-up unless this thread polls next. True
 * if this queued cmd (false: it was queued already). */
bool genrpc__runner_defer(genrpc__runner *r, genrpc__cmd *cmd);
/* About to wait for something only the loop can bring (a reply): a worker
 * running a job with the loop token lent gives the token back. */
void genrpc__worker_blocking(void);

#ifdef __cplusplus
}
#endif

#endif /* GENRPC_LOOP_RUNNER_H */
