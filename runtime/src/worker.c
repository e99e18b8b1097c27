/*
 * worker.c - the node's threads, as leader/followers.
 *
 * One libev loop per node, run by one thread at a time: the holder of "the
 * loop token". Workers are followers: an idle worker takes the token and
 * waits in the loop; when the loop yields requests, that worker hands the
 * token on and runs the first request itself. So the thread woken by a
 * request's bytes is the thread that runs its handler, with no hand-off on
 * the request's path (a hand-off costs ~30 us on the benchmark machine,
 * docs/RATIONALE.md).
 *
 * A dedicated loop thread guarantees that someone always runs the loop,
 * even when every worker is busy in a handler (which may be blocked in a
 * call to another node, waiting for a reply only the loop can deliver).
 * The rule that keeps this true: whoever leaves the token free signals the
 * dedicated thread (loop_cond); it takes the token unless a worker did.
 *
 * All of this state is guarded by node->job_mu.
 */
#include <stdlib.h>

#include "internal.h"

static __thread const genrpc_node *tls_worker_node;

bool
genrpc__on_worker(const genrpc_node *node)
{
    return tls_worker_node == node;
}

/* job_mu held. One job from the connection whose turn it is; a connection
 * with more waiting goes to the back of the line: per-peer mailboxes,
 * served round-robin, as gen_rpc's one acceptor per peer. */
static genrpc__job *
pop_job(genrpc_node *node)
{
    genrpc__conn *c = node->ready_head;
    if (!c)
        return NULL;
    genrpc__job *job = c->mbox_head;
    c->mbox_head = job->next;
    if (!c->mbox_head)
        c->mbox_tail = NULL;
    node->ready_head = c->ready_next;
    if (!node->ready_head)
        node->ready_tail = NULL;
    c->ready_next = NULL;
    c->ready_linked = false;
    if (c->mbox_head) { /* more from this peer: after everyone else */
        c->ready_linked = true;
        if (node->ready_tail)
            node->ready_tail->ready_next = c;
        else
            node->ready_head = c;
        node->ready_tail = c;
    }
    atomic_fetch_sub_explicit(&node->jobs_queued, 1, memory_order_relaxed);
    job->next = NULL;
    return job;
}

/* job_mu held: the token is free; make sure somebody takes it. */
static void
release_token(genrpc_node *node)
{
    node->token_held = false;
    pthread_cond_signal(&node->loop_cond);
}

void
genrpc__job_submit(genrpc_node *node, genrpc__job *job)
{
    genrpc__conn *c = job->conn; /* the job's reference keeps c linked safely */
    job->next = NULL;
    pthread_mutex_lock(&node->job_mu);
    if (c->mbox_tail)
        c->mbox_tail->next = job;
    else
        c->mbox_head = job;
    c->mbox_tail = job;
    if (!c->ready_linked) {
        c->ready_linked = true;
        c->ready_next = NULL;
        if (node->ready_tail)
            node->ready_tail->ready_next = c;
        else
            node->ready_head = c;
        node->ready_tail = c;
    }
    atomic_fetch_add_explicit(&node->jobs_queued, 1, memory_order_relaxed);
    /* A worker holding the loop runs it itself as soon as the loop returns
     * (see hold_loop); anyone else wakes an idle worker for it. */
    bool wake = node->idle_workers > 0 && !(genrpc__on_loop(node) && !node->holder_dedicated);
    pthread_mutex_unlock(&node->job_mu);
    if (wake)
        pthread_cond_signal(&node->job_cond);
}

/* Runs the loop while holding the token, one iteration at a time.
 * A worker gives the token up when requests are queued and returns the
 * first one to run; the dedicated thread gives it up to an idle worker.
 * Returns with job_mu NOT held. */
