/*
 * runner.c - the node's threads, as leader/followers with a lent loop
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
 * Jobs wait in per-peer mailboxes (genrpc__mailbox), served round-robin.
 * All of this state is guarded by runner->mu.
 */
#include <sched.h>
#include <stdlib.h>

#include "base/clock.h"
#include "loop/runner.h"

/* A lending this old is taken over by the dedicated thread. */
#define STEAL_NS (500 * 1000)
/* The dedicated thread keeps watching this long after the last lending
 * (waking every STEAL_NS), so a busy node needs no wake-up per lending. */
#define WATCH_LINGER_NS (20 * 1000 * 1000)
/* The holder polls at least this often while it runs requests. */
#define POLL_EVERY_NS (50 * 1000)

static __thread const genrpc__runner *tl_worker;
static __thread uint64_t tl_lend_seq; /* the lending this thread holds, 0: none */
__thread int64_t genrpc__tl_job_started_ns __attribute__((tls_model("initial-exec")));
/* Output deferred during the lending without waking the loop (this thread
 * was to poll next); if the lending was taken over, the loop is woken. */
static __thread bool tl_wake_skipped;

bool
genrpc__on_worker(const genrpc__runner *r)
{
    return tl_worker == r;
}

bool
genrpc__polls_next(const genrpc__runner *r)
{
    if (genrpc__on_loop(r->loop))
        return true;
    /* Lent to this thread, unless taken over meanwhile. */
    return tl_worker == r && tl_lend_seq != 0 &&
           atomic_load_explicit(&((genrpc__runner *)r)->lend_seq, memory_order_relaxed) ==
               tl_lend_seq;
}

void
genrpc__note_wake_skipped(void)
{
    if (tl_lend_seq) /* lent: run_lent wakes the loop if the lending was taken over */
        tl_wake_skipped = true;
}

bool
genrpc__runner_defer(genrpc__runner *r, genrpc__cmd *cmd)
{
    if (!genrpc__loop_defer(r->loop, cmd))
        return false;
    /* The loop runs deferred work before its next poll: nobody to wake if
     * this thread is the one that polls next. */
    if (genrpc__polls_next(r))
        genrpc__note_wake_skipped();
    else
        genrpc__loop_wake(r->loop);
    return true;
}

/* mu held. One job from the mailbox whose turn it is; a mailbox with more
 * waiting goes to the back of the line: per-peer mailboxes, served
 * round-robin, as gen_rpc's one acceptor per peer. */
static genrpc__job *
pop_job(genrpc__runner *r)
{
    GENRPC__ASSERT_HELD(&r->mu);
    genrpc__list *l = genrpc__list_pop_front(&r->ready);
    if (!l)
        return NULL;
    genrpc__mailbox *mb = GENRPC__CONTAINER_OF(l, genrpc__mailbox, ready_link);
    genrpc__job *job = GENRPC__CONTAINER_OF(genrpc__list_pop_front(&mb->jobs), genrpc__job, link);
    if (!genrpc__list_empty(&mb->jobs)) /* more from this peer: after everyone else */
        genrpc__list_push_back(&r->ready, &mb->ready_link);
    atomic_fetch_sub_explicit(&r->jobs_queued, 1, memory_order_relaxed);
    return job;
}

/* mu held: are jobs waiting? */
static bool
jobs_wait(const genrpc__runner *r)
{
    return !genrpc__list_empty(&r->ready);
}

/* mu held: the token is free; make sure somebody takes it. */
static void
release_token(genrpc__runner *r)
{
    GENRPC__ASSERT_HELD(&r->mu);
    r->token_held = false;
    pthread_cond_signal(&r->loop_cond);
}

