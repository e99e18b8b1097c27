/*
 * tls.c - the TLS transport (OpenSSL): one SSL_CTX per node, one SSL
 * object per connection, non-blocking all the way.
 *
 * Policy (docs/tls.md): TLS 1.2 minimum (1.3 preferred: OpenSSL picks the
 * highest both sides speak); TLS 1.2 limited to ECDHE key exchange with
 * AEAD ciphers (TLS 1.3 suites are all ECDHE/AEAD); no renegotiation, no
 * compression, no session resumption; both sides present a certificate
 * and verify the peer's against the configured CA; the peer's certificate
 * must name the peer's node: its subject CN or one of its SANs (DNS, email,
 * URI) equal to the node name, compared byte for byte (node names contain
 * '@': this is not hostname matching). A client checks the server it dialled
 * before it sends HELLO; an acceptor checks the name a client claims in
 * HELLO (handshake.c calls peer_is).
 *
 * Threads: an SSL object is not thread-safe, so every SSL_* call on a
 * connection runs on the loop (loop_only): the loop reads, and writes from
 * workers and callers are handed to the loop's end-of-iteration flush
 * (docs/RATIONALE.md, "TLS writes on the loop").
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "net/conn.h"
#include "net/handshake.h"

/* TLS 1.2 suites: forward-secret key exchange, authenticated encryption. */
#define DEFAULT_CIPHERS                                                                     \
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"                          \
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"                          \
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256"

/* Small frames are gathered into one buffer of up to one TLS record, so a
 * batch of frames costs one record and one write, not one each. */
#define STAGE (16 * 1024)

typedef struct tls_conn {
    SSL *ssl;
    uint8_t stage[STAGE];
} tls_conn;

/* ---- node ---------------------------------------------------------------- */

static int
ctx_fail(genrpc_status *st, SSL_CTX *ctx, const char *what, const char *file)
{
    unsigned long e = ERR_peek_last_error();
    char reason[256];
    ERR_error_string_n(e, reason, sizeof reason);
    ERR_clear_error();
    SSL_CTX_free(ctx);
    return genrpc__fail(st, GENRPC_E_TLS, "TLS: %s %s: %s", what, file ? file : "",
                        e ? reason : "unknown error");
}

int
genrpc__tls_init(genrpc__net *net, genrpc_status *st)
{
    const genrpc_node_config *cfg = net->cfg;
    net->tls_ctx = NULL;
    int given = !!cfg->tls_ca_file + !!cfg->tls_cert_file + !!cfg->tls_key_file;
    if (given == 0 && cfg->ssl_server_port == GENRPC_PORT_DISABLED)
        return GENRPC_OK; /* no TLS; dialling a TLS node fails with E_TLS */
    if (given != 3)
        return genrpc__fail(st, GENRPC_E_INVAL,
                            "TLS needs tls_ca_file, tls_cert_file and tls_key_file");
    ERR_clear_error();
    SSL_CTX *ctx = SSL_CTX_new(TLS_method());
    if (!ctx)
        return ctx_fail(st, NULL, "cannot create a context", NULL);
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
                                 SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_TICKET |
                                 SSL_OP_IGNORE_UNEXPECTED_EOF);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_num_tickets(ctx, 0);
    /* A write that said WANT_WRITE is retried from a rebuilt buffer with
     * the same bytes first (the queue's head is unchanged until written). */
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_read_ahead(ctx, 1);
    const char *ciphers = cfg->tls_ciphers ? cfg->tls_ciphers : DEFAULT_CIPHERS;
    if (SSL_CTX_set_cipher_list(ctx, ciphers) != 1)
        return ctx_fail(st, ctx, "bad cipher list", ciphers);
    if (SSL_CTX_use_certificate_chain_file(ctx, cfg->tls_cert_file) != 1)
        return ctx_fail(st, ctx, "cannot load the certificate", cfg->tls_cert_file);
    if (SSL_CTX_use_PrivateKey_file(ctx, cfg->tls_key_file, SSL_FILETYPE_PEM) != 1)
        return ctx_fail(st, ctx,
                        ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH
                            ? "the private key does not match the certificate"
                            : "cannot load the private key",
                        cfg->tls_key_file);
    if (SSL_CTX_check_private_key(ctx) != 1)
        return ctx_fail(st, ctx, "the private key does not match the certificate",
                        cfg->tls_key_file);
    if (SSL_CTX_load_verify_locations(ctx, cfg->tls_ca_file, NULL) != 1)
        return ctx_fail(st, ctx, "cannot load the CA file", cfg->tls_ca_file);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    SSL_CTX_set_verify_depth(ctx, cfg->tls_verify_depth > 0 ? cfg->tls_verify_depth : 99);
    net->tls_ctx = ctx;
    return GENRPC_OK;
}

