/*
 * handshake.c - the state machine from TCP connect to READY, both sides:
 *
 *   client                                  acceptor
 *   HELLO(nonce_c, from, to)        ->      WAIT_HELLO
 *   WAIT_CHALLENGE                  <-      CHALLENGE(version, nonce_s, name)
 *   AUTH(mac_C)                     ->      WAIT_AUTH
 *   WAIT_AUTH_OK                    <-      AUTH_OK(mac_S) | REJECT(reason)
 *   READY                                   READY
 *
 * The cookie itself never crosses the wire (auth.h). Every step runs on the
 * loop; one timer bounds the whole handshake (authentication_timeout).
 */
#include <string.h>

#include "wire/auth.h"
#include "net/conn.h"
#include "net/handshake.h"
#include "wire/compress.h"

static void
send_ctl(genrpc__conn *c, const uint8_t *buf, size_t n)
{
    genrpc__out *o = n ? genrpc__out_new(n) : NULL;
    if (!o) {
        genrpc__conn_close(c, GENRPC_E_NOMEM, "no memory for a handshake frame");
        return;
    }
    memcpy(o->data, buf, n);
    genrpc__conn_send_ctl(c, o);
}

/* The highest protocol version this node speaks (or is pinned to). */
static uint8_t
proto_max(const genrpc__net *net)
{
    int v = net->cfg->max_protocol_version;
    return v >= GENRPC__PROTO_MIN && v < GENRPC__PROTO_MAX ? (uint8_t)v : GENRPC__PROTO_MAX;
}

/* AUTH or AUTH_OK in the connection's version: v1 the proof alone, v2 the
 * proof and this node's settings (setting 1 when it takes compressed
 * payloads). */
static void
send_proof(genrpc__conn *c, genrpc__kind kind, const uint8_t *mac)
{
    uint8_t buf[GENRPC__LEN_PREFIX + 2 + GENRPC__MAC_LEN + 5 * GENRPC__SETTINGS_MAX];
    genrpc__auth_body a = {.mac = mac};
    if (c->net->cfg->compression == GENRPC_COMPRESSION_ZSTD)
        a.settings[a.n_settings++] = (genrpc__setting){GENRPC__SETTING_COMPRESSION,
                                                       GENRPC__COMPRESS_ZSTD};
    send_ctl(c, buf, c->proto >= 2 ? genrpc__encode_auth(buf, sizeof buf, kind, &a)
                                   : genrpc__encode_mac(buf, sizeof buf, kind, mac));
}

/* The proof of a v1 or v2 AUTH / AUTH_OK, and the peer's settings: zstd
 * is on when both sides take it (unknown settings are ignored). */
static bool
read_proof(genrpc__conn *c, const uint8_t *body, size_t len, genrpc__kind kind,
           const uint8_t **mac)
{
    genrpc__auth_body a;
    if (c->proto < 2)
        return genrpc__decode_mac(body, len, kind, mac);
    if (!genrpc__decode_auth(body, len, kind, &a))
        return false;
    *mac = a.mac;
    bool peer_zstd = false;
    for (size_t i = 0; i < a.n_settings; i++)
        if (a.settings[i].id == GENRPC__SETTING_COMPRESSION)
            peer_zstd = (a.settings[i].value & GENRPC__COMPRESS_ZSTD) != 0;
    c->zstd = peer_zstd && c->net->cfg->compression == GENRPC_COMPRESSION_ZSTD;
    return true;
}

static void
timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    genrpc__conn *c = w->data;
    genrpc__net *net = c->net;
    genrpc__state s = atomic_load(&c->state);
    if (s == GENRPC__CONNECTING)
        genrpc__conn_close(c, GENRPC_E_CONNECT, "connect timed out after %lld ms",
                           (long long)net->cfg->connect_timeout_ms);
    else if (s == GENRPC__TLS_HANDSHAKE)
        genrpc__conn_close(c, GENRPC_E_TLS, "TLS handshake not finished within %lld ms",
                           (long long)net->cfg->authentication_timeout_ms);
    else
        genrpc__conn_close(c, GENRPC_E_AUTH, "not authenticated within %lld ms",
                           (long long)net->cfg->authentication_timeout_ms);
}

void
genrpc__conn_timer_start(genrpc__conn *c, int64_t ms)
{
    GENRPC__ASSERT_ON_LOOP(c->net->loop);
    ev_timer_stop(c->net->loop->ev, &c->timer);
    if (ms < 0)
        return;
    ev_init(&c->timer, timer_cb);
    c->timer.data = c;
    ev_timer_set(&c->timer, (double)ms / 1000.0, 0.);
    ev_timer_start(c->net->loop->ev, &c->timer);
}

