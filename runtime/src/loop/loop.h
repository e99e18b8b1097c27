/*
 * loop.h - the event loop (loop layer): one libev loop, the commands other
 * threads post to it, and the deferred work it runs before each poll.
 *
 * The loop knows nothing above it: a command is a genrpc__cmd embedded in
 * whatever object posts it (a connection, a pending call, a monitor, the
 * node), and its run() finds that object again with GENRPC__CONTAINER_OF.
 * Posting never allocates, so it cannot fail: a command is either queued
 * or already queued (then it runs once for both posts, as a coalesced
 * wake-up does). The object must outlive its queued command: whoever posts
 * it holds a reference for it, which run() drops.
 *
 * Who runs the loop (which thread, when) is the runner's business
 * (loop/runner.h); this file only says how to run one iteration.
 */
#ifndef GENRPC_LOOP_LOOP_H
#define GENRPC_LOOP_LOOP_H

#include <ev.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/assert.h"
#include "base/list.h"
#include "base/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct genrpc__loop genrpc__loop;
typedef struct genrpc__cmd genrpc__cmd;

/* A command: embedded in its object, initialised (genrpc__cmd_init) while
 * not queued, then posted any number of times. `link` and `queued` belong
 * to the loop (written under its cmd_mu; `queued` is also read without it,
 * by genrpc__cmd_queued: relaxed atomic accesses, through the gcc/clang
 * builtins so that C++ tests may include this header). */
struct genrpc__cmd {
    genrpc__list link; /* in the loop's commands or deferred work */
    void (*run)(genrpc__cmd *cmd); /* on the loop thread */
    bool queued;
};

static inline void
genrpc__cmd_init(genrpc__cmd *cmd, void (*run)(genrpc__cmd *cmd))
{
    genrpc__list_init(&cmd->link);
    cmd->run = run;
    __atomic_store_n(&cmd->queued, false, __ATOMIC_RELAXED);
}

/* cmd is queued (not yet popped to run), read without the loop's lock:
 * see genrpc__loop_defer for what "true" guarantees. */
static inline bool
genrpc__cmd_queued(const genrpc__cmd *cmd)
{
    return __atomic_load_n(&cmd->queued, __ATOMIC_RELAXED);
}

struct genrpc__loop {
    struct ev_loop *ev; /* the libev loop: watchers of this loop start on it */
    ev_async wake;      /* other threads' posts wake it */
    ev_prepare before_poll; /* runs commands and deferred work before each poll */
    pthread_mutex_t cmd_mu;
    genrpc__list cmds;     /* posted commands (cmd_mu) */
    /* deferred work, in the order it was queued (cmd_mu): for connections'
     * output, replies go out in the order their requests were served */
    genrpc__list deferred;
    uint64_t reads_done;  /* loop only: reads that brought bytes (busy polling) */
    int64_t busy_poll_ns; /* poll without sleeping this long after input; 0: never */
};

/* Creates the libev loop and its two watchers. */
int genrpc__loop_init(genrpc__loop *loop, int64_t busy_poll_ns, genrpc_status *st);
/* Runs whatever is still queued (each command only releases what it
 * holds by then), then frees the libev loop. Nothing may post afterwards. */
void genrpc__loop_destroy(genrpc__loop *loop);

/* Any thread: runs cmd->run(cmd) on the loop soon, waking it. True if this
 * queued it; false if it was queued already (it runs once). Never fails. */
bool genrpc__loop_post(genrpc__loop *loop, genrpc__cmd *cmd);

/* Any thread: queues cmd to run on the loop before it next polls, without
 * waking it (the caller decides: genrpc__loop_wake, unless the calling
 * thread polls next, see genrpc__runner_defer). FIFO. True if this queued
 * it; false if it was queued already. Never fails.
 * Queued already is seen without the loop's lock (a batch of replies on
 * one connection costs one load each after the first), so on false the
 * command's run is only known to start after this call: whatever it must
 * see of the caller's work, the caller publishes under a lock that run
 * takes (a connection's flush takes its out_mu, which the sender released
 * after queueing its frame). */
bool genrpc__loop_defer(genrpc__loop *loop, genrpc__cmd *cmd);
/* Any thread: makes the loop run an iteration (ev_async_send). */
void genrpc__loop_wake(genrpc__loop *loop);

/* The calling thread runs `loop` (NULL: none) from now on: set by whoever
 * runs it (loop/runner.c). A thread-local: on_loop is one load. */
void genrpc__set_on_loop(genrpc__loop *loop);
/* The calling thread runs `loop`: blocking calls from a loop callback
 * would deadlock (rpc/call.c refuses them), and "loop only" state may be
 * touched. */
bool genrpc__on_loop(const genrpc__loop *loop);

#if GENRPC__CHECKED
#define GENRPC__ASSERT_ON_LOOP(loop) \
    (genrpc__on_loop(loop) ? (void)0 : genrpc__assert_fail("on the loop", __FILE__, __LINE__))
#else
#define GENRPC__ASSERT_ON_LOOP(loop) ((void)(loop))
#endif

#ifdef __cplusplus
}
#endif

#endif /* GENRPC_LOOP_LOOP_H */
