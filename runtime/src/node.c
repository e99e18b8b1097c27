/*
 * node.c - a node's life: its configuration (checked, copied, defaults
 * applied once), the composition of its layers (rpc/node.h) and the order
 * in which they start and stop.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "rpc/call.h"
#include "rpc/events.h"
#include "rpc/health.h"
#include "rpc/node.h"
#include "rpc/reflection.h"
#include "rpc/server.h"
#include "rpc/stats.h"

/* call_receive_timeout and sbcast_receive_timeout when 0 (docs/node.md) */
#define DEFAULT_RECEIVE_TIMEOUT_MS 15000

void
genrpc_node_config_init(genrpc_node_config *cfg)
{
    genrpc_node_config def = GENRPC_NODE_CONFIG_INIT;
    *cfg = def;
}

static char *
dup_str(const char *s)
{
    return s ? strdup(s) : NULL;
}

static int
check_config(const genrpc_node_config *cfg, genrpc_status *st)
{
    if (!cfg || !cfg->name || !cfg->cookie)
        return genrpc__fail(st, GENRPC_E_INVAL, "config needs a name and a cookie");
    const char *at = strchr(cfg->name, '@');
    if (!at || at == cfg->name || !at[1] || strlen(cfg->name) > GENRPC__NAME_MAX)
        return genrpc__fail(st, GENRPC_E_INVAL,
                            "node name '%s' must be name@host, at most %d bytes", cfg->name,
                            GENRPC__NAME_MAX);
    if (!cfg->cookie[0])
        return genrpc__fail(st, GENRPC_E_INVAL, "the cookie must not be empty");
    if (cfg->tcp_server_port < GENRPC_PORT_DISABLED || cfg->tcp_server_port > 65535)
        return genrpc__fail(st, GENRPC_E_INVAL, "tcp_server_port %d out of range",
                            cfg->tcp_server_port);
    if (cfg->ssl_server_port < GENRPC_PORT_DISABLED || cfg->ssl_server_port > 65535)
        return genrpc__fail(st, GENRPC_E_INVAL, "ssl_server_port %d out of range",
                            cfg->ssl_server_port);
    if (cfg->busy_poll_us < 0 || cfg->busy_poll_us > 10000)
        return genrpc__fail(st, GENRPC_E_INVAL, "busy_poll_us %d out of range [0, 10000]",
                            cfg->busy_poll_us);
    if (cfg->max_protocol_version < 0 || cfg->max_protocol_version > GENRPC__PROTO_MAX)
        return genrpc__fail(st, GENRPC_E_INVAL, "max_protocol_version %d out of range [0, %d]",
                            cfg->max_protocol_version, GENRPC__PROTO_MAX);
    if (cfg->max_frame_size < 1024 || cfg->max_frame_size > UINT32_MAX)
        return genrpc__fail(st, GENRPC_E_INVAL, "max_frame_size %zu out of range [1024, 4 GiB)",
                            cfg->max_frame_size);
    if (cfg->compression > GENRPC_COMPRESSION_ZSTD)
        return genrpc__fail(st, GENRPC_E_INVAL, "unknown compression %u",
                            (unsigned)cfg->compression);
    if (cfg->builtins_off &
        ~(GENRPC_BUILTIN_REFLECTION | GENRPC_BUILTIN_HEALTH | GENRPC_BUILTIN_STATS))
        return genrpc__fail(st, GENRPC_E_INVAL, "unknown builtins_off bits 0x%x",
                            (unsigned)cfg->builtins_off);
    if ((cfg->n_module_list && !cfg->module_list) || (cfg->n_node_addrs && !cfg->node_addrs))
        return genrpc__fail(st, GENRPC_E_INVAL, "a list has a count but no array");
    for (size_t i = 0; i < cfg->n_node_addrs; i++)
        if (!cfg->node_addrs[i].node)
            return genrpc__fail(st, GENRPC_E_INVAL, "node_addrs[%zu] has no node name", i);
    for (size_t i = 0; i < cfg->n_module_list; i++)
        if (!cfg->module_list[i])
            return genrpc__fail(st, GENRPC_E_INVAL, "module_list[%zu] is NULL", i);
    return GENRPC_OK;
}

