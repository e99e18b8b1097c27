/*
 * worker.c - the node's threads, as leader/followers with a lent loop.
 *
 * One libev loop per node, run by one thread at a time: the holder of "the
 * loop token". Workers are followers: an idle worker takes the token and
 * waits in the loop. When the loop yields requests, the holder runs them
 * itself, one after another, and keeps the token meanwhile: it *lends* it
 * (it is off the loop while a handler runs) and takes it back afterwards.
 * So while handlers are quick a request costs no hand-off between threads
 * at all (a futex wake and a context switch cost ~30 us on the benchmark
 * machine, docs/RATIONALE.md), and replies are written in one batch before
 * the loop next polls. Between requests the holder polls again at least
 * every POLL_EVERY_NS, so new I/O never waits behind a long batch.
 *
 * A handler may block (on a call to another node, or on anything else).
 * The dedicated loop thread watches lendings, as Go's sysmon retakes a
 * processor from a thread stuck in a system call: a lending older than
 * STEAL_NS is taken over (the dedicated thread runs the loop from then on,
 * wakes idle workers for the requests that wait, and the worker becomes a
 * plain follower when its handler returns). A handler that blocks inside
 * genrpc (a call, a yield) gives the token back at once
 * (genrpc__worker_blocking). Whoever leaves the token free signals the
 * dedicated thread (loop_cond); it takes the token unless a worker did.
 *
 * All of this state is guarded by node->job_mu.
 */
#include <sched.h>
#include <stdlib.h>

#include "internal.h"

/* A lending this old is taken over by the dedicated thread. */
#define STEAL_NS (500 * 1000)
/* The dedicated thread keeps watching this long after the last lending
 * (waking every STEAL_NS), so a busy node needs no wake-up per lending. */
#define WATCH_LINGER_NS (20 * 1000 * 1000)
/* The holder polls at least this often while it runs requests. */
#define POLL_EVERY_NS (50 * 1000)

static __thread const genrpc_node *tls_worker_node;
static __thread uint64_t tls_lend_seq; /* the lending this thread holds, 0: none */
/* Output deferred during the lending without waking the loop (this thread
 * was to poll next); if the lending was taken over, the loop is woken. */
static __thread bool tls_wake_skipped;

bool
genrpc__on_worker(const genrpc_node *node)
{
    return tls_worker_node == node;
}

