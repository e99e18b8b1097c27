/*
 * sensor_device - a "device" on the embedded client: no malloc, static
 * buffers, the POSIX transport standing in for the device's network. It
 * calls the hub for its configuration, casts its readings, then asks for
 * the hub's statistics.
 *
 *   sensor_device --port 5380 [--host 127.0.0.1] [--cookie SECRET]
 *
 * On a microcontroller the same code runs with the device's own transport
 * ops (a UART, a TCP stack) and its TRNG in place of genrpc_emb_posix_*.
 */
#define _POSIX_C_SOURCE 200809L /* nanosleep: the host stands in for a device timer */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sensor.genrpc_emb.h"

/* Buffers: the largest frame each way (docs/embedded.md, "Buffer sizing"). */
static uint8_t rx_buf[256], tx_buf[256];
static genrpc_emb_client client;
static genrpc_emb_posix net;

static void
sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int
fail(const char *what, int rc)
{
    size_t len;
    const char *msg = genrpc_emb_error_message(&client, &len);
    fprintf(stderr, "sensor_device: %s: %s (%s)%s%.*s\n", what, genrpc_emb_strerror(rc),
            genrpc_emb_err_name(rc), len ? ": " : "", (int)len, msg);
    return 1;
}

int
main(int argc, char **argv)
{
    genrpc_emb_config cfg = GENRPC_EMB_CONFIG_INIT;
    net.host = "127.0.0.1";
    net.port = 5380;
    cfg.cookie = "genrpc-sensor";
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--port") == 0)
            net.port = (uint16_t)atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--host") == 0)
            net.host = argv[i + 1];
        else if (strcmp(argv[i], "--cookie") == 0)
            cfg.cookie = argv[i + 1];
    }
    genrpc_emb_posix_transport(&net, &cfg.transport);
    cfg.node_name = "sensor-17@device";
    cfg.server_name = "hub@127.0.0.1";
    cfg.hmac = genrpc_emb_hmac_sha256_mbedtls;
    cfg.random = genrpc_emb_posix_random;
    cfg.rx_buf = rx_buf;
    cfg.rx_cap = sizeof rx_buf;
    cfg.tx_buf = tx_buf;
    cfg.tx_cap = sizeof tx_buf;
    int rc = genrpc_emb_init(&client, &cfg);
    if (rc != GENRPC_OK)
        return fail("init", rc);

    sensor_ConfigRequest creq = sensor_ConfigRequest_init_zero;
    sensor_Config conf = sensor_Config_init_zero;
    strcpy(creq.device, "sensor-17");
    rc = sensor__hub__get_config_emb_call(&client, &creq, &conf, 2000);
    if (rc != GENRPC_OK)
        return fail("GetConfig", rc);
    printf("device: config from the hub: label %s, %u readings every %u ms\n", conf.label,
           conf.readings, conf.period_ms);

    for (uint32_t seq = 1; seq <= conf.readings; seq++) {
        sensor_Reading r = sensor_Reading_init_zero;
        strcpy(r.sensor, "t0");
        r.seq = seq;
        r.celsius = 21.0f + 0.25f * (float)seq;
        rc = sensor__hub__report_emb_cast(&client, &r, 1000);
        if (rc != GENRPC_OK)
            return fail("Report", rc);
        sleep_ms(conf.period_ms);
    }

    /* Casts run on the hub in order, but after this call returns only if
     * they were served first: ask until all have been counted. */
    sensor_Empty empty = sensor_Empty_init_zero;
    sensor_Stats stats = sensor_Stats_init_zero;
    for (int tries = 0; tries < 50; tries++) {
        rc = sensor__hub__get_stats_emb_call(&client, &empty, &stats, 2000);
        if (rc != GENRPC_OK)
            return fail("GetStats", rc);
        if (stats.readings >= conf.readings)
            break;
        sleep_ms(20);
    }
    printf("device: hub has %u readings, last seq %u, mean %.2f C\n", stats.readings,
           stats.last_seq, (double)stats.mean_celsius);
    genrpc_emb_close(&client);
    return stats.readings == conf.readings && stats.last_seq == conf.readings ? 0 : 1;
}
