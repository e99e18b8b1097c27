/*
 * genrpc/node.h - a node: one process's endpoint, named "name@host", with its
 * listener, its event-loop thread, its worker threads, one client per remote
 * node (or {node, key}) and one acceptor per accepted connection.
 *
 * Configuration fields and defaults follow gen_rpc's settings (ms unless
 * said otherwise). Everything hangs off the node: two nodes in one process
 * are independent.
 */
#ifndef GENRPC_NODE_H
#define GENRPC_NODE_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include "genrpc/error.h"
#include "genrpc/call.h"
#include "genrpc/export.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct genrpc_node genrpc_node;

/* A listening port field set to this is switched off. 0 = any free port
 * (read it back with genrpc_node_tcp_port). */
#define GENRPC_PORT_DISABLED (-1)

typedef enum genrpc_driver {
    GENRPC_DRIVER_TCP = 0,
    GENRPC_DRIVER_TLS = 1,
} genrpc_driver;

typedef enum genrpc_module_control {
    GENRPC_CONTROL_DISABLED = 0, /* every registered module is callable */
    GENRPC_CONTROL_WHITELIST,    /* only modules in module_list */
    GENRPC_CONTROL_BLACKLIST,    /* every module except those in module_list */
} genrpc_module_control;

typedef enum genrpc_log_level {
    GENRPC_LOG_ERROR = 0,
    GENRPC_LOG_WARN,
    GENRPC_LOG_INFO,
    GENRPC_LOG_DEBUG,
} genrpc_log_level;

/* Log sink. Called from any of the node's threads; must be thread-safe and
 * must not call back into the node. `msg` is valid during the call. */
typedef void (*genrpc_log_cb)(genrpc_log_level level, const char *msg, void *arg);

/* Where to reach one node: its driver and port (several nodes per host). */
typedef struct genrpc_node_addr {
    const char *node;       /* "name@host" */
    genrpc_driver driver;
    int port;
} genrpc_node_addr;

/* External discovery: fill *driver and *port for `node`; return 0, or
 * non-zero (the call fails with GENRPC_E_DISCOVERY). Called from the
 * calling thread the first time a client for `node` is needed. */
typedef int (*genrpc_discovery_cb)(const char *node, genrpc_driver *driver, int *port, void *arg);

