/*
 * cluster.c - genrpc/cluster.h: joining and leaving, the member cache the
 * dialer resolves names from, the member list, and member events
 * (cluster.h has who owns what; session.c talks to etcd).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/status.h"
#include "cluster/cluster.h"
#include "net/dialer.h"

#define DEFAULT_PREFIX "/genrpc/default/"

/* ---- the member cache (mu) --------------------------------------------- */

/* The index of name in the sorted cache, or where it would go (*found false). */
static size_t
find(const genrpc_cluster *c, const char *name, bool *found)
{
    size_t lo = 0, hi = c->n_members;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int cmp = strcmp(c->members[mid].name, name);
        if (cmp == 0) {
            *found = true;
            return mid;
        }
        if (cmp < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = false;
    return lo;
}

static void
queue_event(genrpc_cluster *c, const genrpc__member *m, genrpc_cluster_event ev)
{
    genrpc__session *s = &c->s;
    if (s->n_events == s->cap_events) {
        size_t cap = s->cap_events ? 2 * s->cap_events : 16;
        genrpc__member_event *p = realloc(s->events, cap * sizeof *p);
        if (!p) {
            genrpc__log(c->ncfg, GENRPC_LOG_ERROR, "cluster: no memory: member %s's event lost",
                        m->name);
            return;
        }
        s->events = p;
        s->cap_events = cap;
    }
    s->events[s->n_events++] = (genrpc__member_event){*m, ev};
}

/* mu held. */
static void
put_locked(genrpc_cluster *c, const genrpc__member *m)
{
    bool found;
    size_t i = find(c, m->name, &found);
    if (found) {
        c->members[i] = *m; /* moved: the same member at a new address */
        return;
    }
    if (c->n_members == c->cap_members) {
        size_t cap = c->cap_members ? 2 * c->cap_members : 16;
        genrpc__member *p = realloc(c->members, cap * sizeof *p);
        if (!p) {
            genrpc__log(c->ncfg, GENRPC_LOG_ERROR, "cluster: no memory: member %s not cached",
                        m->name);
            return;
        }
        c->members = p;
        c->cap_members = cap;
    }
    memmove(&c->members[i + 1], &c->members[i], (c->n_members - i) * sizeof *c->members);
    c->members[i] = *m;
    c->n_members++;
    queue_event(c, m, GENRPC_MEMBER_JOINED);
}

/* mu held. */
static void
del_locked(genrpc_cluster *c, const char *name)
{
    bool found;
    size_t i = find(c, name, &found);
    if (!found)
        return;
    queue_event(c, &c->members[i], GENRPC_MEMBER_LEFT);
    c->n_members--;
    memmove(&c->members[i], &c->members[i + 1], (c->n_members - i) * sizeof *c->members);
}

void
genrpc__cluster_put(genrpc_cluster *c, const genrpc__member *m)
{
    pthread_mutex_lock(&c->mu);
    put_locked(c, m);
    pthread_mutex_unlock(&c->mu);
}

void
genrpc__cluster_del(genrpc_cluster *c, const char *name)
{
    pthread_mutex_lock(&c->mu);
    del_locked(c, name);
    pthread_mutex_unlock(&c->mu);
}

static bool
listed(const genrpc__member *list, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i].name, name) == 0)
            return true;
    return false;
}

void
genrpc__cluster_replace(genrpc_cluster *c, const genrpc__member *list, size_t n)
{
    pthread_mutex_lock(&c->mu);
    for (size_t i = c->n_members; i-- > 0;)
        if (!listed(list, n, c->members[i].name))
            del_locked(c, c->members[i].name);
    for (size_t i = 0; i < n; i++)
        put_locked(c, &list[i]);
    pthread_mutex_unlock(&c->mu);
}

void
genrpc__cluster_set_connected(genrpc_cluster *c, bool on, const char *why)
{
    pthread_mutex_lock(&c->mu);
    c->connected = on;
    c->ever_connected |= on;
    if (why)
        snprintf(c->last_error, sizeof c->last_error, "%s", why);
    pthread_cond_broadcast(&c->cond);
    pthread_mutex_unlock(&c->mu);
}

/* ---- member events ------------------------------------------------------ */

static void
to_public(const genrpc__member *m, genrpc_cluster_member *out)
{
    *out = (genrpc_cluster_member){m->name, m->host, m->port, m->driver};
}