void
genrpc__runner_submit(genrpc__runner *r, genrpc__job *job)
{
    genrpc__mailbox *mb = job->mbox; /* the job keeps it alive */
    pthread_mutex_lock(&r->mu);
    genrpc__list_push_back(&mb->jobs, &job->link);
    if (!genrpc__list_linked(&mb->ready_link))
        genrpc__list_push_back(&r->ready, &mb->ready_link);
    atomic_fetch_add_explicit(&r->jobs_queued, 1, memory_order_relaxed);
    /* A worker holding the loop runs it itself as soon as the loop returns
     * (see worker_hold_loop); anyone else wakes an idle worker for it. */
    bool wake = r->idle_workers > 0 && !(genrpc__on_loop(r->loop) && !r->holder_dedicated);
    pthread_mutex_unlock(&r->mu);
    if (wake)
        pthread_cond_signal(&r->job_cond);
}

/* mu held by a worker holding the token: runs `job` with the token lent,
 * from `now`. Returns with mu held, and whether the token is still ours. */
static bool
run_lent(genrpc__runner *r, genrpc__job *job, int64_t now)
{
    GENRPC__ASSERT_HELD(&r->mu);
    uint64_t seq = ++r->lend_seq;
    r->lent = true;
    r->lent_since_ns = now;
    bool wake_watcher = !r->watching;
    pthread_mutex_unlock(&r->mu);
    if (wake_watcher)
        pthread_cond_signal(&r->loop_cond);
    genrpc__set_on_loop(NULL);
    tl_lend_seq = seq;
    tl_wake_skipped = false;
    genrpc__tl_job_started_ns = now;
    job->run(job);
    genrpc__tl_job_started_ns = 0;
    tl_lend_seq = 0;
    pthread_mutex_lock(&r->mu);
    bool still_ours = r->lent && r->lend_seq == seq;
    if (still_ours) {
        r->lent = false;
        genrpc__set_on_loop(r->loop);
    } else if (tl_wake_skipped) {
        genrpc__loop_wake(r->loop);
    }
    return still_ours;
}

/* One loop iteration; `more`: requests wait, so do not sleep. With busy
 * polling, for busy_poll_ns after the last read that brought bytes the
 * loop polls without sleeping: the next request or reply then costs no
 * wake-up. sched_yield lets any other runnable thread have the CPU first. */
static void
loop_once(genrpc__loop *loop, bool more, int64_t *last_input)
{
    if (more) {
        ev_run(loop->ev, EVRUN_NOWAIT);
        return;
    }
    uint64_t reads = loop->reads_done;
    if (loop->busy_poll_ns > 0 && genrpc__now_ns() - *last_input < loop->busy_poll_ns) {
        ev_run(loop->ev, EVRUN_NOWAIT);
        sched_yield();
    } else {
        ev_run(loop->ev, EVRUN_ONCE);
    }
    if (loop->reads_done != reads)
        *last_input = genrpc__now_ns();
}

/* A worker holding the token: runs the loop and, between polls, the
 * requests it yields. Returns (mu not held) when the loop is done or
 * the token was taken over while a handler ran. */
static void
worker_hold_loop(genrpc__runner *r)
{
    genrpc__set_on_loop(r->loop);
    int64_t polled = genrpc__now_ns(), last_input = polled;
    pthread_mutex_lock(&r->mu);
    for (;;) {
        if (r->loop_done) {
            release_token(r);
            pthread_cond_broadcast(&r->job_cond);
            break;
        }
        int64_t now = genrpc__now_ns();
        if (jobs_wait(r) && now - polled < POLL_EVERY_NS) {
            if (!run_lent(r, pop_job(r), now))
                break; /* taken over: a follower from now on */
            continue;
        }
        bool more = jobs_wait(r);
        pthread_mutex_unlock(&r->mu);
        loop_once(r->loop, more, &last_input);
        polled = genrpc__now_ns();
        pthread_mutex_lock(&r->mu);
    }
    pthread_mutex_unlock(&r->mu);
    genrpc__set_on_loop(NULL);
}

/* The dedicated thread holding the token: runs the loop until an idle
 * worker can take it over (it hands it on when no request waits, so the
 * woken worker finds none and takes the token) or the loop is done.
 * Requests the loop yields meanwhile wake workers (genrpc__runner_submit). */
