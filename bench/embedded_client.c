/*
 * genrpc_bench_embedded_client - the embedded client (runtime/embedded)
 * making exactly N blocking Echo calls of P bytes against
 * genrpc_bench_server, one at a time, checking every reply's length and
 * bytes. For bench/instructions-embedded (instructions per call under
 * callgrind); not a throughput benchmark.
 *
 *   genrpc_bench_embedded_client --port 7001 [--host 127.0.0.1] [--payload 64] [--calls N]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "echo.genrpc_emb.h"

static uint8_t rx[256 + 64], tx[256 + 64];
static bench_EchoRequest req;
static bench_EchoReply rep;

int
main(int argc, char **argv)
{
    static genrpc_emb_client c;
    static genrpc_emb_posix net = {"127.0.0.1", 7001, -1};
    genrpc_emb_config cfg = GENRPC_EMB_CONFIG_INIT;
    long calls = 1000, payload = 64;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--port"))
            net.port = (uint16_t)atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--host"))
            net.host = argv[i + 1];
        else if (!strcmp(argv[i], "--payload"))
            payload = atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--calls"))
            calls = atol(argv[i + 1]);
    }
    if (payload < 0 || payload > 256 || calls < 1) {
        fprintf(stderr, "usage: genrpc_bench_embedded_client [--port N] [--host H] "
                        "[--payload 0..256] [--calls N]\n");
        return 2;
    }
    static char server[300];
    snprintf(server, sizeof server, "bench_server@%s", net.host);
    genrpc_emb_posix_transport(&net, &cfg.transport);
    cfg.node_name = "bench_embedded@127.0.0.1";
    cfg.server_name = server;
    cfg.cookie = "genrpc-bench";
    cfg.hmac = genrpc_emb_hmac_sha256_mbedtls;
    cfg.random = genrpc_emb_posix_random;
    cfg.rx_buf = rx;
    cfg.rx_cap = sizeof rx;
    cfg.tx_buf = tx;
    cfg.tx_cap = sizeof tx;
    int rc = genrpc_emb_init(&c, &cfg);
    req.payload.size = (pb_size_t)payload;
    for (long i = 0; i < payload; i++)
        req.payload.bytes[i] = (uint8_t)(i * 7);
    for (long i = 0; rc == GENRPC_OK && i < calls; i++) {
        req.payload.bytes[0] = (uint8_t)i;
        rc = bench__echo__echo_emb_call(&c, &req, &rep, 10000);
        if (rc == GENRPC_OK && (rep.payload.size != req.payload.size ||
                                memcmp(rep.payload.bytes, req.payload.bytes, (size_t)payload)))
            rc = GENRPC_E_PROTOCOL;
    }
    genrpc_emb_close(&c);
    if (rc != GENRPC_OK) {
        fprintf(stderr, "genrpc_bench_embedded_client: %s\n", genrpc_emb_strerror(rc));
        return 1;
    }
    printf("calls=%ld payload=%ld ok\n", calls, payload);
    return 0;
}