/* Acceptor: refuse, tell the client why, close. */
static void
reject(genrpc__conn *c, uint8_t reason, int err, const char *why)
{
    uint8_t buf[GENRPC__LEN_PREFIX + 3 + GENRPC__NAME_MAX];
    send_ctl(c, buf, genrpc__encode_reject(buf, sizeof buf, reason, why));
    if (reason == GENRPC__REJ_COOKIE || reason == GENRPC__REJ_CERT)
        atomic_fetch_add(&c->net->auth_failures, 1);
    else
        atomic_fetch_add(&c->net->protocol_errors, 1);
    genrpc__conn_close(c, err, "refused %s: %s", c->peer[0] ? c->peer : "a peer", why);
}

void
genrpc__handshake_start_acceptor(genrpc__conn *c)
{
    GENRPC__ASSERT_ON_LOOP(c->net->loop);
    atomic_store(&c->state, GENRPC__WAIT_HELLO);
    genrpc__conn_timer_start(c, c->net->cfg->authentication_timeout_ms);
}

void
genrpc__handshake_start_client(genrpc__conn *c)
{
    GENRPC__ASSERT_ON_LOOP(c->net->loop);
    genrpc__net *net = c->net;
    uint8_t buf[GENRPC__LEN_PREFIX + 64 + 2 * GENRPC__NAME_MAX];
    if (!genrpc__auth_nonce(c->my_nonce)) {
        genrpc__conn_close(c, GENRPC_E_AUTH, "no random bytes for a nonce");
        return;
    }
    genrpc__hello h = {GENRPC__PROTO_MIN, proto_max(net), c->my_nonce,
                       {net->cfg->name, strlen(net->cfg->name)}, {c->peer, strlen(c->peer)}};
    atomic_store(&c->state, GENRPC__WAIT_CHALLENGE);
    genrpc__conn_timer_start(c, net->cfg->authentication_timeout_ms);
    send_ctl(c, buf, genrpc__encode_hello(buf, sizeof buf, &h));
}

static void
on_hello(genrpc__conn *c, const uint8_t *body, size_t len)
{
    genrpc__net *net = c->net;
    genrpc__hello h;
    if (!genrpc__decode_hello(body, len, &h)) {
        reject(c, GENRPC__REJ_PROTOCOL, GENRPC_E_PROTOCOL, "malformed HELLO");
        return;
    }
    memcpy(c->peer, h.from.p, h.from.len);
    c->peer[h.from.len] = '\0';
    char why[160];
    if (c->tp->peer_is && !c->tp->peer_is(c, c->peer, why, sizeof why)) {
        reject(c, GENRPC__REJ_CERT, GENRPC_E_TLS, why); /* TLS: the cert must name `from` */
        return;
    }
    if (atomic_load(&net->draining)) {
        reject(c, GENRPC__REJ_DRAINING, GENRPC_E_UNAVAILABLE, "node is draining");
        return;
    }
    /* the highest version both speak */
    uint8_t mine = proto_max(net);
    if (h.min_version > mine || h.max_version < GENRPC__PROTO_MIN) {
        reject(c, GENRPC__REJ_VERSION, GENRPC_E_PROTOCOL, "no common protocol version");
        return;
    }
    c->proto = h.max_version < mine ? h.max_version : mine;
    if (!genrpc__str_eq(h.to, net->cfg->name)) {
        reject(c, GENRPC__REJ_WRONG_NODE, GENRPC_E_AUTH, "HELLO addressed to another node");
        return;
    }
    memcpy(c->peer_nonce, h.nonce, GENRPC__NONCE_LEN);
    if (!genrpc__auth_nonce(c->my_nonce)) {
        genrpc__conn_close(c, GENRPC_E_AUTH, "no random bytes for a nonce");
        return;
    }
    uint8_t buf[GENRPC__LEN_PREFIX + 64 + GENRPC__NAME_MAX];
    genrpc__challenge ch = {c->proto, c->my_nonce, {net->cfg->name, strlen(net->cfg->name)}};
    atomic_store(&c->state, GENRPC__WAIT_AUTH);
    send_ctl(c, buf, genrpc__encode_challenge(buf, sizeof buf, &ch));
}

static void
on_auth(genrpc__conn *c, const uint8_t *body, size_t len)
{
    genrpc__net *net = c->net;
    const uint8_t *mac;
    if (!read_proof(c, body, len, GENRPC__K_AUTH, &mac)) {
        reject(c, GENRPC__REJ_PROTOCOL, GENRPC_E_PROTOCOL, "malformed AUTH");
        return;
    }
    if (!genrpc__auth_check(net->cfg->cookie, net->cookie_len, GENRPC__AUTH_CLIENT, c->peer_nonce,
                            c->my_nonce, c->peer, strlen(c->peer), net->cfg->name,
                            strlen(net->cfg->name), mac)) {
        reject(c, GENRPC__REJ_COOKIE, GENRPC_E_AUTH, "invalid_cookie");
        return;
    }
    uint8_t proof[GENRPC__MAC_LEN];
    genrpc__auth_mac(net->cfg->cookie, net->cookie_len, GENRPC__AUTH_SERVER, c->peer_nonce,
                     c->my_nonce, c->peer, strlen(c->peer), net->cfg->name, strlen(net->cfg->name),
                     proof);
    send_proof(c, GENRPC__K_AUTH_OK, proof);
    ev_timer_stop(net->loop->ev, &c->timer);
    genrpc__conn_ready(c);
    genrpc__log(net->cfg, GENRPC_LOG_DEBUG, "acceptor for %s ready", c->peer);
}