static void
dedicated_hold_loop(genrpc__runner *r, bool *handed_off)
{
    genrpc__set_on_loop(r->loop);
    for (;;) {
        pthread_mutex_lock(&r->mu);
        if (r->loop_done) {
            release_token(r);
            pthread_cond_broadcast(&r->job_cond);
            break;
        }
        if (r->idle_workers > 0 && !jobs_wait(r)) {
            r->token_held = false;
            pthread_cond_signal(&r->job_cond);
            *handed_off = true;
            break;
        }
        pthread_mutex_unlock(&r->mu);
        ev_run(r->loop->ev, EVRUN_ONCE);
    }
    pthread_mutex_unlock(&r->mu);
    genrpc__set_on_loop(NULL);
}

void
genrpc__worker_blocking(void)
{
    genrpc__runner *r = (genrpc__runner *)tl_worker;
    uint64_t seq = tl_lend_seq;
    if (!r || !seq)
        return;
    tl_lend_seq = 0;
    pthread_mutex_lock(&r->mu);
    if (r->lent && r->lend_seq == seq) {
        r->lent = false;
        release_token(r);
        if (jobs_wait(r) && r->idle_workers > 0)
            pthread_cond_signal(&r->job_cond);
    }
    pthread_mutex_unlock(&r->mu);
}