typedef struct genrpc_node_config {
    const char *name;            /* required: "name@host"; host is how peers reach us */
    const char *cookie;          /* required: shared secret; never sent */
    const char *listen_host;     /* NULL: the host part of name */

    int tcp_server_port;         /* 5369; 0 = ephemeral; GENRPC_PORT_DISABLED */
    int tcp_client_port;         /* 5369: port dialled for nodes not in node_addrs */
    int ssl_server_port;         /* GENRPC_PORT_DISABLED; 0 = ephemeral (TLS: docs/tls.md) */
    int ssl_client_port;         /* 5370 */
    genrpc_driver default_client_driver; /* GENRPC_DRIVER_TCP */
    const genrpc_node_addr *node_addrs;  /* gen_rpc's client_config_per_node */
    size_t n_node_addrs;
    genrpc_discovery_cb discovery;       /* consulted before node_addrs when set */
    void *discovery_arg;

    genrpc_module_control module_control;    /* GENRPC_CONTROL_DISABLED */
    const char *const *module_list;          /* module wire names ("kv.Store") */
    size_t n_module_list;

    int64_t authentication_timeout_ms;   /* 5000 */
    int64_t connect_timeout_ms;          /* 5000 */
    int64_t send_timeout_ms;             /* 5000 */
    int64_t call_receive_timeout_ms;     /* 15000 */
    int64_t sbcast_receive_timeout_ms;   /* 15000 */
    int64_t client_inactivity_timeout_ms;     /* GENRPC_INFINITY: a client with no
                                                 frame in or out and no call in flight
                                                 for this long closes (and is freed) */
    int64_t server_inactivity_timeout_ms;     /* GENRPC_INFINITY: the same for an
                                                 acceptor with no request running */
    int64_t async_call_inactivity_timeout_ms; /* GENRPC_INFINITY */
    int socket_keepalive_idle_s;         /* 5 */
    int socket_keepalive_interval_s;     /* 5 */
    int socket_keepalive_count;          /* 2 */

    size_t max_frame_size;       /* 64 MiB: larger frames close the connection */
    int worker_threads;          /* 0: 2 x CPUs, at least 4 */
    /* 0: off. After input arrives, the loop polls this many microseconds
     * without sleeping (yielding the CPU to any other runnable thread)
     * before it blocks: input arriving meanwhile costs no thread wake-up.
     * Lower latency for CPU: docs/node.md, "Busy polling". [0, 10000]. */
    int busy_poll_us;

    genrpc_log_cb log_cb;        /* NULL: silent */
    void *log_arg;
    genrpc_log_level log_level;  /* GENRPC_LOG_INFO: most verbose level passed to log_cb */

    /* TLS (docs/tls.md): needed by ssl_server_port and to dial nodes whose
     * driver is GENRPC_DRIVER_TLS. PEM files, read once by genrpc_node_start
     * (the three together or none). TLS 1.2 minimum, 1.3 preferred; both
     * sides present a certificate and verify the peer's against
     * tls_ca_file; the peer's certificate must carry its node name as its
     * subject CN or as a SAN (DNS, email or URI), compared exactly. */
    const char *tls_ca_file;     /* NULL: CA certificate(s) peers must chain to */
    const char *tls_cert_file;   /* NULL: this node's certificate, then any intermediates */
    const char *tls_key_file;    /* NULL: its private key (not encrypted) */
    int tls_verify_depth;        /* 99: most intermediate CAs accepted in a peer's chain */
    const char *tls_ciphers;     /* NULL: ECDHE + AES-GCM/ChaCha20-Poly1305 (TLS 1.2 list;
                                    TLS 1.3 suites are OpenSSL's, all AEAD) */

    /* 0: the node serves the built-in modules (docs/reflection.md,
     * docs/stats.md), genrpc.Reflection, genrpc.Health and genrpc.Stats,
     * subject to module_control like any module. GENRPC_BUILTIN_* bits
     * switch them off. */
    uint32_t builtins_off;

    /* Highest wire protocol version this node offers and accepts
     * (docs/protocol.md): 0 = the newest this library speaks (2); 1 pins
     * the node to version 1 (versions are negotiated per connection, so a
     * version-2 node talks to version-1 peers anyway: pinning is for tests
     * and for caution during an upgrade). */
    int max_protocol_version;

    /* Payload compression (protocol version 2; docs/protocol.md, setting
     * 1): GENRPC_COMPRESSION_OFF (0, the default) or GENRPC_COMPRESSION_ZSTD.
     * On a connection where both nodes say ZSTD, a request or reply
     * payload of at least compression_min_bytes is sent zstd-compressed
     * (when that makes it smaller); a node that says OFF gets none. What
     * arrives compressed is decompressed within max_frame_size. */
    uint32_t compression;
    uint32_t compression_min_bytes; /* 0: 1024 */

    /* Room to grow without changing the size or the layout of this struct
     * (docs/install.md, "ABI"): a field added later takes its place from
     * here, and its zero value means what the library did before it.
     * Leave it zero (genrpc_node_config_init and GENRPC_NODE_CONFIG_INIT do). */
    uint64_t reserved[14];
} genrpc_node_config;

/* genrpc_node_config.compression */
#define GENRPC_COMPRESSION_OFF 0u
#define GENRPC_COMPRESSION_ZSTD 1u
#define GENRPC_COMPRESSION_MIN_DEFAULT 1024u

/* genrpc_node_config.builtins_off bits. */
#define GENRPC_BUILTIN_REFLECTION 0x1u /* module genrpc.Reflection */
#define GENRPC_BUILTIN_HEALTH 0x2u     /* module genrpc.Health */
#define GENRPC_BUILTIN_STATS 0x4u      /* module genrpc.Stats (genrpc/stats.h) */