/* mu held; s linked, not busy: calls it with events (mu released). */
static void
call_sub(genrpc_cluster *c, genrpc__sub *s, const genrpc__member_event *ev, size_t n)
{
    s->busy = true;
    pthread_mutex_unlock(&c->mu);
    for (size_t i = 0; i < n; i++) {
        genrpc_cluster_member m;
        to_public(&ev[i].m, &m);
        s->cb(c, &m, ev[i].event, s->user);
    }
    pthread_mutex_lock(&c->mu);
    s->busy = false;
    pthread_cond_broadcast(&c->cond);
}

/* New subscribers: JOINED for every member of the moment. */
static void
prime(genrpc_cluster *c)
{
    pthread_mutex_lock(&c->mu);
    for (genrpc__sub *s = c->subs; s; s = s->next) {
        if (s->primed)
            continue;
        s->primed = true;
        size_t n = c->n_members;
        genrpc__member_event *snap = malloc((n ? n : 1) * sizeof *snap);
        if (!snap) {
            genrpc__log(c->ncfg, GENRPC_LOG_ERROR, "cluster: no memory to prime a subscriber");
            continue;
        }
        for (size_t i = 0; i < n; i++)
            snap[i] = (genrpc__member_event){c->members[i], GENRPC_MEMBER_JOINED};
        call_sub(c, s, snap, n);
        free(snap);
    }
    pthread_mutex_unlock(&c->mu);
}

void
genrpc__cluster_deliver(genrpc_cluster *c)
{
    prime(c);
    genrpc__session *s = &c->s;
    if (s->n_events == 0)
        return;
    pthread_mutex_lock(&c->mu);
    for (genrpc__sub *sub = c->subs; sub; sub = sub->next)
        if (sub->primed)
            call_sub(c, sub, s->events, s->n_events);
    pthread_mutex_unlock(&c->mu);
    for (size_t i = 0; i < s->n_events; i++)
        genrpc__log(c->ncfg, GENRPC_LOG_INFO, "cluster: member %s %s", s->events[i].m.name,
                    s->events[i].event == GENRPC_MEMBER_JOINED ? "joined" : "left");
    s->n_events = 0;
}

static bool
on_cluster_thread(genrpc_cluster *c)
{
    return pthread_equal(pthread_self(), c->thread);
}

int
genrpc_cluster_subscribe(genrpc_cluster *c, genrpc_cluster_event_cb cb, void *user,
                         genrpc_status *st)
{
    if (!c || !cb)
        return genrpc__fail(st, GENRPC_E_INVAL, "cluster and cb are required");
    if (on_cluster_thread(c))
        return genrpc__fail(st, GENRPC_E_INVAL, "subscribe from a member event callback");
    genrpc__sub *s = calloc(1, sizeof *s);
    if (!s)
        return genrpc__fail(st, GENRPC_E_NOMEM, "no memory for a subscriber");
    s->cb = cb;
    s->user = user;
    pthread_mutex_lock(&c->mu);
    genrpc__sub **tail = &c->subs;
    while (*tail)
        tail = &(*tail)->next;
    *tail = s;
    pthread_mutex_unlock(&c->mu);
    genrpc__session_wake(c);
    return genrpc__ok(st);
}

int
genrpc_cluster_unsubscribe(genrpc_cluster *c, genrpc_cluster_event_cb cb, void *user)
{
    if (!c || on_cluster_thread(c))
        return GENRPC_E_INVAL;
    pthread_mutex_lock(&c->mu);
    for (genrpc__sub **p = &c->subs; *p; p = &(*p)->next) {
        genrpc__sub *s = *p;
        if (s->cb != cb || s->user != user)
            continue;
        while (s->busy)
            pthread_cond_wait(&c->cond, &c->mu);
        /* the list may have changed while we waited: find it again */
        for (p = &c->subs; *p != s; p = &(*p)->next)
            ;
        *p = s->next;
        pthread_mutex_unlock(&c->mu);
        free(s);
        return GENRPC_OK;
    }
    pthread_mutex_unlock(&c->mu);
    return GENRPC_E_INVAL;
}

/* ---- what callers read -------------------------------------------------- */

/* The dialer's resolver (net/dialer.c): callers' threads. */
static int
resolve(void *arg, const char *name, char *host, size_t hostlen, genrpc_driver *driver,
        int *port, genrpc_status *st)
{
    genrpc_cluster *c = arg;
    pthread_mutex_lock(&c->mu);
    bool found;
    size_t i = find(c, name, &found);
    if (found) {
        snprintf(host, hostlen, "%s", c->members[i].host);
        *driver = c->members[i].driver;
        *port = c->members[i].port;
    }
    pthread_mutex_unlock(&c->mu);
    if (!found)
        return genrpc__fail(st, GENRPC_E_DISCOVERY,
                            "node %s is not a member of the cluster (no key %s%s in etcd: not "
                            "registered, left, or its lease expired)",
                            name, c->prefix, name);
    return GENRPC_OK;
}

