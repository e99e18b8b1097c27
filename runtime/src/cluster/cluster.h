/*
 * cluster.h - a node's membership of an etcd cluster (cluster/, above rpc/
 * beside node.c): the object behind genrpc/cluster.h.
 *
 * Owners: cluster.c (the configuration copy, the member cache and the
 * subscribers, under mu; the resolver the dialer asks), session.c (the
 * thread and everything in `s`: the etcd session, its requests and
 * back-off; only that thread touches it).
 */
#ifndef GENRPC_CLUSTER_CLUSTER_H
#define GENRPC_CLUSTER_CLUSTER_H

#include <pthread.h>
#include <stdatomic.h>

#include "cluster/etcd.h"
#include "cluster/http.h"
#include "rpc/node.h"

typedef struct genrpc__sub {
    genrpc_cluster_event_cb cb;
    void *user;
    bool primed; /* has had JOINED for the members of its time */
    bool busy;   /* being called (mu released): unsubscribe waits */
    struct genrpc__sub *next;
} genrpc__sub;

/* A change to tell subscribers about. */
typedef struct genrpc__member_event {
    genrpc__member m;
    genrpc_cluster_event event;
} genrpc__member_event;

typedef enum genrpc__step {
    GENRPC__STEP_NONE = 0,
    GENRPC__STEP_AUTH,      /* username/password -> token */
    GENRPC__STEP_REVIVE,    /* is the lease we had still alive? */
    GENRPC__STEP_GRANT,     /* a new lease */
    GENRPC__STEP_PUT,       /* our key, on the lease */
    GENRPC__STEP_RANGE,     /* every member, and the revision to watch from */
    GENRPC__STEP_WATCH,     /* start the watch: the session is live */
    GENRPC__STEP_KEEPALIVE, /* live: renew the lease */
} genrpc__step;

/* session.c's, its thread's only. */
typedef struct genrpc__session {
    CURLM *multi;
    genrpc__http_req unary; /* one step at a time */
    genrpc__step unary_step;
    genrpc__http_req watch;
    genrpc__step want;      /* the step to start next */
    bool live;              /* registered, watching */
    size_t ep;              /* the endpoint in use */
    int64_t lease, revision;
    char token[256];
    int64_t backoff_ms, retry_at_ms, keepalive_at_ms;
    char watch_err[256];    /* a bad watch message: the session fails */
    genrpc__member_event *events; /* found while reading, told after */
    size_t n_events, cap_events;
} genrpc__session;

struct genrpc_cluster {
    genrpc_node *node;
    const genrpc_node_config *ncfg; /* the node's: name, log sink */

    /* the configuration (copied, defaults applied), read-only */
    char **endpoints;
    size_t n_endpoints;
    char *prefix, *key, *value; /* the cluster's prefix; our key and value */
    char *username, *password;
    genrpc__http_opts http;    /* ca/cert/key files; token set by session.c */
    int ttl_s;
    bool observe_only;         /* registers nothing: no lease, no key */
    int64_t request_timeout_ms, retry_min_ms, retry_max_ms;

    /* mu: the member cache (sorted by name), subscribers, the state */
    pthread_mutex_t mu;
    pthread_cond_t cond;       /* connected changes; a subscriber stops being busy */
    genrpc__member *members;
    size_t n_members, cap_members;
    genrpc__sub *subs;
    bool connected;            /* session live */
    bool ever_connected;
    char last_error[256];

    pthread_t thread;
    atomic_bool stopping;
    genrpc__session s;
};

/* cluster.c, for session.c (its thread): the cache changes, each queued as
 * an event on s (put: JOINED when new; del: LEFT when it was there;
 * replace: the difference), then told to subscribers by
 * genrpc__cluster_deliver (after priming new ones). */
void genrpc__cluster_put(genrpc_cluster *c, const genrpc__member *m);
void genrpc__cluster_del(genrpc_cluster *c, const char *name);
void genrpc__cluster_replace(genrpc_cluster *c, const genrpc__member *list, size_t n);
void genrpc__cluster_deliver(genrpc_cluster *c);
void genrpc__cluster_set_connected(genrpc_cluster *c, bool on, const char *why);

/* session.c: the thread. start: 0 or an errno; stop: joins it (it revokes
 * the lease on the way out). */
int genrpc__session_start(genrpc_cluster *c);
void genrpc__session_stop(genrpc_cluster *c);
/* Any thread: the thread looks at its subscribers and state now. */
void genrpc__session_wake(genrpc_cluster *c);

#endif /* GENRPC_CLUSTER_CLUSTER_H */