void
genrpc__tls_free(genrpc__net *net)
{
    SSL_CTX_free(net->tls_ctx);
    net->tls_ctx = NULL;
}

/* ---- names --------------------------------------------------------------- */

static bool
asn1_is(const ASN1_STRING *s, const char *name)
{
    size_t n = strlen(name);
    return s && (size_t)ASN1_STRING_length(s) == n &&
           memcmp(ASN1_STRING_get0_data(s), name, n) == 0;
}

/* Does cert name `name` (a CN, or a DNS/email/URI SAN)? On no, why[]
 * lists what it names instead. */
static bool
cert_names(X509 *cert, const char *name, char *why, size_t why_len)
{
    size_t used = 0;
    why[0] = '\0';
    X509_NAME *subj = X509_get_subject_name(cert);
    for (int i = -1; (i = X509_NAME_get_index_by_NID(subj, NID_commonName, i)) >= 0;) {
        ASN1_STRING *cn = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subj, i));
        unsigned char *utf8 = NULL;
        int len = ASN1_STRING_to_UTF8(&utf8, cn);
        bool match = len >= 0 && (size_t)len == strlen(name) && memcmp(utf8, name, len) == 0;
        if (!match && len >= 0 && used < why_len)
            used += snprintf(why + used, why_len - used, "%sCN=%.*s", used ? ", " : "",
                             len > 64 ? 64 : len, (const char *)utf8);
        OPENSSL_free(utf8);
        if (match)
            return true;
    }
    GENERAL_NAMES *sans = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
    bool found = false;
    for (int i = 0; sans && !found && i < sk_GENERAL_NAME_num(sans); i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(sans, i);
        const ASN1_STRING *s = g->type == GEN_DNS     ? g->d.dNSName
                               : g->type == GEN_EMAIL ? g->d.rfc822Name
                               : g->type == GEN_URI   ? g->d.uniformResourceIdentifier
                                                      : NULL;
        found = asn1_is(s, name);
        if (!found && s && used < why_len)
            used += snprintf(why + used, why_len - used, "%sSAN %.*s", used ? ", " : "",
                             ASN1_STRING_length(s) > 64 ? 64 : ASN1_STRING_length(s),
                             (const char *)ASN1_STRING_get0_data(s));
    }
    GENERAL_NAMES_free(sans);
    if (!found && !why[0])
        snprintf(why, why_len, "no CN or SAN");
    return found;
}

static bool
peer_is(genrpc__conn *c, const char *name, char *why, size_t why_len)
{
    tls_conn *t = c->tp_state;
    X509 *cert = t ? SSL_get0_peer_certificate(t->ssl) : NULL;
    char names[160];
    if (!cert) {
        snprintf(why, why_len, "no certificate");
        return false;
    }
    if (cert_names(cert, name, names, sizeof names))
        return true;
    snprintf(why, why_len, "certificate name mismatch: %s is not %.64s", names, name);
    return false;
}

/* ---- errors -------------------------------------------------------------- */

static const char *
verify_class(long v)
{
    switch (v) {
    case X509_V_ERR_CERT_HAS_EXPIRED:
        return "expired certificate";
    case X509_V_ERR_CERT_NOT_YET_VALID:
        return "certificate not yet valid";
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_CERT_SIGNATURE_FAILURE:
        return "untrusted CA";
    default:
        return "invalid certificate";
    }
}

/* What went wrong, from the peer's certificate check or OpenSSL's error
 * queue (loop thread: the queue is per thread). */
static void
describe(SSL *ssl, int ssl_err, int sys_err, char *buf, size_t len)
{
    unsigned long e = ERR_peek_last_error();
    long v = SSL_get_verify_result(ssl);
    int reason = ERR_GET_REASON(e);
    if (v != X509_V_OK && reason == SSL_R_CERTIFICATE_VERIFY_FAILED) {
        snprintf(buf, len, "peer certificate refused (%s): %s", verify_class(v),
                 X509_verify_cert_error_string(v));
        return;
    }
    switch (reason) {
    case SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE:
        snprintf(buf, len, "no certificate: the peer presented none");
        return;
    case SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED:
        snprintf(buf, len, "no certificate: the peer requires one");
        return;
    case SSL_R_UNSUPPORTED_PROTOCOL:
    case SSL_R_NO_PROTOCOLS_AVAILABLE:
    case SSL_R_WRONG_VERSION_NUMBER:
    case SSL_R_VERSION_TOO_LOW:
    case SSL_R_TLSV1_ALERT_PROTOCOL_VERSION:
        snprintf(buf, len, "protocol version refused (TLS 1.2 or later required): %s",
                 ERR_reason_error_string(e));
        return;
    case SSL_R_TLSV1_ALERT_UNKNOWN_CA:
        snprintf(buf, len, "the peer refused our certificate (untrusted CA)");
        return;
    case SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED:
        snprintf(buf, len, "the peer refused our certificate (expired certificate)");
        return;
    case SSL_R_SSLV3_ALERT_BAD_CERTIFICATE:
    case SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN:
        snprintf(buf, len, "the peer refused our certificate (%s)", ERR_reason_error_string(e));
        return;
    }
    if (e)
        snprintf(buf, len, "%s", ERR_reason_error_string(e) ? ERR_reason_error_string(e)
                                                            : "unknown error");
    else if (ssl_err == SSL_ERROR_SYSCALL && sys_err)
        snprintf(buf, len, "%s", strerror(sys_err));
    else
        snprintf(buf, len, "connection closed by the peer");
}

