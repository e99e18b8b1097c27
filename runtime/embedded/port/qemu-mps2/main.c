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

#include "board.h"
#include "port.h"
#include "test.genrpc_emb.h"

#define DEVICE_NAME "device@qemu-mps2"
#define TIMEOUT_MS 5000u
#define MODULE TEST__TEST__MODULE_NAME

/* The client's two buffers: the largest frames it sends and accepts. */
static uint8_t g_rx[512], g_tx[256];
static genrpc_emb_client g_client;
static int g_failures;
/* The most stack one client function used: connecting (the handshake and its
 * HMACs), and calls and casts on a connected client (encoding, decoding). */
static size_t g_stack_connect, g_stack_calls;

static void
note_stack(size_t *max, size_t mark)
{
    size_t used = stack_used_since(mark);
    if (used > *max)
        *max = used;
}

/* ---- reporting -------------------------------------------------------------- */
static void
check(int ok, const char *what)
{
    con_printf("device: %s %s\n", ok ? "ok  " : "FAIL", what);
    if (!ok)
        g_failures++;
}

static void
report_err(const char *what, int err)
{
    size_t n;
    const char *msg = genrpc_emb_error_message(&g_client, &n);
    con_printf("device: %s -> %s (%s)%s%.*s\n", what, genrpc_emb_err_name(err),
               genrpc_emb_strerror(err), n > 0 ? ": " : "", (int)n, msg);
}

/* ---- the steps: the generated stubs (test.genrpc_emb.h), stack measured ---- */
#define MEASURED(max, err, expr)                                                                   \
    do {                                                                                           \
        size_t mark_ = stack_mark();                                                               \
        (err) = (expr);                                                                            \
        note_stack(&(max), mark_);                                                                 \
    } while (0)

/* The replies are static: test.options sizes some of them in kilobytes
 * (CountReply holds up to 256 seqs). */
static test_PingReply g_pong;
static test_CountReply g_count;
static test_Empty g_empty;

static void
scenario(void)
{
    uint32_t t0 = clock_ms();
    int err;
    MEASURED(g_stack_connect, err, genrpc_emb_connect(&g_client, TIMEOUT_MS));
    if (err != GENRPC_OK) {
        report_err("connect", err);
        check(0, "handshake");
        return;
    }
    con_printf("device: authenticated to the node in %u ms\n", (unsigned)(clock_ms() - t0));

    /* call: Ping echoes the text. */
    test_PingRequest ping = test_PingRequest_init_zero;
    strcpy(ping.text, "hello from a Cortex-M4");
    MEASURED(g_stack_calls, err, test__test__ping_emb_call(&g_client, &ping, &g_pong, TIMEOUT_MS));
    if (err != GENRPC_OK)
        report_err("call Ping", err);
    con_printf("device: call %s.Ping(\"%s\") -> \"%s\"\n", MODULE, ping.text, g_pong.text);
    check(err == GENRPC_OK && strcmp(g_pong.text, ping.text) == 0, "call Ping echoed the text");

    /* casts: Count(seq) appends seq to the node's log, in order. */
    static const uint64_t seqs[] = {7, 8, 9};
    err = GENRPC_OK;
    for (size_t i = 0; i < sizeof seqs / sizeof seqs[0] && err == GENRPC_OK; i++) {
        test_CountRequest req = test_CountRequest_init_zero;
        req.seq = seqs[i];
        MEASURED(g_stack_calls, err, test__test__count_emb_cast(&g_client, &req, TIMEOUT_MS));
    }
    if (err != GENRPC_OK)
        report_err("cast Count", err);
    con_printf("device: cast %s.Count(7), (8), (9) -> %s\n", MODULE, genrpc_emb_err_name(err));
    check(err == GENRPC_OK, "three casts sent");

    /* call again: ReadCount shows the casts ran, in order. */
    const test_Empty empty = test_Empty_init_zero;
    MEASURED(g_stack_calls, err,
             test__test__read_count_emb_call(&g_client, &empty, &g_count, TIMEOUT_MS));
    if (err != GENRPC_OK)
        report_err("call ReadCount", err);
    con_printf("device: call %s.ReadCount() -> count %lu, seqs", MODULE,
               (unsigned long)g_count.count);
    for (pb_size_t i = 0; i < g_count.seqs_count; i++)
        con_printf(" %lu", (unsigned long)g_count.seqs[i]);
    con_printf("\n");
    check(err == GENRPC_OK && g_count.seqs_count == 3 && g_count.seqs[0] == 7 &&
              g_count.seqs[1] == 8 && g_count.seqs[2] == 9,
          "the node ran the casts, in order");

    /* an error from a handler travels back with its code and message. */
    static test_FailRequest fail = test_FailRequest_init_zero;
    fail.code = 42;
    strcpy(fail.message, "no such sensor");
    MEASURED(g_stack_calls, err, test__test__fail_emb_call(&g_client, &fail, &g_empty, TIMEOUT_MS));
    report_err("call Fail", err);
    size_t n;
    const char *msg = genrpc_emb_error_message(&g_client, &n);
    check(err == GENRPC_E_HANDLER && genrpc_emb_handler_code(&g_client) == 42 &&
              n == strlen(fail.message) && memcmp(msg, fail.message, n) == 0,
          "call Fail -> HANDLER, code 42 and the handler's message");

    check(genrpc_emb_connected(&g_client), "still connected");
    con_printf("device: done in %u ms\n", (unsigned)(clock_ms() - t0));
}

static void
expect_reject(void)
{
    int err;
    MEASURED(g_stack_connect, err, genrpc_emb_connect(&g_client, TIMEOUT_MS));
    report_err("connect with a wrong cookie", err);
    check(err == GENRPC_E_AUTH && !genrpc_emb_connected(&g_client),
          "the node refused the wrong cookie (AUTH)");
}

/* Splits the command line at spaces into at most max words. */
static int
split(char *s, char **words, int max)
{
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
main(void)
{
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
    cfg.hmac = genrpc_emb_hmac_sha256_mbedtls; /* the default; NULL means the same */
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
    con_printf("device: stack used by the client: connect (handshake, HMAC) %u bytes, "
               "call/cast (nanopb included) %u bytes\n",
               (unsigned)g_stack_connect, (unsigned)g_stack_calls);
    con_printf("device: %s\n", g_failures == 0 ? "PASS" : "FAIL");
    return g_failures == 0 ? 0 : 1;
}
