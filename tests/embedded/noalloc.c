/*
 * noalloc.c - proof that the embedded client allocates nothing: this
 * program replaces malloc, calloc, realloc and free with versions that
 * abort while `armed`, then connects (handshake), calls, casts, gets a
 * handler error and an oversize reply, and reconnects, against the node
 * at 127.0.0.1:<port> (started by tests/embedded_test.cc).
 *
 * usage: embedded_noalloc <port> <node name> <cookie>; exit 0 = all fine.
 * Under AddressSanitizer, which owns malloc, the same check is made with
 * its malloc/free hooks (__sanitizer_install_malloc_and_free_hooks).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test.genrpc_emb.h"

#if defined(__SANITIZE_ADDRESS__)
#define NOALLOC_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define NOALLOC_ASAN 1
#endif
#endif

static uint8_t rx[1024], tx[3000];
static volatile int armed;

static void
caught(const char *what)
{
    static const char msg[] = "embedded_noalloc: the client called an allocator\n";
    (void)what;
    fwrite(msg, 1, sizeof msg - 1, stderr);
    abort();
}

#ifdef NOALLOC_ASAN
#include <sanitizer/allocator_interface.h>

static void
on_malloc(const volatile void *p, size_t n)
{
    (void)p;
    (void)n;
    if (armed)
        caught("malloc");
}

static void
on_free(const volatile void *p)
{
    if (armed && p != NULL)
        caught("free");
}
#else
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);

void *malloc(size_t n)
{
    if (armed)
        caught("malloc");
    return __libc_malloc(n);
}
void *calloc(size_t n, size_t m)
{
    if (armed)
        caught("calloc");
    return __libc_calloc(n, m);
}
void *realloc(void *p, size_t n)
{
    if (armed)
        caught("realloc");
    return __libc_realloc(p, n);
}
void free(void *p)
{
    if (armed && p != NULL)
        caught("free");
    __libc_free(p);
}
#endif

#define CHECK(cond)                                                         \
    do {                                                                    \
        if (!(cond)) {                                                      \
            fprintf(stderr, "embedded_noalloc: %s failed (line %d)\n", #cond, __LINE__); \
            return 1;                                                       \
        }                                                                   \
    } while (0)

int
main(int argc, char **argv)
{
    static genrpc_emb_client c;
    static genrpc_emb_posix posix;
    static test_PingRequest ping = test_PingRequest_init_zero;
    static test_PingReply pong = test_PingReply_init_zero;
    static test_FailRequest fail = test_FailRequest_init_zero;
    static test_Empty empty = test_Empty_init_zero;
    static test_EchoRequest echo = test_EchoRequest_init_zero;
    static test_EchoReply echoed = test_EchoReply_init_zero;
    static test_CountRequest count = test_CountRequest_init_zero;
    genrpc_emb_config cfg = GENRPC_EMB_CONFIG_INIT;
    if (argc != 4)
        return 2;
#ifdef NOALLOC_ASAN
    if (__sanitizer_install_malloc_and_free_hooks(on_malloc, on_free) == 0)
        return 3;
#endif
    posix.host = "127.0.0.1";
    posix.port = (uint16_t)atoi(argv[1]);
    genrpc_emb_posix_transport(&posix, &cfg.transport);
    cfg.node_name = "noalloc@127.0.0.1";
    cfg.server_name = argv[2];
    cfg.cookie = argv[3];
    cfg.hmac = genrpc_emb_hmac_sha256_mbedtls;
    cfg.random = genrpc_emb_posix_random;
    cfg.rx_buf = rx;
    cfg.rx_cap = sizeof rx;
    cfg.tx_buf = tx;
    cfg.tx_cap = sizeof tx;
    strcpy(ping.text, "no malloc");
    fail.code = 7;
    strcpy(fail.message, "boom");
    echo.payload.size = 2000; /* the reply does not fit rx: TOO_BIG */

    armed = 1;
    CHECK(genrpc_emb_init(&c, &cfg) == GENRPC_OK);
    CHECK(test__test__ping_emb_call(&c, &ping, &pong, 5000) == GENRPC_OK);
    CHECK(strcmp(pong.text, "no malloc") == 0);
    count.seq = 1;
    CHECK(test__test__count_emb_cast(&c, &count, 5000) == GENRPC_OK);
    CHECK(test__test__fail_emb_call(&c, &fail, &empty, 5000) == GENRPC_E_HANDLER);
    CHECK(genrpc_emb_handler_code(&c) == 7);
    CHECK(test__test__echo_emb_call(&c, &echo, &echoed, 5000) == GENRPC_E_TOO_BIG);
    CHECK(!genrpc_emb_connected(&c));
    CHECK(test__test__ping_emb_call(&c, &ping, &pong, 5000) == GENRPC_OK); /* reconnects */
    genrpc_emb_close(&c);
    armed = 0;
    puts("OK");
    return 0;
}