/* The peer for messages: its node name once known, else its address. */
static const char *
peer_label(genrpc__conn *c, char *buf, size_t len)
{
    if (c->peer[0])
        return c->peer;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    char ip[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    if (getpeername(c->fd, (struct sockaddr *)&ss, &sl) == 0) {
        if (ss.ss_family == AF_INET6) {
            struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
            inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof ip);
            port = ntohs(a->sin6_port);
        } else if (ss.ss_family == AF_INET) {
            struct sockaddr_in *a = (struct sockaddr_in *)&ss;
            inet_ntop(AF_INET, &a->sin_addr, ip, sizeof ip);
            port = ntohs(a->sin_port);
        }
    }
    snprintf(buf, len, "a peer at %s:%d", ip, port);
    return buf;
}

/* Closes c with E_TLS and why ssl_err happened during `what`: at once, or
 * `soon` (a write: the writer may be inside genrpc__conn_send) by the loop
 * next. */
static void
fail(genrpc__conn *c, const char *what, int ssl_err, bool soon)
{
    tls_conn *t = c->tp_state;
    int sys_err = errno;
    char why[200];
    describe(t->ssl, ssl_err, sys_err, why, sizeof why);
    ERR_clear_error();
    if (c->kind == GENRPC__ACCEPTOR && atomic_load(&c->state) != GENRPC__READY)
        atomic_fetch_add(&c->net->auth_failures, 1); /* a peer we did not let in */
    char who[INET6_ADDRSTRLEN + 32];
    void (*close_fn)(genrpc__conn *, int, const char *, ...) =
        soon ? genrpc__conn_close_soon : genrpc__conn_close;
    close_fn(c, GENRPC_E_TLS, "TLS %s %s %s: %s", what, c->kind == GENRPC__CLIENT ? "to" : "from",
             peer_label(c, who, sizeof who), why);
}

/* ---- handshake ----------------------------------------------------------- */

static void
handshake_step(genrpc__conn *c)
{
    tls_conn *t = c->tp_state;
    struct ev_loop *loop = c->net->loop->ev;
    ERR_clear_error();
    errno = 0;
    int r = SSL_do_handshake(t->ssl);
    if (r != 1) {
        int e = SSL_get_error(t->ssl, r);
        if (e == SSL_ERROR_WANT_READ)
            ev_io_stop(loop, &c->ww);
        else if (e == SSL_ERROR_WANT_WRITE)
            ev_io_start(loop, &c->ww);
        else
            fail(c, "handshake", e, false);
        return;
    }
    ev_io_stop(loop, &c->ww);
    char why[200];
    if (c->kind == GENRPC__CLIENT && !peer_is(c, c->peer, why, sizeof why)) {
        genrpc__conn_close(c, GENRPC_E_TLS, "TLS handshake to %s: %s", c->peer, why);
        return;
    }
    if (GENRPC__LOG_ON(c->net->cfg, GENRPC_LOG_DEBUG)) {
        char who[INET6_ADDRSTRLEN + 32];
        genrpc__log(c->net->cfg, GENRPC_LOG_DEBUG, "TLS %s %s: %s, %s",
                    c->kind == GENRPC__CLIENT ? "to" : "from", peer_label(c, who, sizeof who),
                    SSL_get_version(t->ssl), SSL_get_cipher_name(t->ssl));
    }
    genrpc__conn_transport_ready(c);
    /* Bytes that came with the handshake may wait inside OpenSSL already. */
    if (atomic_load(&c->state) != GENRPC__CLOSED)
        ev_feed_event(loop, &c->rw, EV_READ);
}

static void
tls_handshake(genrpc__conn *c)
{
    genrpc__conn_ref(c); /* closing c drops the loop's reference */
    handshake_step(c);
    genrpc__conn_unref(c);
}