int
genrpc_cluster_members(genrpc_cluster *c, genrpc_cluster_member **members, size_t *n,
                       genrpc_status *st)
{
    if (!c || !members || !n)
        return genrpc__fail(st, GENRPC_E_INVAL, "cluster, members and n are required");
    *members = NULL;
    *n = 0;
    pthread_mutex_lock(&c->mu);
    size_t count = c->n_members, bytes = 0;
    for (size_t i = 0; i < count; i++)
        bytes += strlen(c->members[i].name) + strlen(c->members[i].host) + 2;
    genrpc_cluster_member *out = malloc(count * sizeof *out + bytes + 1);
    if (!out) {
        pthread_mutex_unlock(&c->mu);
        return genrpc__fail(st, GENRPC_E_NOMEM, "no memory for the member list");
    }
    char *p = (char *)(out + count);
    for (size_t i = 0; i < count; i++) {
        const genrpc__member *m = &c->members[i];
        out[i] = (genrpc_cluster_member){p, NULL, m->port, m->driver};
        p = stpcpy(p, m->name) + 1;
        out[i].host = p;
        p = stpcpy(p, m->host) + 1;
    }
    pthread_mutex_unlock(&c->mu);
    *members = out;
    *n = count;
    return genrpc__ok(st);
}

int
genrpc_cluster_member_targets(genrpc_cluster *c, genrpc_target **targets, size_t *n,
                              genrpc_status *st)
{
    if (!c || !targets || !n)
        return genrpc__fail(st, GENRPC_E_INVAL, "cluster, targets and n are required");
    *targets = NULL;
    *n = 0;
    pthread_mutex_lock(&c->mu);
    const char *self = c->ncfg->name;
    bool self_listed;
    find(c, self, &self_listed);
    bool self_first = !c->observe_only;
    size_t count = c->n_members + (self_first && !self_listed), bytes = strlen(self) + 1;
    for (size_t i = 0; i < c->n_members; i++)
        bytes += strlen(c->members[i].name) + 1;
    genrpc_target *out = malloc(count * sizeof *out + bytes);
    if (!out) {
        pthread_mutex_unlock(&c->mu);
        return genrpc__fail(st, GENRPC_E_NOMEM, "no memory for the target list");
    }
    char *p = (char *)(out + count);
    size_t k = 0;
    if (self_first) {
        out[k++] = genrpc_node_target(p);
        p = stpcpy(p, self) + 1;
    }
    for (size_t i = 0; i < c->n_members; i++) {
        if (self_first && strcmp(c->members[i].name, self) == 0)
            continue;
        out[k++] = genrpc_node_target(p);
        p = stpcpy(p, c->members[i].name) + 1;
    }
    pthread_mutex_unlock(&c->mu);
    *targets = out;
    *n = count;
    return genrpc__ok(st);
}

bool
genrpc_cluster_connected(genrpc_cluster *c)
{
    if (!c)
        return false;
    pthread_mutex_lock(&c->mu);
    bool on = c->connected;
    pthread_mutex_unlock(&c->mu);
    return on;
}

/* ---- join and leave ------------------------------------------------------ */

static void
cluster_free(genrpc_cluster *c)
{
    for (size_t i = 0; i < c->n_endpoints; i++)
        free(c->endpoints[i]);
    free(c->endpoints);
    free(c->prefix);
    free(c->key);
    free(c->value);
    free(c->username);
    free(c->password);
    free((char *)c->http.ca_file);
    free((char *)c->http.cert_file);
    free((char *)c->http.key_file);
    free(c->members);
    free(c->s.events);
    while (c->subs) {
        genrpc__sub *s = c->subs;
        c->subs = s->next;
        free(s);
    }
    pthread_mutex_destroy(&c->mu);
    pthread_cond_destroy(&c->cond);
    free(c);
}

/* strdup that keeps NULL; *ok goes false when memory runs out. */
static char *
dup_opt(const char *s, bool *ok)
{
    char *d = s ? strdup(s) : NULL;
    if (s && !d)
        *ok = false;
    return d;
}