bool
genrpc__polls_next(const genrpc_node *node)
{
    if (genrpc__on_loop(node))
        return true;
    if (tls_worker_node != node || tls_lend_seq == 0 ||
        atomic_load_explicit(&((genrpc_node *)node)->lend_seq, memory_order_relaxed) !=
            tls_lend_seq)
        return false;
    /* Lent to this thread, unless taken over meanwhile: run_lent then
     * wakes the loop for whatever was deferred. */
    tls_wake_skipped = true;
    return true;
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

static void
run_job(genrpc__job *job)
{
    if (job->run)
        job->run(job);
    else
        genrpc__server_run_job(job);
}

/* job_mu held by a worker holding the token: runs `job` with the token
 * lent, from `now`. Returns with job_mu held, and whether the token is still ours. */
static bool
run_lent(genrpc_node *node, genrpc__job *job, int64_t now)
{
    uint64_t seq = ++node->lend_seq;
    node->lent = true;
    node->lent_since_ns = now;
    bool wake_watcher = !node->watching;
    pthread_mutex_unlock(&node->job_mu);
    if (wake_watcher)
        pthread_cond_signal(&node->loop_cond);
    genrpc__set_on_loop(NULL);
    tls_lend_seq = seq;
    tls_wake_skipped = false;
    run_job(job);
    tls_lend_seq = 0;
    pthread_mutex_lock(&node->job_mu);
    bool still_ours = node->lent && node->lend_seq == seq;
    if (still_ours) {
        node->lent = false;
        genrpc__set_on_loop(node);
    } else if (tls_wake_skipped) {
        ev_async_send(node->loop, &node->wake);
    }
    return still_ours;
}

/* One loop iteration; `more`: requests wait, so do not sleep. With busy
 * polling, for busy_poll_ns after the last read that brought bytes the
 * loop polls without sleeping: the next request or reply then costs no
 * wake-up. sched_yield lets any other runnable thread have the CPU first. */
static void
loop_once(genrpc_node *node, bool more, int64_t *last_input)
{
    if (more) {
        ev_run(node->loop, EVRUN_NOWAIT);
        return;
    }
    uint64_t reads = node->reads_done;
    if (node->busy_poll_ns > 0 && genrpc__now_ns() - *last_input < node->busy_poll_ns) {
        ev_run(node->loop, EVRUN_NOWAIT);
        sched_yield();
    } else {
        ev_run(node->loop, EVRUN_ONCE);
    }
    if (node->reads_done != reads)
        *last_input = genrpc__now_ns();
}

/* A worker holding the token: runs the loop and, between polls, the
 * requests it yields. Returns (job_mu not held) when the loop is done or
 * the token was taken over while a handler ran. */
static void
worker_hold_loop(genrpc_node *node)
{
    genrpc__set_on_loop(node);
    int64_t polled = genrpc__now_ns(), last_input = polled;
    pthread_mutex_lock(&node->job_mu);
    for (;;) {
        if (node->loop_done) {
            release_token(node);
            pthread_cond_broadcast(&node->job_cond);
            break;
        }
        int64_t now = genrpc__now_ns();
        if (node->ready_head && now - polled < POLL_EVERY_NS) {
            if (!run_lent(node, pop_job(node), now))
                break; /* taken over: a follower from now on */
            continue;
        }
        bool more = node->ready_head != NULL;
        pthread_mutex_unlock(&node->job_mu);
        loop_once(node, more, &last_input);
        polled = genrpc__now_ns();
        pthread_mutex_lock(&node->job_mu);
    }
    pthread_mutex_unlock(&node->job_mu);
    genrpc__set_on_loop(NULL);
}

/* The dedicated thread holding the token: runs the loop until an idle
 * worker can take it over (it hands it on when no request waits, so the
 * woken worker finds none and takes the token) or the loop is done.
 * Requests the loop yields meanwhile wake workers (genrpc__job_submit). */
static void
dedicated_hold_loop(genrpc_node *node, bool *handed_off)
{
    genrpc__set_on_loop(node);
    for (;;) {
        pthread_mutex_lock(&node->job_mu);
        if (node->loop_done) {
            release_token(node);
            pthread_cond_broadcast(&node->job_cond);
            break;
        }
        if (node->idle_workers > 0 && !node->ready_head) {
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
}

void
genrpc__worker_blocking(void)
{
    genrpc_node *node = (genrpc_node *)tls_worker_node;
    uint64_t seq = tls_lend_seq;
    if (!node || !seq)
        return;
    tls_lend_seq = 0;
    pthread_mutex_lock(&node->job_mu);
    if (node->lent && node->lend_seq == seq) {
        node->lent = false;
        release_token(node);
        if (node->ready_head && node->idle_workers > 0)
            pthread_cond_signal(&node->job_cond);
    }
    pthread_mutex_unlock(&node->job_mu);
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
            worker_hold_loop(node);
            pthread_mutex_lock(&node->job_mu);
            continue;
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

/* job_mu held. Waits on loop_cond until `until` (GENRPC__NEVER: no limit). */
static void
wait_loop_cond(genrpc_node *node, int64_t until)
{
    if (until == GENRPC__NEVER) {
        pthread_cond_wait(&node->loop_cond, &node->job_mu);
        return;
    }
    struct timespec ts;
    genrpc__abstime(until, &ts);
    pthread_cond_timedwait(&node->loop_cond, &node->job_mu, &ts);
}

/* job_mu held, the token is lent: waits until the lending is STEAL_NS
 * old; if it still goes on, takes the token over. Returns whether it did. */
static bool
watch_lending(genrpc_node *node)
{
    uint64_t seq = node->lend_seq;
    int64_t due = node->lent_since_ns + STEAL_NS;
    if (genrpc__now_ns() < due)
        wait_loop_cond(node, due);
    if (!node->lent || node->lend_seq != seq || genrpc__now_ns() < due || node->loop_done)
        return false;
    /* The handler blocks or runs long: the loop goes on here, and the
     * requests waiting behind it get idle workers. */
    node->lent = false;
    node->lend_seq++; /* the worker's polls_next() sees it is not the holder any more */
    node->holder_dedicated = true;
    if (node->ready_head)
        pthread_cond_broadcast(&node->job_cond);
    return true;
}

/* The dedicated loop thread: takes the token whenever it is free, and
 * takes it over from a worker whose lending lasts too long. */
void
genrpc__loop_thread_main(genrpc_node *node)
{
    bool handed_off = false;
    pthread_mutex_lock(&node->job_mu);
    while (!node->loop_done) {
        if (node->lent) {
            node->watching = true;
            if (!watch_lending(node))
                continue;
        } else if (node->token_held || handed_off) {
            /* After handing the token to a worker, wait until someone
             * gives it back (release_token signals), not just until it
             * looks free; while lendings are frequent, look every STEAL_NS. */
            handed_off = false;
            node->watching = node->token_held && node->watching &&
                             genrpc__now_ns() - node->lent_since_ns < WATCH_LINGER_NS;
            wait_loop_cond(node, node->watching ? genrpc__now_ns() + STEAL_NS : GENRPC__NEVER);
            continue;
        } else {
            node->token_held = true;
            node->holder_dedicated = true;
        }
        pthread_mutex_unlock(&node->job_mu);
        dedicated_hold_loop(node, &handed_off);
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
