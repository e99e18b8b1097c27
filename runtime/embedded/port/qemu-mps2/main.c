/*
 * main.c - the device program: the embedded genrpc client on a bare-metal
 * Cortex-M4 (qemu mps2-an386), over UART 0, which qemu bridges to a TCP
 * connection to a full genrpc node (tests/helpers/test_node.c, the modules
 * of tests/proto/test.proto). It authenticates, calls, casts and calls
 * again, checks every answer, and reports on the semihosting console.
 *
 * Command line (qemu -append; qemu puts the image's path first):
 *   SERVER_NAME COOKIE [expect-reject]
 *   expect-reject: the cookie is wrong on purpose; the handshake must fail
 *   with GENRPC_E_AUTH and nothing else may happen.
 * Exit status: 0 when everything went as expected, 1 otherwise.
 */
#include <string.h>

#include <pb_decode.h>
#include <pb_encode.h>

#include "board.h"
#include "port.h"
#include "test.pb.h"

#define DEVICE_NAME "device@qemu-mps2"
#define TIMEOUT_MS 5000u
#define MODULE "test.Test"
#define MODULE_VERSION 1u

/* The client's two buffers: the largest frames it sends and accepts. */
static uint8_t g_rx[512], g_tx[256];
static genrpc_emb_client g_client;
static int g_failures;
static size_t g_client_stack; /* the most stack one client function used */

static void
note_stack(size_t mark) {
    size_t used = stack_used_since(mark);
    if (used > g_client_stack)
        g_client_stack = used;
}

/* ---- nanopb glue: a message and its descriptor as one encode argument ---- */
typedef struct pb_arg {
    const pb_msgdesc_t *fields;
    const void *msg;
} pb_arg;

static int
encode_pb(const void *arg, uint8_t *buf, size_t cap, size_t *len) {
    const pb_arg *a = arg;
    pb_ostream_t os = pb_ostream_from_buffer(buf, cap);
    if (!pb_encode(&os, a->fields, a->msg))
        return os.bytes_written == cap ? GENRPC_E_TOO_BIG : GENRPC_E_INVAL;
    *len = os.bytes_written;
    return GENRPC_OK;
}

static int
decode_pb(const uint8_t *buf, size_t len, const pb_msgdesc_t *fields, void *msg) {
    pb_istream_t is = pb_istream_from_buffer(buf, len);
    return pb_decode(&is, fields, msg) ? GENRPC_OK : GENRPC_E_BADARGS;
}

/* ---- reporting -------------------------------------------------------------- */
static void
check(int ok, const char *what) {
    con_printf("device: %s %s\n", ok ? "ok  " : "FAIL", what);
    if (!ok)
        g_failures++;
}

static void
report_err(const char *what, int err) {
    size_t n;
    const char *msg = genrpc_emb_error_message(&g_client, &n);
    con_printf("device: %s -> %s (%s)%s%.*s\n", what, genrpc_emb_err_name(err),
               genrpc_emb_strerror(err), n > 0 ? ": " : "", (int)n, msg);
}

/* ---- the steps ---------------------------------------------------------------- */
static int
call(const char *function, const pb_msgdesc_t *req_fields, const void *req,
     const pb_msgdesc_t *rep_fields, void *rep) {
    const pb_arg arg = {req_fields, req};
    const uint8_t *reply;
    size_t reply_len;
    size_t mark = stack_mark();
    int err = genrpc_emb_call(&g_client, MODULE, MODULE_VERSION, function, encode_pb, &arg,
                              TIMEOUT_MS, &reply, &reply_len);
    note_stack(mark);
    if (err == GENRPC_OK)
        err = decode_pb(reply, reply_len, rep_fields, rep);
    if (err != GENRPC_OK)
        report_err(function, err);
    return err;
}

static int
cast_count(uint64_t seq) {
    test_CountRequest req = test_CountRequest_init_zero;
    req.seq = seq;
    const pb_arg arg = {test_CountRequest_fields, &req};
    size_t mark = stack_mark();
    int err =
        genrpc_emb_cast(&g_client, MODULE, MODULE_VERSION, "Count", encode_pb, &arg, TIMEOUT_MS);
    note_stack(mark);
    if (err != GENRPC_OK)
        report_err("cast Count", err);
    return err;
}