static int
check_config(genrpc_node *node, const genrpc_cluster_config *cfg, genrpc_status *st)
{
    if (!node || !cfg)
        return genrpc__fail(st, GENRPC_E_INVAL, "node and cfg are required");
    if (!cfg->endpoints || cfg->n_endpoints == 0)
        return genrpc__fail(st, GENRPC_E_INVAL, "cluster: no etcd endpoint given");
    for (size_t i = 0; i < cfg->n_endpoints; i++) {
        const char *e = cfg->endpoints[i];
        if (!e || (strncmp(e, "http://", 7) != 0 && strncmp(e, "https://", 8) != 0) ||
            strlen(e) > 200)
            return genrpc__fail(st, GENRPC_E_INVAL,
                                "cluster: etcd endpoint '%s' is not http://host:port or "
                                "https://host:port", e ? e : "(null)");
    }
    if (cfg->prefix && (!cfg->prefix[0] || strlen(cfg->prefix) > 200))
        return genrpc__fail(st, GENRPC_E_INVAL, "cluster: prefix must be 1 to 200 bytes");
    if (cfg->lease_ttl_s != 0 && (cfg->lease_ttl_s < 2 || cfg->lease_ttl_s > 3600))
        return genrpc__fail(st, GENRPC_E_INVAL, "cluster: lease_ttl_s %d is not in [2, 3600]",
                            cfg->lease_ttl_s);
    if (cfg->advertise_port < 0 || cfg->advertise_port > 65535)
        return genrpc__fail(st, GENRPC_E_INVAL, "cluster: bad advertise_port %d",
                            cfg->advertise_port);
    if (cfg->advertise_driver != GENRPC_DRIVER_TCP && cfg->advertise_driver != GENRPC_DRIVER_TLS)
        return genrpc__fail(st, GENRPC_E_INVAL, "cluster: unknown advertise_driver %d",
                            cfg->advertise_driver);
    if (cfg->request_timeout_ms < 0 || cfg->retry_min_ms < 0 || cfg->retry_max_ms < 0 ||
        (cfg->join_timeout_ms < 0 && cfg->join_timeout_ms != GENRPC_CLUSTER_NO_WAIT))
        return genrpc__fail(st, GENRPC_E_INVAL, "cluster: negative timeout");
    if (cfg->username && strlen(cfg->username) > 100)
        return genrpc__fail(st, GENRPC_E_INVAL, "cluster: username too long");
    return GENRPC_OK;
}

/* Our own member record: where peers reach this node. */
static int
self_member(genrpc_node *node, const genrpc_cluster_config *cfg, genrpc__member *m,
            genrpc_status *st)
{
    const char *name = node->cfg.name;
    snprintf(m->name, sizeof m->name, "%s", name);
    const char *host = cfg->advertise_host ? cfg->advertise_host : strchr(name, '@') + 1;
    if (!host[0] || strlen(host) >= sizeof m->host)
        return genrpc__fail(st, GENRPC_E_INVAL, "cluster: bad advertise_host");
    snprintf(m->host, sizeof m->host, "%s", host);
    m->driver = cfg->advertise_driver;
    m->port = cfg->advertise_port ? cfg->advertise_port
              : m->driver == GENRPC_DRIVER_TLS ? genrpc_node_ssl_port(node)
                                               : genrpc_node_tcp_port(node);
    if (m->port <= 0 && !cfg->observe_only)
        return genrpc__fail(st, GENRPC_E_INVAL,
                            "cluster: node %s has no %s listener to advertise", name,
                            m->driver == GENRPC_DRIVER_TLS ? "TLS" : "TCP");
    return GENRPC_OK;
}

static genrpc_cluster *
cluster_new(genrpc_node *node, const genrpc_cluster_config *cfg, const genrpc__member *self)
{
    genrpc_cluster *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    pthread_mutex_init(&c->mu, NULL);
    genrpc__cond_init_monotonic(&c->cond);
    c->node = node;
    c->ncfg = &node->cfg;
    bool ok = true;
    c->endpoints = calloc(cfg->n_endpoints, sizeof *c->endpoints);
    ok = c->endpoints != NULL;
    for (size_t i = 0; ok && i < cfg->n_endpoints; i++, c->n_endpoints++) {
        c->endpoints[i] = dup_opt(cfg->endpoints[i], &ok);
        size_t len = ok ? strlen(c->endpoints[i]) : 0;
        while (len > 0 && c->endpoints[i][len - 1] == '/')
            c->endpoints[i][--len] = '\0';
    }
    c->prefix = dup_opt(cfg->prefix ? cfg->prefix : DEFAULT_PREFIX, &ok);
    c->username = dup_opt(cfg->username, &ok);
    c->password = dup_opt(cfg->password, &ok);
    c->http.ca_file = dup_opt(cfg->ca_file, &ok);
    c->http.cert_file = dup_opt(cfg->cert_file, &ok);
    c->http.key_file = dup_opt(cfg->key_file, &ok);
    c->value = genrpc__etcd_member_value(self);
    size_t keylen = (c->prefix ? strlen(c->prefix) : 0) + strlen(self->name) + 1;
    if (ok && c->prefix && (c->key = malloc(keylen)))
        snprintf(c->key, keylen, "%s%s", c->prefix, self->name);
    c->ttl_s = cfg->lease_ttl_s ? cfg->lease_ttl_s : GENRPC_CLUSTER_TTL_S;
    c->observe_only = cfg->observe_only;
    c->request_timeout_ms = cfg->request_timeout_ms ? cfg->request_timeout_ms : 2000;
    c->retry_min_ms = cfg->retry_min_ms ? cfg->retry_min_ms : 100;
    c->retry_max_ms = cfg->retry_max_ms ? cfg->retry_max_ms : 2000;
    if (c->retry_max_ms < c->retry_min_ms)
        c->retry_max_ms = c->retry_min_ms;
    c->http.connect_timeout_ms = c->request_timeout_ms;
    if (!ok || !c->value || !c->key) {
        cluster_free(c);
        return NULL;
    }
    return c;
}