#define GENRPC_NODE_CONFIG_INIT                                                          \
    {                                                                                    \
        NULL, NULL, NULL, 5369, 5369, GENRPC_PORT_DISABLED, 5370, GENRPC_DRIVER_TCP, NULL, \
            0, NULL, NULL, GENRPC_CONTROL_DISABLED, NULL, 0, 5000, 5000, 5000, 15000,    \
            15000, GENRPC_INFINITY, GENRPC_INFINITY, GENRPC_INFINITY, 5, 5, 2,           \
            (size_t)64 << 20, 0, 0, NULL, NULL, GENRPC_LOG_INFO, NULL, NULL, NULL, 99, NULL, \
            0, 0, 0, 0, {0}                                                              \
    }

/* Sets every field of *cfg to its default (same as GENRPC_NODE_CONFIG_INIT).
 * Prefer it to the macro: a program calling it gets the defaults of the
 * libgenrpc.so.1 it runs with, also for fields added after it was built. */
GENRPC_API void genrpc_node_config_init(genrpc_node_config *cfg);

/* Starts a node: binds its listener(s) and starts its threads. The node
 * copies what it needs from cfg (cfg may be freed after). On success *out
 * is a node the caller owns and must end with genrpc_node_stop. On failure
 * *out is NULL and st->message says why (bad name, port in use, ...). */
GENRPC_API int genrpc_node_start(const genrpc_node_config *cfg, genrpc_node **out,
                                 genrpc_status *st);

/* Stops the node: closes every connection, fails every pending call and
 * promise with GENRPC_E_STOPPED (callbacks are called), waits for running
 * handlers to return, joins the threads and frees the node. Promises still
 * held by the caller stay valid (they answer GENRPC_E_STOPPED) until freed.
 * Must not be called from one of the node's own threads (GENRPC_E_INVAL). */
GENRPC_API int genrpc_node_stop(genrpc_node *node);

/* Drains the node, then stops it (docs/calls.md, "Drain"): new
 * connections are refused (callers get GENRPC_E_UNAVAILABLE at once); every
 * connected client is told to send nothing new (a version-2 GOAWAY: its
 * next calls go to a fresh connection); requests already sent, queued or
 * running finish and their replies are delivered; each connection closes
 * once it is quiet; then genrpc_node_stop. The node's own calls to other
 * nodes keep working meanwhile. Returns GENRPC_OK when everything finished
 * within timeout_ms, GENRPC_E_TIMEOUT when the rest was cut off (the node
 * is stopped either way: do not use it after this returns, except that
 * GENRPC_E_INVAL, GENRPC_E_STOPPED leave it as it was). GENRPC_E_INVAL from
 * the node's own threads or while another thread drains it. */
GENRPC_API int genrpc_node_drain(genrpc_node *node, int64_t timeout_ms);

/* The node's name, as configured. */
GENRPC_API const char *genrpc_node_name(const genrpc_node *node);

/* The TCP port the node listens on (the bound one when configured as 0),
 * or GENRPC_PORT_DISABLED. */
GENRPC_API int genrpc_node_tcp_port(const genrpc_node *node);

/* The same for its TLS listener (ssl_server_port). */
GENRPC_API int genrpc_node_ssl_port(const genrpc_node *node);

/* A snapshot of the node's counters, for tests and monitoring. */
typedef struct genrpc_node_info {
    int clients;              /* client connections, any state */
    int clients_ready;        /* of those, authenticated */
    int acceptors;            /* accepted connections, any state */
    int workers;              /* worker threads */
    uint64_t calls_served;    /* requests whose handler ran */
    uint64_t casts_dropped;   /* casts refused (undef, policy, version, decode) */
    uint64_t late_replies;    /* replies that arrived after their caller gave up */
    uint64_t auth_failures;   /* connections refused during authentication */
    uint64_t protocol_errors; /* connections closed for bad input */
    uint64_t reads_paused;    /* times a peer's connection was not read because
                               * 1024 of its requests were waiting (backpressure) */
    uint64_t broadcasts_dropped; /* abcast/sbcast messages refused (no such name,
                                    wrong type, policy, undecodable) */
    uint64_t expired_requests;   /* requests not run: their deadline passed while
                                    they waited for a worker */
    uint64_t cancelled_requests; /* requests not run: their caller cancelled them */
    uint64_t retried_calls;      /* calls this node sent again on a fresh connection,
                                    their first attempt provably unread (docs/calls.md) */
    /* Room for counters added later, without changing the struct's size
     * (docs/install.md, "ABI"). Not written today: read nothing here. */
    uint64_t reserved[5];
} genrpc_node_info;