static genrpc__job *
hold_loop(genrpc_node *node, bool dedicated, bool *handed_off)
{
    genrpc__job *job = NULL;
    genrpc__set_on_loop(node);
    for (;;) {
        pthread_mutex_lock(&node->job_mu);
        if (node->loop_done) {
            release_token(node);
            pthread_cond_broadcast(&node->job_cond);
            break;
        }
        if (!dedicated && node->ready_head) {
            job = pop_job(node);
            release_token(node);
            /* More queued: one more worker joins in, so a slow handler
             * here delays none of them. Only one: each thread that comes
             * back from the loop with work wakes another, so the pool grows
             * with the backlog instead of waking every idle thread (on a
             * small machine that costs more than it gains). */
            if (node->ready_head && node->idle_workers > 0)
                pthread_cond_signal(&node->job_cond);
            break;
        }
        if (dedicated && node->idle_workers > 0 && !node->ready_head) {
            /* Only the holder queues jobs, so the woken idle worker finds
             * none and takes the token. */
            node->token_held = false;
            pthread_cond_signal(&node->job_cond);
            *handed_off = true;
            break;
        }
        pthread_mutex_unlock(&node->job_mu);
        ev_run(node->loop, EVRUN_ONCE);
    }
    pthread_mutex_unlock(&node->job_mu);
    genrpc__set_on_loop(NULL);
    return job;
}

static void
run_job(genrpc__job *job)
{
    if (job->run)
        job->run(job);
    else
        genrpc__server_run_job(job);
}

static void *
worker_main(void *arg)
{
    genrpc_node *node = arg;
    tls_worker_node = node;
    pthread_mutex_lock(&node->job_mu);
    while (!node->workers_quit) {
        genrpc__job *job = pop_job(node);
        if (!job && !node->token_held && !node->loop_done) {
            node->token_held = true;
            node->holder_dedicated = false;
            pthread_mutex_unlock(&node->job_mu);
            bool unused;
            job = hold_loop(node, false, &unused);
            pthread_mutex_lock(&node->job_mu);
        }
        if (job) {
            pthread_mutex_unlock(&node->job_mu);
            run_job(job);
            pthread_mutex_lock(&node->job_mu);
            continue;
        }
        if (!node->workers_quit && (node->token_held || node->loop_done)) {
            node->idle_workers++;
            pthread_cond_wait(&node->job_cond, &node->job_mu);
            node->idle_workers--;
        }
    }
    pthread_mutex_unlock(&node->job_mu);
    return NULL;
}

/* The dedicated loop thread: takes the token whenever it is free. */
void
genrpc__loop_thread_main(genrpc_node *node)
{
    bool handed_off = false;
    pthread_mutex_lock(&node->job_mu);
    while (!node->loop_done) {
        /* After handing the token to a worker, wait until someone gives it
         * back (release_token signals), not just until it looks free. */
        if (node->token_held || handed_off) {
            handed_off = false;
            pthread_cond_wait(&node->loop_cond, &node->job_mu);
            continue;
        }
        node->token_held = true;
        node->holder_dedicated = true;
        pthread_mutex_unlock(&node->job_mu);
        hold_loop(node, true, &handed_off);
        pthread_mutex_lock(&node->job_mu);
    }
    pthread_mutex_unlock(&node->job_mu);
}

/* shutdown_cmd, on the loop: every holder lets go and nobody takes the
 * token again. */
void
genrpc__loop_done(genrpc_node *node)
{
    pthread_mutex_lock(&node->job_mu);
    node->loop_done = true;
    pthread_cond_broadcast(&node->loop_cond);
    pthread_cond_broadcast(&node->job_cond);
    pthread_mutex_unlock(&node->job_mu);
}

int
genrpc__workers_start(genrpc_node *node, int n)
{
    node->workers = calloc((size_t)n, sizeof *node->workers);
    if (!node->workers)
        return GENRPC_E_NOMEM;
    for (int i = 0; i < n; i++) {
        if (pthread_create(&node->workers[i], NULL, worker_main, node) != 0)
            return GENRPC_E_SYSTEM;
        node->n_workers++;
    }
    return GENRPC_OK;
}

/* After the loop is done: lets running handlers finish, drops queued jobs
 * (their callers were failed when the loop closed the connections). */
void
genrpc__workers_stop(genrpc_node *node)
{
    pthread_mutex_lock(&node->job_mu);
    node->workers_quit = true;
    node->loop_done = true; /* start-up failures get here without a loop */
    pthread_cond_broadcast(&node->job_cond);
    pthread_mutex_unlock(&node->job_mu);
    for (int i = 0; i < node->n_workers; i++)
        pthread_join(node->workers[i], NULL);
    free(node->workers);
    node->workers = NULL;
    node->n_workers = 0;
    for (genrpc__job *job; (job = pop_job(node));)
        genrpc__job_discard(job);
}