/* Waits up to timeout_ms for the first registration; GENRPC_OK or fills st. */
static int
wait_registered(genrpc_cluster *c, int64_t timeout_ms, genrpc_status *st)
{
    struct timespec ts;
    genrpc__abstime(genrpc__deadline_after_ms(timeout_ms), &ts);
    pthread_mutex_lock(&c->mu);
    int rc = 0;
    while (!c->ever_connected && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&c->cond, &c->mu, &ts);
    bool ok = c->ever_connected;
    char why[sizeof c->last_error];
    snprintf(why, sizeof why, "%s", c->last_error[0] ? c->last_error : "no answer");
    pthread_mutex_unlock(&c->mu);
    if (ok)
        return GENRPC_OK;
    return genrpc__fail(st, GENRPC_E_CONNECT, "cluster: not registered in etcd within %lld ms: %s",
                        (long long)timeout_ms, why);
}

int
genrpc_cluster_join(genrpc_node *node, const genrpc_cluster_config *cfg, genrpc_cluster **out,
                    genrpc_status *st)
{
    if (!out)
        return genrpc__fail(st, GENRPC_E_INVAL, "out is required");
    *out = NULL;
    int rc = check_config(node, cfg, st);
    genrpc__member self;
    if (rc == GENRPC_OK)
        rc = self_member(node, cfg, &self, st);
    if (rc != GENRPC_OK)
        return rc;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return genrpc__fail(st, GENRPC_E_SYSTEM, "cluster: libcurl failed to initialise");
    genrpc_cluster *c = cluster_new(node, cfg, &self);
    if (!c) {
        curl_global_cleanup();
        return genrpc__fail(st, GENRPC_E_NOMEM, "no memory for a cluster");
    }
    genrpc__resolver r = {resolve, c};
    if (!genrpc__dial_set_resolver(&node->net, &r)) {
        cluster_free(c);
        curl_global_cleanup();
        return genrpc__fail(st, GENRPC_E_INVAL, "node %s has already joined a cluster",
                            node->cfg.name);
    }
    int err = genrpc__session_start(c);
    if (err != 0) {
        genrpc__dial_set_resolver(&node->net, NULL);
        cluster_free(c);
        curl_global_cleanup();
        return genrpc__fail(st, GENRPC_E_SYSTEM, "cluster: cannot start its thread: %s",
                            strerror(err));
    }
    int64_t wait = cfg->join_timeout_ms ? cfg->join_timeout_ms : 5000;
    if (wait != GENRPC_CLUSTER_NO_WAIT && (rc = wait_registered(c, wait, st)) != GENRPC_OK) {
        genrpc_cluster_leave(c);
        return rc;
    }
    genrpc__log(c->ncfg, GENRPC_LOG_INFO, "cluster: %s %s %s (lease TTL %d s)", node->cfg.name,
                c->observe_only ? "watches" : "joined", c->prefix, c->ttl_s);
    *out = c;
    return genrpc__ok(st);
}

int
genrpc_cluster_leave(genrpc_cluster *c)
{
    if (!c)
        return GENRPC_OK;
    if (on_cluster_thread(c))
        return GENRPC_E_INVAL;
    genrpc__session_stop(c);
    genrpc__dial_set_resolver(&c->node->net, NULL);
    cluster_free(c);
    curl_global_cleanup();
    return GENRPC_OK;
}
