/*
 * session.c - the cluster's thread: its session with etcd.
 *
 * One thread per joined cluster runs a libcurl multi handle: nothing here
 * runs on (or blocks) the node's event loop, and libcurl's own event loop
 * is not grafted onto libev (docs/RATIONALE.md, "etcd on a thread of its
 * own"). A session walks its steps one request at a time:
 *
 *   [AUTH] -> REVIVE (had a lease) | GRANT -> PUT -> RANGE -> WATCH (live)
 *
 * and, live, renews the lease every TTL/3 (KEEPALIVE) while the watch
 * streams changes to the member cache. An observer (observe_only) goes
 * straight to RANGE and WATCH: no lease, and no keepalive; a dead etcd
 * connection is then noticed by TCP keepalive (curl's, 2 s idle). Any failure ends the session: the
 * cache keeps serving, the next endpoint is tried after a back-off that
 * doubles (retry_min_ms .. retry_max_ms), and the walk starts again; a
 * lease that expired meanwhile is replaced (GRANT), so a node re-registers
 * by itself when etcd comes back.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/status.h"
#include "cluster/cluster.h"

static int64_t
now_ms(void)
{
    return genrpc__now_ns() / 1000000;
}

static const char *
step_name(genrpc__step step)
{
    static const char *const names[] = {"none",  "authenticate", "lease keepalive", "lease grant",
                                        "put",   "range",        "watch",           "lease keepalive"};
    return names[step];
}

static const char *
step_path(genrpc__step step)
{
    switch (step) {
    case GENRPC__STEP_AUTH: return "/v3/auth/authenticate";
    case GENRPC__STEP_REVIVE:
    case GENRPC__STEP_KEEPALIVE: return "/v3/lease/keepalive";
    case GENRPC__STEP_GRANT: return "/v3/lease/grant";
    case GENRPC__STEP_PUT: return "/v3/kv/put";
    case GENRPC__STEP_RANGE: return "/v3/kv/range";
    default: return "/v3/watch";
    }
}

/* Ends the session: the cache stays, the next endpoint is tried later. */
static void
fail(genrpc_cluster *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
fail(genrpc_cluster *c, const char *fmt, ...)
{
    genrpc__session *s = &c->s;
    char why[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    genrpc__http_end(s->multi, &s->unary);
    genrpc__http_end(s->multi, &s->watch);
    s->unary_step = s->want = GENRPC__STEP_NONE;
    bool was_live = s->live;
    s->live = false;
    s->token[0] = '\0';
    genrpc__cluster_set_connected(c, false, why);
    /* the first failure of a streak is a warning, the retries debug */
    bool first = was_live || s->backoff_ms == c->retry_min_ms;
    genrpc__log(c->ncfg, first ? GENRPC_LOG_WARN : GENRPC_LOG_DEBUG,
                "cluster: etcd %s: %s; serving the cached member list, retrying in %lld ms",
                c->endpoints[s->ep], why, (long long)s->backoff_ms);
    s->ep = (s->ep + 1) % c->n_endpoints;
    s->retry_at_ms = now_ms() + s->backoff_ms;
    s->backoff_ms = s->backoff_ms * 2 > c->retry_max_ms ? c->retry_max_ms : s->backoff_ms * 2;
}

static char *
step_body(genrpc_cluster *c, genrpc__step step)
{
    genrpc__session *s = &c->s;
    switch (step) {
    case GENRPC__STEP_AUTH: return genrpc__etcd_auth_body(c->username, c->password);
    case GENRPC__STEP_REVIVE:
    case GENRPC__STEP_KEEPALIVE: return genrpc__etcd_lease_body(s->lease);
    case GENRPC__STEP_GRANT: return genrpc__etcd_grant_body(c->ttl_s);
    case GENRPC__STEP_PUT: return genrpc__etcd_put_body(c->key, c->value, s->lease);
    case GENRPC__STEP_RANGE: return genrpc__etcd_range_body(c->prefix);
    default: return genrpc__etcd_watch_body(c->prefix, s->revision + 1);
    }
}

static void
start_step(genrpc_cluster *c, genrpc__step step)
{
    genrpc__session *s = &c->s;
    char url[300];
    snprintf(url, sizeof url, "%s%s", c->endpoints[s->ep], step_path(step));
    c->http.token = s->token[0] ? s->token : NULL;
    bool watch = step == GENRPC__STEP_WATCH;
    genrpc__http_req *r = watch ? &s->watch : &s->unary;
    if (genrpc__http_start(s->multi, r, &c->http, url, step_body(c, step),
                           watch ? 0 : c->request_timeout_ms) != 0) {
        fail(c, "%s: %s", step_name(step), r->err);
        return;
    }
    if (!watch) {
        s->unary_step = step;
        return;
    }
    /* live: registered, the member list read, the watch on its way */
    bool was = s->live;
    s->live = true;
    s->backoff_ms = c->retry_min_ms;
    s->keepalive_at_ms = now_ms() + c->ttl_s * 1000 / 3;
    genrpc__cluster_set_connected(c, true, NULL);
    if (!was)
        genrpc__log(c->ncfg, GENRPC_LOG_INFO, "cluster: %s %s in etcd at %s",
                    c->observe_only ? "watching" : "registered",
                    c->observe_only ? c->prefix : c->key, c->endpoints[s->ep]);
}

/* RANGE's reply: every member, and the revision the watch starts after. */
static bool
read_members(genrpc_cluster *c, const json_t *reply)
{
    json_t *kvs = json_object_get(reply, "kvs");
    size_t n = json_array_size(kvs), k = 0;
    genrpc__member *list = malloc((n ? n : 1) * sizeof *list);
    if (!list) {
        fail(c, "no memory for %zu members", n);
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char key[512], value[1024], err[300];
        json_t *kv = json_array_get(kvs, i);
        if (genrpc__etcd_bytes(kv, "key", key, sizeof key) < 0 ||
            genrpc__etcd_bytes(kv, "value", value, sizeof value) < 0)
            genrpc__log(c->ncfg, GENRPC_LOG_WARN, "cluster: an undecodable key under %s",
                        c->prefix);
        else if (genrpc__etcd_member_parse(c->prefix, key, value, &list[k], err, sizeof err) != 0)
            genrpc__log(c->ncfg, GENRPC_LOG_WARN, "cluster: ignored: %s", err);
        else
            k++;
    }
    c->s.revision = genrpc__etcd_revision(reply);
    genrpc__cluster_replace(c, list, k);
    free(list);
    return true;
}

/* A unary step answered: the next one. */
static void
step_done(genrpc_cluster *c, const json_t *reply)
{
    genrpc__session *s = &c->s;
    genrpc__step step = s->unary_step;
    s->unary_step = GENRPC__STEP_NONE;
    int64_t ttl = genrpc__etcd_int(reply, "TTL");
    switch (step) {
    case GENRPC__STEP_AUTH: {
        const char *token = json_string_value(json_object_get(reply, "token"));
        if (!token || strlen(token) >= sizeof s->token) {
            fail(c, "authenticate: no token in etcd's reply");
            return;
        }
        snprintf(s->token, sizeof s->token, "%s", token);
        s->want = c->observe_only ? GENRPC__STEP_RANGE
                  : s->lease      ? GENRPC__STEP_REVIVE
                                  : GENRPC__STEP_GRANT;
        return;
    }
    case GENRPC__STEP_REVIVE:
        if (ttl <= 0)
            genrpc__log(c->ncfg, GENRPC_LOG_INFO, "cluster: lease %lld expired: a new one",
                        (long long)s->lease);
        s->want = ttl > 0 ? GENRPC__STEP_PUT : GENRPC__STEP_GRANT;
        return;
    case GENRPC__STEP_GRANT:
        s->lease = genrpc__etcd_int(reply, "ID");
        if (s->lease == 0)
            fail(c, "lease grant: no ID in etcd's reply");
        else
            s->want = GENRPC__STEP_PUT;
        return;
    case GENRPC__STEP_PUT: s->want = GENRPC__STEP_RANGE; return;
    case GENRPC__STEP_RANGE:
        if (read_members(c, reply))
            s->want = GENRPC__STEP_WATCH;
        return;
    case GENRPC__STEP_KEEPALIVE:
        if (ttl > 0) {
            s->keepalive_at_ms = now_ms() + c->ttl_s * 1000 / 3;
            return;
        }
        /* etcd forgot us (we were cut off longer than the TTL): register again */
        s->lease = 0;
        fail(c, "lease expired");
        s->retry_at_ms = now_ms();
        return;
    default: return;
    }
}

static void
unary_done(genrpc_cluster *c, CURLcode code)
{
    genrpc__session *s = &c->s;
    genrpc__step step = s->unary_step;
    char err[300];
    if (genrpc__http_result(&s->unary, code) != 0) {
        fail(c, "%s: %s", step_name(step), s->unary.err);
        return;
    }
    json_t *reply = genrpc__etcd_parse(s->unary.buf, err, sizeof err);
    genrpc__http_end(s->multi, &s->unary);
    if (!reply) {
        fail(c, "%s: %s", step_name(step), err);
        return;
    }
    s->unary_step = step;
    step_done(c, reply);
    json_decref(reply);
}

/* One event of the watch. */
static void
watch_event(genrpc_cluster *c, const json_t *ev)
{
    json_t *kv = json_object_get(ev, "kv");
    char key[512], value[1024], err[300];
    if (genrpc__etcd_bytes(kv, "key", key, sizeof key) < 0) {
        genrpc__log(c->ncfg, GENRPC_LOG_WARN, "cluster: a watch event without a key");
        return;
    }
    int64_t rev = genrpc__etcd_int(kv, "mod_revision");
    if (rev > c->s.revision)
        c->s.revision = rev;
    const char *type = json_string_value(json_object_get(ev, "type"));
    if (type && strcmp(type, "DELETE") == 0) {
        if (strncmp(key, c->prefix, strlen(c->prefix)) == 0)
            genrpc__cluster_del(c, key + strlen(c->prefix));
        if (!c->observe_only && strcmp(key, c->key) == 0 && c->s.lease) {
            /* someone deleted our key while our lease lives: put it back */
            genrpc__log(c->ncfg, GENRPC_LOG_WARN, "cluster: %s was deleted: registering again",
                        c->key);
            c->s.want = GENRPC__STEP_PUT;
        }
        return;
    }
    genrpc__member m;
    if (genrpc__etcd_bytes(kv, "value", value, sizeof value) < 0 ||
        genrpc__etcd_member_parse(c->prefix, key, value, &m, err, sizeof err) != 0)
        genrpc__log(c->ncfg, GENRPC_LOG_WARN, "cluster: ignored: %s",
                    err[0] ? err : "undecodable value");
    else
        genrpc__cluster_put(c, &m);
}

/* http.c: one line of the watch stream (inside curl: nothing ends here). */
static void
watch_line(void *arg, char *line, size_t len)
{
    genrpc_cluster *c = arg;
    genrpc__session *s = &c->s;
    (void)len;
    if (s->watch_err[0])
        return;
    json_t *msg = genrpc__etcd_parse(line, s->watch_err, sizeof s->watch_err);
    if (!msg)
        return;
    if (json_is_true(json_object_get(msg, "canceled")))
        snprintf(s->watch_err, sizeof s->watch_err, "watch canceled by etcd (compacted at %lld)",
                 (long long)genrpc__etcd_int(msg, "compact_revision"));
    json_t *events = json_object_get(msg, "events");
    for (size_t i = 0; i < json_array_size(events); i++)
        watch_event(c, json_array_get(events, i));
    json_decref(msg);
}

/* Transfers that ended: collected first, then handled (handling ends
 * requests, and only the loop top starts new ones). */
static void
reap(genrpc_cluster *c)
{
    genrpc__session *s = &c->s;
    struct ended {
        CURL *easy;
        CURLcode code;
    } done[4];
    size_t n = 0;
    CURLMsg *msg;
    int left;
    while (n < 4 && (msg = curl_multi_info_read(s->multi, &left)))
        if (msg->msg == CURLMSG_DONE)
            done[n++] = (struct ended){msg->easy_handle, msg->data.result};
    for (size_t i = 0; i < n; i++) {
        if (done[i].easy == s->unary.easy && s->unary.easy)
            unary_done(c, done[i].code);
        else if (done[i].easy == s->watch.easy && s->watch.easy)
            fail(c, "watch ended: %s",
                 genrpc__http_result(&s->watch, done[i].code) != 0 ? s->watch.err : "closed");
    }
    if (s->watch_err[0]) {
        fail(c, "%s", s->watch_err);
        s->watch_err[0] = '\0';
    }
}

/* The loop top: start what is due. */
static void
start_due(genrpc_cluster *c, int64_t now)
{
    genrpc__session *s = &c->s;
    if (s->unary.easy)
        return;
    if (!s->live && s->want == GENRPC__STEP_NONE && !s->watch.easy && now >= s->retry_at_ms)
        s->want = c->username       ? GENRPC__STEP_AUTH
                  : c->observe_only ? GENRPC__STEP_RANGE
                  : s->lease        ? GENRPC__STEP_REVIVE
                                    : GENRPC__STEP_GRANT;
    if (s->live && !c->observe_only && s->want == GENRPC__STEP_NONE && now >= s->keepalive_at_ms)
        s->want = GENRPC__STEP_KEEPALIVE;
    genrpc__step step = s->want;
    s->want = GENRPC__STEP_NONE;
    if (step != GENRPC__STEP_NONE)
        start_step(c, step);
}

/* How long curl may sleep: until the next thing due, at most 1 s. */
static int
sleep_ms(genrpc_cluster *c, int64_t now)
{
    genrpc__session *s = &c->s;
    if (s->want != GENRPC__STEP_NONE)
        return 0;
    int64_t until = now + 1000;
    if (!s->unary.easy && !s->live && s->retry_at_ms < until)
        until = s->retry_at_ms;
    if (!s->unary.easy && s->live && !c->observe_only && s->keepalive_at_ms < until)
        until = s->keepalive_at_ms;
    return until <= now ? 0 : (int)(until - now);
}

/* On the way out: the lease goes, and our key with it. Each endpoint is
 * tried once (one may be down, or the cluster electing a leader). */
static void
revoke_lease(genrpc_cluster *c)
{
    genrpc__session *s = &c->s;
    if (s->lease == 0)
        return;
    char url[300], err[CURL_ERROR_SIZE] = "";
    c->http.token = s->token[0] ? s->token : NULL;
    for (size_t i = 0; i < c->n_endpoints; i++) {
        size_t ep = (s->ep + i) % c->n_endpoints;
        snprintf(url, sizeof url, "%s/v3/lease/revoke", c->endpoints[ep]);
        if (genrpc__http_post_now(&c->http, url, genrpc__etcd_lease_body(s->lease),
                                  c->request_timeout_ms, err, sizeof err) == 0)
            return;
    }
    genrpc__log(c->ncfg, GENRPC_LOG_WARN,
                "cluster: lease not revoked (%s): %s leaves when it expires (%d s)", err, c->key,
                c->ttl_s);
}

static void *
run(void *arg)
{
    genrpc_cluster *c = arg;
    genrpc__session *s = &c->s;
    while (!atomic_load(&c->stopping)) {
        start_due(c, now_ms());
        genrpc__cluster_deliver(c);
        int running;
        curl_multi_perform(s->multi, &running);
        reap(c);
        genrpc__cluster_deliver(c);
        curl_multi_poll(s->multi, NULL, 0, sleep_ms(c, now_ms()), NULL);
    }
    genrpc__http_end(s->multi, &s->unary);
    genrpc__http_end(s->multi, &s->watch);
    revoke_lease(c);
    return NULL;
}

int
genrpc__session_start(genrpc_cluster *c)
{
    genrpc__session *s = &c->s;
    s->multi = curl_multi_init();
    if (!s->multi)
        return ENOMEM;
    s->watch.on_line = watch_line;
    s->watch.arg = c;
    s->backoff_ms = c->retry_min_ms;
    int err = pthread_create(&c->thread, NULL, run, c);
    if (err != 0) {
        curl_multi_cleanup(s->multi);
        s->multi = NULL;
    }
    return err;
}

void
genrpc__session_wake(genrpc_cluster *c)
{
    curl_multi_wakeup(c->s.multi);
}

void
genrpc__session_stop(genrpc_cluster *c)
{
    atomic_store(&c->stopping, true);
    genrpc__session_wake(c);
    pthread_join(c->thread, NULL);
    curl_multi_cleanup(c->s.multi);
}
