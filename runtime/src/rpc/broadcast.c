/*
 * broadcast.c - the sending side of broadcasts (abcast, sbcast).
 *
 * The registry itself is in handlers.c (a base/registry, names only).
 *
 * abcast is an ABCAST frame per target, queued like a cast (never waits
 * for a connect). sbcast is an SBCAST frame per target sent as an async
 * call whose answer is an empty REPLY ("has the name") or an ERROR (why
 * not), all with one deadline (sbcast_receive_timeout), collected in the
 * caller's order like a multicall. The receiving side is in server.c.
 */
#include <stdlib.h>
#include <string.h>

#include "rpc/node.h"
#include "rpc/call.h"
#include "rpc/client.h"
#include "rpc/fanout.h"

/* ---- sending ------------------------------------------------------------- */

static int
check_bcast(genrpc_node *node, const genrpc_target *targets, size_t n, const char *name,
            const ProtobufCMessage *msg, genrpc_status *st)
{
    if (!node || !name || !msg || !msg->descriptor || !msg->descriptor->name)
        return genrpc__fail(st, GENRPC_E_INVAL, "node, name and message are required");
    size_t nlen = strlen(name), tlen = strlen(msg->descriptor->name);
    if (nlen == 0 || nlen > GENRPC__NAME_MAX || tlen == 0 || tlen > GENRPC__NAME_MAX)
        return genrpc__fail(st, GENRPC_E_INVAL,
                            "handler name and message type name must be 1-%d bytes",
                            GENRPC__NAME_MAX);
    return genrpc__check_targets(targets, n, st);
}

/* The whole frame, once: copied per target (each connection owns its frame
 * and stamps its own request id into it). */
static int
encode_bcast(genrpc_node *node, genrpc__kind kind, const char *name, const ProtobufCMessage *msg,
             genrpc__out **out, genrpc_status *st)
{
    const char *type = msg->descriptor->name;
    size_t nlen = strlen(name), tlen = strlen(type);
    size_t size = protobuf_c_message_get_packed_size(msg);
    uint8_t proto = genrpc__node_proto(node);
    size_t hdr = GENRPC__LEN_PREFIX + genrpc__bcast_hdr_size(proto, nlen, tlen, 0);
    if (hdr - GENRPC__LEN_PREFIX + size > node->cfg.max_frame_size)
        return genrpc__fail(st, GENRPC_E_TOO_BIG, "message of %zu bytes exceeds max_frame_size %zu",
                            size, node->cfg.max_frame_size);
    genrpc__out *o = genrpc__out_new(hdr + size);
    if (!o)
        return genrpc__fail(st, GENRPC_E_NOMEM, "no memory for a %zu-byte message", size);
    genrpc__bcast_hdr h = {.proto = proto, .name = {name, nlen}, .type = {type, tlen},
                           .payload_len = size};
    genrpc__encode_bcast_hdr(o->data, hdr + size, kind, &h);
    protobuf_c_message_pack(msg, o->data + hdr);
    o->proto = proto;
    *out = o;
    return GENRPC_OK;
}

static genrpc__out *
out_copy(const genrpc__out *o)
{
    genrpc__out *c = genrpc__out_new(o->len);
    if (c) {
        memcpy(c->data, o->data, o->len);
        c->proto = o->proto;
    }
    return c;
}

int
genrpc_abcast(genrpc_node *node, const genrpc_target *targets, size_t n, const char *name,
              const ProtobufCMessage *msg, genrpc_status *st)
{
    int rc = check_bcast(node, targets, n, name, msg, st);
    genrpc__out *tmpl;
    if (rc != GENRPC_OK || n == 0 ||
        (rc = encode_bcast(node, GENRPC__K_ABCAST, name, msg, &tmpl, st)) != GENRPC_OK)
        return rc == GENRPC_OK ? genrpc__ok(st) : rc;
    for (size_t i = 0; i < n; i++) {
        genrpc_status s;
        genrpc__conn *conn;
        genrpc__out *o = i + 1 < n ? out_copy(tmpl) : tmpl;
        if (!o) {
            genrpc__log(&node->cfg, GENRPC_LOG_DEBUG, "abcast to %s not sent: out of memory",
                        targets[i].node);
            continue;
        }
        if (o == tmpl)
            tmpl = NULL;
        if (genrpc__client_get(node, targets[i], &conn, &s) != GENRPC_OK) {
            genrpc__log(&node->cfg, GENRPC_LOG_DEBUG, "abcast to %s not sent: %s", targets[i].node,
                        s.message);
            genrpc__out_free(o);
            continue;
        }
        /* like a cast: batched by the loop, in order on the connection */
        genrpc__conn_send(conn, o, GENRPC__FLUSH_DEFER);
        genrpc__conn_unref(conn);
    }
    if (tmpl) /* only when the last copy failed */
        genrpc__out_free(tmpl);
    return genrpc__ok(st);
}

typedef struct sbcast {
    genrpc__fanout f;
    const genrpc__out *tmpl;
    genrpc_sbcast_result *results;
} sbcast;

static void
sbcast_send(genrpc__fanout *f, size_t i, int64_t timeout_ms, genrpc_promise **p,
            genrpc_status *s)
{
    sbcast *b = (sbcast *)f;
    genrpc__out *o = out_copy(b->tmpl);
    *p = NULL;
    if (!o)
        genrpc__fail(s, GENRPC_E_NOMEM, "no memory for the message to %s", f->targets[i].node);
    else
        genrpc__call_async_frame(f->node, f->targets[i], NULL, o, timeout_ms, NULL, true, NULL, p, s);
}

static void
sbcast_done(genrpc__fanout *f, size_t i, const genrpc_status *s, ProtobufCMessage *reply)
{
    (void)reply; /* an empty REPLY: not decoded (fn NULL) */
    ((sbcast *)f)->results[i].status = *s;
}

int
genrpc_sbcast(genrpc_node *node, const genrpc_target *targets, size_t n, const char *name,
              const ProtobufCMessage *msg, genrpc_sbcast_result *results, genrpc_status *st)
{
    int rc = check_bcast(node, targets, n, name, msg, st);
    if (rc != GENRPC_OK)
        return rc;
    if (n > 0 && !results)
        return genrpc__fail(st, GENRPC_E_INVAL, "results is required");
    if (genrpc__on_loop(&node->loop))
        return genrpc__fail(st, GENRPC_E_INVAL,
                            "sbcast from the node's event loop (it blocks; use abcast)");
    if (n == 0)
        return genrpc__ok(st);
    genrpc__out *tmpl;
    if ((rc = encode_bcast(node, GENRPC__K_SBCAST, name, msg, &tmpl, st)) != GENRPC_OK)
        return rc;
    sbcast b = {
        .f = {.node = node,
              .targets = targets,
              .n = n,
              .timeout_ms = node->cfg.sbcast_receive_timeout_ms, /* default set by node.c */
              .timeout_fmt = "no answer from %s within sbcast_receive_timeout (%lld ms)",
              .want_reply = false,
              .send = sbcast_send,
              .done = sbcast_done},
        .tmpl = tmpl,
        .results = results,
    };
    rc = genrpc__fanout_run(&b.f, st);
    genrpc__out_free(tmpl);
    return rc == GENRPC_OK ? genrpc__ok(st) : rc;
}