static bool
tls_start(genrpc__conn *c)
{
    tls_conn *t = malloc(sizeof *t);
    SSL *ssl = t && c->net->tls_ctx ? SSL_new(c->net->tls_ctx) : NULL;
    if (!ssl || SSL_set_fd(ssl, c->fd) != 1) {
        SSL_free(ssl);
        free(t);
        ERR_clear_error();
        genrpc__conn_close(c, GENRPC_E_TLS, "cannot start TLS (%s)",
                           c->net->tls_ctx ? "out of memory" : "no TLS configuration");
        return false;
    }
    t->ssl = ssl;
    c->tp_state = t;
    if (c->kind == GENRPC__CLIENT) {
        SSL_set_connect_state(ssl);
        genrpc__conn_timer_start(c, c->net->cfg->authentication_timeout_ms);
    } else {
        SSL_set_accept_state(ssl);
    }
    atomic_store(&c->state, GENRPC__TLS_HANDSHAKE);
    tls_handshake(c);
    return false;
}

/* ---- data ---------------------------------------------------------------- */

/* Reads until buf is full or OpenSSL wants more from the socket. OpenSSL
 * reads ahead: whatever it still holds makes no readable event, so the
 * loop is told to come back. */
static ssize_t
tls_read(genrpc__conn *c, void *buf, size_t len)
{
    tls_conn *t = c->tp_state;
    size_t got = 0;
    ERR_clear_error();
    while (got < len) {
        size_t want = len - got > INT_MAX ? INT_MAX : len - got;
        errno = 0;
        int r = SSL_read(t->ssl, (uint8_t *)buf + got, (int)want);
        if (r > 0) {
            got += (size_t)r;
            continue;
        }
        int e = SSL_get_error(t->ssl, r);
        if (e == SSL_ERROR_WANT_READ)
            return got ? (ssize_t)got : GENRPC__IO_WANT_READ;
        if (got) { /* deliver these first; the next read reports the rest */
            ev_feed_event(c->net->loop->ev, &c->rw, EV_READ);
            return (ssize_t)got;
        }
        if (e == SSL_ERROR_WANT_WRITE)
            return GENRPC__IO_WANT_WRITE;
        if (e == SSL_ERROR_ZERO_RETURN && atomic_load(&c->state) == GENRPC__READY)
            return 0;
        /* Before READY a close is the peer refusing us: in TLS 1.3 a server
         * checks the client's certificate after the client's handshake is done. */
        fail(c, atomic_load(&c->state) == GENRPC__READY ? "read" : "handshake", e, false);
        return GENRPC__IO_CLOSED;
    }
    if (SSL_has_pending(t->ssl))
        ev_feed_event(c->net->loop->ev, &c->rw, EV_READ);
    return (ssize_t)got;
}

/* One SSL_write: a large first segment as it is, else small segments
 * gathered into the stage. After WANT_WRITE the caller comes back with the
 * same head of queue, hence the same leading bytes and at least as many
 * (OpenSSL's retry rule, relaxed by ACCEPT_MOVING_WRITE_BUFFER). */
static ssize_t
tls_writev(genrpc__conn *c, const struct iovec *iov, int iovcnt)
{
    tls_conn *t = c->tp_state;
    const void *p = iov[0].iov_base;
    size_t len = iov[0].iov_len;
    if (len < STAGE) {
        len = 0;
        for (int i = 0; i < iovcnt && len < STAGE; i++) {
            size_t n = iov[i].iov_len < STAGE - len ? iov[i].iov_len : STAGE - len;
            memcpy(t->stage + len, iov[i].iov_base, n);
            len += n;
        }
        p = t->stage;
    } else if (len > INT_MAX) {
        len = INT_MAX;
    }
    ERR_clear_error();
    errno = 0;
    int r = SSL_write(t->ssl, p, (int)len);
    if (r > 0)
        return r;
    int e = SSL_get_error(t->ssl, r);
    if (e == SSL_ERROR_WANT_WRITE)
        return GENRPC__IO_WANT_WRITE;
    if (e == SSL_ERROR_WANT_READ)
        return GENRPC__IO_WANT_READ;
    fail(c, "write", e, true);
    return GENRPC__IO_CLOSED;
}

static void
tls_destroy(genrpc__conn *c)
{
    tls_conn *t = c->tp_state;
    if (t) {
        SSL_free(t->ssl);
        free(t);
        c->tp_state = NULL;
    }
}

const genrpc__transport genrpc__tls_transport = {
    .name = "tls",
    .loop_only = true,
    .start = tls_start,
    .handshake = tls_handshake,
    .read = tls_read,
    .writev = tls_writev,
    .peer_is = peer_is,
    .destroy = tls_destroy,
};