/* Client: a REJECT instead of the expected frame. */
static bool
on_reject(genrpc__conn *c, const uint8_t *body, size_t len)
{
    uint8_t reason;
    genrpc__str text;
    if (len == 0 || body[0] != GENRPC__K_REJECT)
        return false;
    if (!genrpc__decode_reject(body, len, &reason, &text)) {
        genrpc__conn_close(c, GENRPC_E_PROTOCOL, "malformed REJECT");
        return true;
    }
    int err = reason == GENRPC__REJ_COOKIE || reason == GENRPC__REJ_WRONG_NODE ? GENRPC_E_AUTH
              : reason == GENRPC__REJ_CERT                                   ? GENRPC_E_TLS
              : reason == GENRPC__REJ_DRAINING                               ? GENRPC_E_UNAVAILABLE
                                                                             : GENRPC_E_PROTOCOL;
    genrpc__conn_close(c, err, "%.*s", (int)text.len, text.p);
    return true;
}

static void
on_challenge(genrpc__conn *c, const uint8_t *body, size_t len)
{
    genrpc__net *net = c->net;
    genrpc__challenge ch;
    if (on_reject(c, body, len))
        return;
    if (!genrpc__decode_challenge(body, len, &ch) || ch.version < GENRPC__PROTO_MIN ||
        ch.version > proto_max(net)) {
        genrpc__conn_close(c, GENRPC_E_PROTOCOL, "malformed CHALLENGE");
        return;
    }
    if (!genrpc__str_eq(ch.name, c->peer)) {
        genrpc__conn_close(c, GENRPC_E_AUTH, "reached node %.*s, not %s", (int)ch.name.len,
                           ch.name.p, c->peer);
        return;
    }
    memcpy(c->peer_nonce, ch.nonce, GENRPC__NONCE_LEN);
    c->proto = ch.version;
    uint8_t mac[GENRPC__MAC_LEN];
    genrpc__auth_mac(net->cfg->cookie, net->cookie_len, GENRPC__AUTH_CLIENT, c->my_nonce,
                     c->peer_nonce, net->cfg->name, strlen(net->cfg->name), c->peer, strlen(c->peer),
                     mac);
    atomic_store(&c->state, GENRPC__WAIT_AUTH_OK);
    send_proof(c, GENRPC__K_AUTH, mac);
}

static void
on_auth_ok(genrpc__conn *c, const uint8_t *body, size_t len)
{
    genrpc__net *net = c->net;
    const uint8_t *mac;
    if (on_reject(c, body, len))
        return;
    if (!read_proof(c, body, len, GENRPC__K_AUTH_OK, &mac)) {
        genrpc__conn_close(c, GENRPC_E_PROTOCOL, "malformed AUTH_OK");
        return;
    }
    if (!genrpc__auth_check(net->cfg->cookie, net->cookie_len, GENRPC__AUTH_SERVER, c->my_nonce,
                            c->peer_nonce, net->cfg->name, strlen(net->cfg->name), c->peer,
                            strlen(c->peer), mac)) {
        genrpc__conn_close(c, GENRPC_E_AUTH, "server %s could not prove the cookie", c->peer);
        return;
    }
    ev_timer_stop(net->loop->ev, &c->timer);
    atomic_fetch_add(&net->n_clients_ready, 1);
    genrpc__conn_ready(c);
    genrpc__log(net->cfg, GENRPC_LOG_DEBUG, "client to %s ready", c->peer);
}

bool
genrpc__handshake_frame(genrpc__conn *c, const uint8_t *body, size_t len)
{
    GENRPC__ASSERT_ON_LOOP(c->net->loop);
    switch (atomic_load(&c->state)) {
    case GENRPC__WAIT_HELLO:
        on_hello(c, body, len);
        return true;
    case GENRPC__WAIT_AUTH:
        on_auth(c, body, len);
        return true;
    case GENRPC__WAIT_CHALLENGE:
        on_challenge(c, body, len);
        return true;
    case GENRPC__WAIT_AUTH_OK:
        on_auth_ok(c, body, len);
        return true;
    default:
        return false;
    }
}