/* The node keeps its own copies of every string and array in cfg. */
static bool
copy_config(genrpc_node *node, const genrpc_node_config *cfg)
{
    node->cfg = *cfg;
    node->copies.name = dup_str(cfg->name);
    node->copies.cookie = dup_str(cfg->cookie);
    node->copies.listen_host = cfg->listen_host ? dup_str(cfg->listen_host)
                                         : dup_str(strchr(cfg->name, '@') + 1);
    node->copies.module_list = calloc(cfg->n_module_list + 1, sizeof(char *));
    node->copies.node_addrs = calloc(cfg->n_node_addrs + 1, sizeof(genrpc_node_addr));
    if (!node->copies.name || !node->copies.cookie || !node->copies.listen_host || !node->copies.module_list ||
        !node->copies.node_addrs)
        return false;
    for (size_t i = 0; i < cfg->n_module_list; i++)
        if (!(node->copies.module_list[i] = strdup(cfg->module_list[i])))
            return false;
    for (size_t i = 0; i < cfg->n_node_addrs; i++) {
        node->copies.node_addrs[i] = cfg->node_addrs[i];
        if (!(node->copies.node_addrs[i].node = strdup(cfg->node_addrs[i].node)))
            return false;
    }
    node->cfg.name = node->copies.name;
    node->cfg.cookie = node->copies.cookie;
    node->cfg.listen_host = node->copies.listen_host;
    node->cfg.module_list = (const char *const *)node->copies.module_list;
    node->cfg.node_addrs = node->copies.node_addrs;
    const char **tls[] = {&node->cfg.tls_ca_file, &node->cfg.tls_cert_file,
                          &node->cfg.tls_key_file, &node->cfg.tls_ciphers};
    for (int i = 0; i < 4; i++) {
        if (*tls[i] && !(node->copies.tls_files[i] = strdup(*tls[i])))
            return false;
        *tls[i] = node->copies.tls_files[i];
    }
    /* the defaults of 0, once (docs/node.md) */
    if (node->cfg.call_receive_timeout_ms == 0)
        node->cfg.call_receive_timeout_ms = DEFAULT_RECEIVE_TIMEOUT_MS;
    if (node->cfg.sbcast_receive_timeout_ms == 0)
        node->cfg.sbcast_receive_timeout_ms = DEFAULT_RECEIVE_TIMEOUT_MS;
    if (node->cfg.compression_min_bytes == 0)
        node->cfg.compression_min_bytes = GENRPC_COMPRESSION_MIN_DEFAULT;
    return true;
}

static void
free_node(genrpc_node *node)
{
    free(node->copies.name);
    if (node->copies.cookie)
        OPENSSL_cleanse(node->copies.cookie, strlen(node->copies.cookie)); /* unlike memset, never optimised away */
    free(node->copies.cookie);
    free(node->copies.listen_host);
    for (size_t i = 0; node->copies.module_list && i < node->cfg.n_module_list; i++)
        free(node->copies.module_list[i]);
    free(node->copies.module_list);
    for (size_t i = 0; node->copies.node_addrs && i < node->cfg.n_node_addrs; i++)
        free((char *)node->copies.node_addrs[i].node);
    free(node->copies.node_addrs);
    for (int i = 0; i < 4; i++)
        free(node->copies.tls_files[i]);
    genrpc__net_destroy(&node->net);
    genrpc__registry_destroy(&node->modules);
    genrpc__loop_destroy(&node->loop); /* runs what is still queued (no-op if never made) */
    genrpc__events_free(node);
    genrpc__registry_destroy(&node->handlers);
    genrpc__health_destroy(&node->health);
    genrpc__stats_destroy(&node->stats);
    genrpc__runner_destroy(&node->runner);
    pthread_mutex_destroy(&node->mon_mu);
    pthread_cond_destroy(&node->mon_cond);
    free(node);
}

static int
default_workers(void)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    int n = cpus > 0 ? (int)cpus * 2 : 4;
    return n < 4 ? 4 : n;
}

/* On the loop (genrpc_node_stop's command): close everything, then let
 * the loop's runners go. */
static void
shutdown_cmd(genrpc__cmd *cmd)
{
    genrpc_node *node = GENRPC__CONTAINER_OF(cmd, genrpc_node, shutdown_cmd);
    char why[GENRPC__NAME_MAX + 32];
    snprintf(why, sizeof why, "node %s stopped", node->cfg.name);
    ev_timer_stop(node->loop.ev, &node->drain_timer);
    genrpc__listen_close(&node->net);
    /* version-2 clients learn which requests were never read: those they
     * may send elsewhere */
    genrpc__server_goaway_all(&node->net, GENRPC__GOAWAY_STOPPING, why);
    genrpc__conns_close_all(&node->net, GENRPC_E_STOPPED, why);
    genrpc__promises_stop(node);
    genrpc__runner_loop_done(&node->runner);
}