static void *
worker_main(void *arg)
{
    genrpc__runner *r = arg;
    tl_worker = r;
    pthread_mutex_lock(&r->mu);
    while (!r->workers_quit) {
        genrpc__job *job = pop_job(r);
        if (!job && !r->token_held && !r->loop_done) {
            r->token_held = true;
            r->holder_dedicated = false;
            pthread_mutex_unlock(&r->mu);
            worker_hold_loop(r);
            pthread_mutex_lock(&r->mu);
            continue;
        }
        if (job) {
            pthread_mutex_unlock(&r->mu);
            job->run(job);
            pthread_mutex_lock(&r->mu);
            continue;
        }
        if (!r->workers_quit && (r->token_held || r->loop_done)) {
            r->idle_workers++;
            pthread_cond_wait(&r->job_cond, &r->mu);
            r->idle_workers--;
        }
    }
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

/* mu held. Waits on loop_cond until `until` (GENRPC__NEVER: no limit). */
static void
wait_loop_cond(genrpc__runner *r, int64_t until)
{
    GENRPC__ASSERT_HELD(&r->mu);
    if (until == GENRPC__NEVER) {
        pthread_cond_wait(&r->loop_cond, &r->mu);
        return;
    }
    struct timespec ts;
    genrpc__abstime(until, &ts);
    pthread_cond_timedwait(&r->loop_cond, &r->mu, &ts);
}

/* mu held, the token is lent: waits until the lending is STEAL_NS old; if
 * it still goes on, takes the token over. Returns whether it did. */
static bool
watch_lending(genrpc__runner *r)
{
    GENRPC__ASSERT_HELD(&r->mu);
    uint64_t seq = r->lend_seq;
    int64_t due = r->lent_since_ns + STEAL_NS;
    if (genrpc__now_ns() < due)
        wait_loop_cond(r, due);
    if (!r->lent || r->lend_seq != seq || genrpc__now_ns() < due || r->loop_done)
        return false;
    /* The handler blocks or runs long: the loop goes on here, and the
     * requests waiting behind it get idle workers. */
    r->lent = false;
    r->lend_seq++; /* the worker's polls_next() sees it is not the holder any more */
    r->holder_dedicated = true;
    if (jobs_wait(r))
        pthread_cond_broadcast(&r->job_cond);
    return true;
}

/* The dedicated loop thread: takes the token whenever it is free, and
 * takes it over from a worker whose lending lasts too long. */
static void *
loop_thread_main(void *arg)
{
    genrpc__runner *r = arg;
    bool handed_off = false;
    pthread_mutex_lock(&r->mu);
    while (!r->loop_done) {
        if (r->lent) {
            r->watching = true;
            if (!watch_lending(r))
                continue;
        } else if (r->token_held || handed_off) {
            /* After handing the token to a worker, wait until someone
             * gives it back (release_token signals), not just until it
             * looks free; while lendings are frequent, look every STEAL_NS. */
            handed_off = false;
            r->watching = r->token_held && r->watching &&
                          genrpc__now_ns() - r->lent_since_ns < WATCH_LINGER_NS;
            wait_loop_cond(r, r->watching ? genrpc__now_ns() + STEAL_NS : GENRPC__NEVER);
            continue;
        } else {
            r->token_held = true;
            r->holder_dedicated = true;
        }
        pthread_mutex_unlock(&r->mu);
        dedicated_hold_loop(r, &handed_off);
        pthread_mutex_lock(&r->mu);
    }
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

void
genrpc__runner_loop_done(genrpc__runner *r)
{
    GENRPC__ASSERT_ON_LOOP(r->loop);
    pthread_mutex_lock(&r->mu);
    r->loop_done = true;
    pthread_cond_broadcast(&r->loop_cond);
    pthread_cond_broadcast(&r->job_cond);
    pthread_mutex_unlock(&r->mu);
}

void
genrpc__runner_init(genrpc__runner *r, genrpc__loop *loop)
{
    r->loop = loop;
    genrpc__list_init(&r->ready);
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->job_cond, NULL);
    genrpc__cond_init_monotonic(&r->loop_cond); /* timed waits */
}

int
genrpc__runner_start(genrpc__runner *r, int n, genrpc_status *st)
{
    r->workers = calloc((size_t)n, sizeof *r->workers);
    if (!r->workers)
        return genrpc__fail(st, GENRPC_E_NOMEM, "no memory for the workers");
    for (int i = 0; i < n; i++) {
        if (pthread_create(&r->workers[i], NULL, worker_main, r) != 0)
            return genrpc__fail(st, GENRPC_E_SYSTEM, "cannot start a worker thread");
        r->n_workers++;
    }
    if (pthread_create(&r->thread, NULL, loop_thread_main, r) != 0)
        return genrpc__fail(st, GENRPC_E_SYSTEM, "cannot start the loop thread");
    r->thread_started = true;
    return genrpc__ok(st);
}

void
genrpc__runner_join_loop(genrpc__runner *r)
{
    if (r->thread_started)
        pthread_join(r->thread, NULL);
    r->thread_started = false;
}

void
genrpc__runner_stop_workers(genrpc__runner *r)
{
    pthread_mutex_lock(&r->mu);
    r->workers_quit = true;
    r->loop_done = true; /* start-up failures get here without a loop */
    pthread_cond_broadcast(&r->job_cond);
    pthread_cond_broadcast(&r->loop_cond);
    pthread_mutex_unlock(&r->mu);
    if (r->loop->ev)
        genrpc__loop_wake(r->loop); /* a holder waiting in ev_run sees loop_done */
    genrpc__runner_join_loop(r);
    for (int i = 0; i < r->n_workers; i++)
        pthread_join(r->workers[i], NULL);
    free(r->workers);
    r->workers = NULL;
    r->n_workers = 0;
    genrpc__list jobs; /* discarded outside the lock */
    genrpc__list_init(&jobs);
    pthread_mutex_lock(&r->mu);
    for (genrpc__job *job; (job = pop_job(r));)
        genrpc__list_push_back(&jobs, &job->link);
    pthread_mutex_unlock(&r->mu);
    for (genrpc__list *l; (l = genrpc__list_pop_front(&jobs));) {
        genrpc__job *job = GENRPC__CONTAINER_OF(l, genrpc__job, link);
        job->discard(job);
    }
}

void
genrpc__runner_destroy(genrpc__runner *r)
{
    pthread_mutex_destroy(&r->mu);
    pthread_cond_destroy(&r->job_cond);
    pthread_cond_destroy(&r->loop_cond);
}