static void
scenario(void) {
    uint32_t t0 = clock_ms();
    size_t mark = stack_mark();
    int err = genrpc_emb_connect(&g_client, TIMEOUT_MS);
    note_stack(mark);
    if (err != GENRPC_OK) {
        report_err("connect", err);
        check(0, "handshake");
        return;
    }
    con_printf("device: authenticated to the node in %u ms\n", (unsigned)(clock_ms() - t0));

    /* call: Ping echoes the text. */
    test_PingRequest ping = test_PingRequest_init_zero;
    test_PingReply pong = test_PingReply_init_zero;
    strcpy(ping.text, "hello from a Cortex-M4");
    err = call("Ping", test_PingRequest_fields, &ping, test_PingReply_fields, &pong);
    con_printf("device: call %s.Ping(\"%s\") -> \"%s\"\n", MODULE, ping.text, pong.text);
    check(err == GENRPC_OK && strcmp(pong.text, ping.text) == 0, "call Ping echoed the text");

    /* casts: Count(seq) appends seq to the node's log, in order. */
    static const uint64_t seqs[] = {7, 8, 9};
    int cast_err = GENRPC_OK;
    for (size_t i = 0; i < sizeof seqs / sizeof seqs[0]; i++)
        if (cast_err == GENRPC_OK)
            cast_err = cast_count(seqs[i]);
    con_printf("device: cast %s.Count(7), (8), (9) -> %s\n", MODULE, genrpc_emb_err_name(cast_err));
    check(cast_err == GENRPC_OK, "three casts sent");

    /* call again: ReadCount shows the casts ran, in order. */
    test_Empty empty = test_Empty_init_zero;
    test_CountReply count = test_CountReply_init_zero;
    err = call("ReadCount", test_Empty_fields, &empty, test_CountReply_fields, &count);
    con_printf("device: call %s.ReadCount() -> count %lu, seqs", MODULE,
               (unsigned long)count.count);
    for (pb_size_t i = 0; i < count.seqs_count; i++)
        con_printf(" %lu", (unsigned long)count.seqs[i]);
    con_printf("\n");
    check(err == GENRPC_OK && count.seqs_count == 3 && count.seqs[0] == 7 && count.seqs[1] == 8 &&
              count.seqs[2] == 9,
          "the node ran the casts, in order");

    /* an error from a handler travels back with its code and message. */
    test_FailRequest fail = test_FailRequest_init_zero;
    fail.code = 42;
    strcpy(fail.message, "no such sensor");
    err = call("Fail", test_FailRequest_fields, &fail, test_Empty_fields, &empty);
    size_t n;
    const char *msg = genrpc_emb_error_message(&g_client, &n);
    check(err == GENRPC_E_HANDLER && genrpc_emb_handler_code(&g_client) == 42 &&
              n == strlen(fail.message) && memcmp(msg, fail.message, n) == 0,
          "call Fail -> HANDLER, code 42 and the handler's message");

    check(genrpc_emb_connected(&g_client), "still connected");
    con_printf("device: done in %u ms\n", (unsigned)(clock_ms() - t0));
}

static void
expect_reject(void) {
    size_t mark = stack_mark();
    int err = genrpc_emb_connect(&g_client, TIMEOUT_MS);
    note_stack(mark);
    report_err("connect with a wrong cookie", err);
    check(err == GENRPC_E_AUTH && !genrpc_emb_connected(&g_client),
          "the node refused the wrong cookie (AUTH)");
}

/* Splits the command line at spaces into at most max words. */
static int
split(char *s, char **words, int max) {
    int n = 0;
    for (char *p = s; *p != '\0' && n < max;) {
        while (*p == ' ')
            *p++ = '\0';
        if (*p == '\0')
            break;
        words[n++] = p;
        while (*p != '\0' && *p != ' ')
            p++;
    }
    return n;
}

int
main(void) {
    static char cmdline[256];
    char *argv[4];
    clock_init();
    uart_init();

    semihost_cmdline(cmdline, sizeof cmdline);
    int argc = split(cmdline, argv, 4) - 1; /* argv[0]: the image */
    if (argc < 2) {
        con_printf("device: usage (qemu -append): SERVER_NAME COOKIE [expect-reject]\n");
        return 1;
    }
    genrpc_emb_config cfg = GENRPC_EMB_CONFIG_INIT;
    cfg.node_name = DEVICE_NAME;
    cfg.server_name = argv[1];
    cfg.cookie = argv[2];
    device_transport(&cfg.transport);
    cfg.hmac = device_hmac_sha256;
    cfg.random = device_random;
    cfg.rx_buf = g_rx;
    cfg.rx_cap = sizeof g_rx;
    cfg.tx_buf = g_tx;
    cfg.tx_cap = sizeof g_tx;
    int err = genrpc_emb_init(&g_client, &cfg);
    if (err != GENRPC_OK) {
        report_err("init", err);
        return 1;
    }
    con_printf("device: %s on a Cortex-M4, calling %s over UART 0\n", DEVICE_NAME, argv[1]);

    if (argc >= 3 && strcmp(argv[3], "expect-reject") == 0)
        expect_reject();
    else
        scenario();
    con_printf("device: stack used by the client (its deepest call, encoding and HMAC "
               "included): %u bytes\n",
               (unsigned)g_client_stack);
    con_printf("device: %s\n", g_failures == 0 ? "PASS" : "FAIL");
    return g_failures == 0 ? 0 : 1;
}