/* ---- drain ------------------------------------------------------------------ */

static void
drain_tick(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    genrpc_node *node = w->data;
    genrpc__server_drain_tick(&node->net);
}

static void
drain_cmd(genrpc__cmd *cmd)
{
    genrpc_node *node = GENRPC__CONTAINER_OF(cmd, genrpc_node, drain_cmd);
    if (atomic_load(&node->net.stopping))
        return;
    double tick = GENRPC__DRAIN_TICK_MS / 1000.0;
    ev_timer_init(&node->drain_timer, drain_tick, 0., tick);
    node->drain_timer.data = node;
    ev_timer_start(node->loop.ev, &node->drain_timer);
}

int
genrpc_node_drain(genrpc_node *node, int64_t timeout_ms)
{
    if (!node || genrpc__on_loop(&node->loop) || genrpc__on_worker(&node->runner))
        return GENRPC_E_INVAL;
    if (atomic_load(&node->net.stopping))
        return GENRPC_E_STOPPED;
    if (atomic_exchange(&node->net.draining, true))
        return GENRPC_E_INVAL; /* another thread drains it */
    genrpc__log(&node->cfg, GENRPC_LOG_INFO, "node %s draining (for at most %lld ms)",
                node->cfg.name, (long long)timeout_ms);
    genrpc__loop_post(&node->loop, &node->drain_cmd);
    int64_t deadline = genrpc__deadline_after_ms(timeout_ms);
    const struct timespec nap = {0, GENRPC__DRAIN_TICK_MS * 1000000L};
    while (atomic_load(&node->net.n_acceptors) > 0 && genrpc__now_ns() < deadline)
        nanosleep(&nap, NULL);
    int left = atomic_load(&node->net.n_acceptors);
    if (left > 0)
        genrpc__log(&node->cfg, GENRPC_LOG_WARN,
                    "node %s: drain out of time with %d connection(s) still busy: closing them",
                    node->cfg.name, left);
    genrpc_node_stop(node);
    return left > 0 ? GENRPC_E_TIMEOUT : GENRPC_OK;
}

/* The built-in modules the configuration leaves on (docs/reflection.md,
 * docs/stats.md). */
static int
serve_builtins(genrpc_node *node, genrpc_status *st)
{
    int rc = GENRPC_OK;
    if (!(node->cfg.builtins_off & GENRPC_BUILTIN_REFLECTION))
        rc = genrpc__reflection_serve(node);
    if (rc == GENRPC_OK && !(node->cfg.builtins_off & GENRPC_BUILTIN_HEALTH))
        rc = genrpc__health_serve(node);
    if (rc == GENRPC_OK && !(node->cfg.builtins_off & GENRPC_BUILTIN_STATS))
        rc = genrpc__stats_serve(node);
    if (rc != GENRPC_OK)
        return genrpc__fail(st, rc, "cannot register the built-in modules");
    return GENRPC_OK;
}

