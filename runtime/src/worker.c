/*
 * worker.c - the node's worker threads: they take jobs (decode, run a
 * handler, encode) off one queue, so a slow handler holds up only its own
 * worker, never the loop.
 */
#include <stdlib.h>

#include "internal.h"

void
genrpc__jobs_submit(genrpc_node *node, genrpc__job *head, genrpc__job *tail, int n)
{
    pthread_mutex_lock(&node->job_mu);
    if (node->jobs_tail)
        node->jobs_tail->next = head;
    else
        node->jobs_head = head;
    node->jobs_tail = tail;
    tail->next = NULL;
    atomic_fetch_add_explicit(&node->jobs_queued, n, memory_order_relaxed);
    /* Wake only as many as there is work for; busy workers come back to
     * the queue by themselves. */
    int wake = n < node->idle_workers ? n : node->idle_workers;
    pthread_mutex_unlock(&node->job_mu);
    for (int i = 0; i < wake; i++)
        pthread_cond_signal(&node->job_cond);
}

static __thread const genrpc_node *tls_worker_node;

bool
genrpc__on_worker(const genrpc_node *node)
{
    return tls_worker_node == node;
}

static void *
worker_main(void *arg)
{
    genrpc_node *node = arg;
    tls_worker_node = node;
    pthread_mutex_lock(&node->job_mu);
    for (;;) {
        while (!node->jobs_head && !node->workers_quit) {
            node->idle_workers++;
            pthread_cond_wait(&node->job_cond, &node->job_mu);
            node->idle_workers--;
        }
        if (node->workers_quit)
            break;
        genrpc__job *job = node->jobs_head;
        node->jobs_head = job->next;
        if (!node->jobs_head)
            node->jobs_tail = NULL;
        atomic_fetch_sub_explicit(&node->jobs_queued, 1, memory_order_relaxed);
        pthread_mutex_unlock(&node->job_mu);
        if (job->run)
            job->run(job);
        else
            genrpc__server_run_job(job);
        pthread_mutex_lock(&node->job_mu);
    }
    pthread_mutex_unlock(&node->job_mu);
    return NULL;
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

/* Lets running handlers finish, drops queued jobs (their callers have
 * already been failed when the loop closed the connections). */
void
genrpc__workers_stop(genrpc_node *node)
{
    pthread_mutex_lock(&node->job_mu);
    node->workers_quit = true;
    pthread_cond_broadcast(&node->job_cond);
    pthread_mutex_unlock(&node->job_mu);
    for (int i = 0; i < node->n_workers; i++)
        pthread_join(node->workers[i], NULL);
    free(node->workers);
    node->workers = NULL;
    node->n_workers = 0;
    genrpc__job *job = node->jobs_head;
    node->jobs_head = node->jobs_tail = NULL;
    while (job) {
        genrpc__job *next = job->next;
        genrpc__job_discard(job);
        job = next;
    }
}