GENRPC_API void genrpc_node_get_info(genrpc_node *node, genrpc_node_info *out);

/* ---- health (docs/reflection.md, "Health") ------------------------------- */

/* A serving status, as in gRPC's grpc.health.v1 (the values are those of
 * genrpc.HealthCheckResponse.ServingStatus on the wire). */
typedef enum genrpc_health {
    GENRPC_HEALTH_UNKNOWN = 0,
    GENRPC_HEALTH_SERVING = 1,
    GENRPC_HEALTH_NOT_SERVING = 2,
    GENRPC_HEALTH_SERVICE_UNKNOWN = 3, /* neither registered nor set */
} genrpc_health;

/* Sets the status the built-in module genrpc.Health reports for `module`
 * (a wire name; "" or NULL: the whole node) to GENRPC_HEALTH_SERVING or
 * GENRPC_HEALTH_NOT_SERVING; GENRPC_HEALTH_UNKNOWN forgets what was set,
 * back to the default: the node and every registered module read SERVING,
 * any other name SERVICE_UNKNOWN. A module may be set before it is
 * registered. While the node drains, every status reads NOT_SERVING
 * (SERVICE_UNKNOWN stays). The node copies `module`. GENRPC_E_INVAL for a
 * bad status or a name longer than a module name may be. */
GENRPC_API int genrpc_node_set_health(genrpc_node *node, const char *module,
                                      genrpc_health status);

/* The status genrpc.Health would report now for `module` ("" or NULL: the
 * node), also when the built-in module is switched off. GENRPC_HEALTH_UNKNOWN
 * for a NULL node. */
GENRPC_API genrpc_health genrpc_node_health(genrpc_node *node, const char *module);

/* ---- node events (docs/multinode.md, "Node events") ------------------------ */

typedef enum genrpc_node_event {
    GENRPC_NODE_UP = 1,   /* the first authenticated connection with the node */
    GENRPC_NODE_DOWN = 2, /* the last one closed */
} genrpc_node_event;

/* Called on the node's event loop (one call at a time, in the order the
 * connections changed). It must not block: no blocking call, yield or
 * genrpc_node_stop; async calls and casts are fine. `peer` is valid during
 * the call. */
typedef void (*genrpc_node_event_cb)(genrpc_node *node, const char *peer,
                                     genrpc_node_event event, void *user);

/* Subscribes cb(user) to node-up / node-down events. A remote node is up
 * while at least one authenticated connection links the two nodes, in
 * either direction: a client of this node (keyless or {node, key}) or an
 * acceptor for a connection the other node opened. UP fires when the first
 * becomes authenticated, DOWN when the last closes; a keyed shard opening
 * or closing while another connection stays up fires nothing. This node
 * itself is never reported. Soon after subscribing, cb receives UP for
 * every node already up (from the loop, before any later event).
 * GENRPC_E_INVAL from an event callback (the loop) or for a NULL cb. */
GENRPC_API int genrpc_node_monitor(genrpc_node *node, genrpc_node_event_cb cb, void *user,
                                   genrpc_status *st);

/* Removes the subscription (cb, user). Once it returns, cb(user) is not
 * running and will not be called again (it waits for a call in progress
 * to return; callbacks run with no runtime lock held). GENRPC_E_INVAL if
 * there was no such subscription or when called from an event callback
 * (the loop: it would wait for itself). */
GENRPC_API int genrpc_node_unmonitor(genrpc_node *node, genrpc_node_event_cb cb, void *user);

/* ---- debugging and tests only ------------------------------------------- */

/* Closes up to `max` (0: all) of this node's acceptors for connections
 * from `peer` (NULL: from any node), most recently accepted first, as if
 * the connection had dropped: the peer's client sees the close. Runs on
 * the node's loop; returns the number closed once they are closed (or a
 * negative genrpc error). Not for production use: a fault-injection hook
 * for tests (CONFORMANCE L33, R27, R28, K10, K11). */
GENRPC_API int genrpc_node_debug_close_acceptors(genrpc_node *node, const char *peer, int max);

#ifdef __cplusplus
}
#endif
#endif /* GENRPC_NODE_H */