int
genrpc_node_start(const genrpc_node_config *cfg, genrpc_node **out, genrpc_status *st)
{
    if (!out)
        return genrpc__fail(st, GENRPC_E_INVAL, "out is NULL");
    *out = NULL;
    int rc = check_config(cfg, st);
    if (rc != GENRPC_OK)
        return rc;
    genrpc_node *node = calloc(1, sizeof *node);
    if (!node)
        return genrpc__fail(st, GENRPC_E_NOMEM, "no memory for the node");
    genrpc__net_init(&node->net);
    pthread_mutex_init(&node->mon_mu, NULL);
    pthread_cond_init(&node->mon_cond, NULL);
    genrpc__list_init(&node->monitors);
    genrpc__list_init(&node->expiring);
    genrpc__registry_init(&node->modules);
    genrpc__registry_init(&node->handlers);
    genrpc__health_init(&node->health);
    genrpc__stats_init(&node->stats);
    genrpc__runner_init(&node->runner, &node->loop);
    genrpc__cmd_init(&node->shutdown_cmd, shutdown_cmd);
    genrpc__cmd_init(&node->drain_cmd, drain_cmd);
    ev_init(&node->drain_timer, drain_tick);
    if (!copy_config(node, cfg)) {
        free_node(node);
        return genrpc__fail(st, GENRPC_E_NOMEM, "no memory for the configuration");
    }
    if ((rc = serve_builtins(node, st)) != GENRPC_OK) {
        free_node(node);
        return rc;
    }
    /* net: the configuration, the loop and runner it uses, and what it
     * hands accepted connections (rpc's acceptor role) */
    node->net.cfg = &node->cfg;
    node->net.cookie_len = strlen(node->cfg.cookie);
    node->net.loop = &node->loop;
    node->net.runner = &node->runner;
    node->net.acceptor_role = &genrpc__acceptor_role;
    node->net.acceptor_size = GENRPC__ACCEPTOR_SIZE;
    node->net.up = node;
    if ((rc = genrpc__tls_init(&node->net, st)) != GENRPC_OK) {
        free_node(node);
        return rc;
    }
    if ((rc = genrpc__loop_init(&node->loop, (int64_t)cfg->busy_poll_us * 1000, st)) !=
        GENRPC_OK) {
        free_node(node);
        return rc;
    }
    if ((rc = genrpc__listen(&node->net, st)) != GENRPC_OK) {
        free_node(node);
        return rc;
    }
    int workers = cfg->worker_threads > 0 ? cfg->worker_threads : default_workers();
    genrpc_status why;
    if ((rc = genrpc__runner_start(&node->runner, workers, &why)) != GENRPC_OK) {
        genrpc__log(&node->cfg, GENRPC_LOG_ERROR, "node %s: %s", node->cfg.name, why.message);
        genrpc__runner_stop_workers(&node->runner);
        free_node(node); /* closes the listeners too */
        return genrpc__fail(st, rc, "cannot start the node's threads");
    }
    genrpc__log(&node->cfg, GENRPC_LOG_INFO, "node %s started (tcp port %d, tls port %d, %d workers)",
                node->cfg.name, node->net.port, node->net.tls_port, workers);
    *out = node;
    return genrpc__ok(st);
}

int
genrpc_node_stop(genrpc_node *node)
{
    if (!node)
        return GENRPC_E_INVAL;
    if (genrpc__on_loop(&node->loop) || genrpc__on_worker(&node->runner))
        return GENRPC_E_INVAL;
    if (atomic_exchange(&node->net.stopping, true))
        return GENRPC_E_STOPPED;
    /* The loop closes every connection (failing pending calls) and ends;
     * the loop itself stays allocated so that workers still finishing
     * handlers can post to it. */
    genrpc__loop_post(&node->loop, &node->shutdown_cmd); /* posted once: stopping is claimed */
    genrpc__runner_join_loop(&node->runner);
    genrpc__runner_stop_workers(&node->runner); /* running handlers finish, queued jobs dropped */
    genrpc__loop_destroy(&node->loop); /* what the workers posted meanwhile */
    genrpc__log(&node->cfg, GENRPC_LOG_INFO, "node %s stopped", node->cfg.name);
    free_node(node);
    return GENRPC_OK;
}

const char *
genrpc_node_name(const genrpc_node *node)
{
    return node->cfg.name;
}

int
genrpc_node_tcp_port(const genrpc_node *node)
{
    return node->net.port;
}

int
genrpc_node_ssl_port(const genrpc_node *node)
{
    return node->net.tls_port;
}

void
genrpc_node_get_info(genrpc_node *node, genrpc_node_info *out)
{
    out->clients = atomic_load(&node->net.n_clients);
    out->clients_ready = atomic_load(&node->net.n_clients_ready);
    out->acceptors = atomic_load(&node->net.n_acceptors);
    out->workers = node->runner.n_workers;
    out->calls_served = atomic_load(&node->calls_served);
    out->casts_dropped = atomic_load(&node->casts_dropped);
    out->late_replies = atomic_load(&node->late_replies);
    out->auth_failures = atomic_load(&node->net.auth_failures);
    out->protocol_errors = atomic_load(&node->net.protocol_errors);
    out->reads_paused = atomic_load(&node->reads_paused);
    out->broadcasts_dropped = atomic_load(&node->broadcasts_dropped);
    out->expired_requests = atomic_load(&node->expired_requests);
    out->cancelled_requests = atomic_load(&node->cancelled_requests);
    out->retried_calls = atomic_load(&node->retried_calls);
}

