/*
 * sensor_hub - a full genrpc node serving sensor.Hub to devices.
 *
 *   sensor_hub --port 5380 [--cookie SECRET] [--seconds N]
 *
 * Prints "PORT <n>" once serving; runs until SIGINT/SIGTERM or --seconds.
 */
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sensor.genrpc.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned readings, last_seq;
static double sum_celsius;
static volatile sig_atomic_t stop_requested;

static void
on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static int
get_config(const Sensor__ConfigRequest *req, Sensor__Config *reply, genrpc_ctx *ctx)
{
    if (!req->device[0])
        return genrpc_fail(ctx, 400, "which device?");
    size_t n = strlen(req->device) + 8;
    char *label = genrpc_ctx_alloc(ctx, n);
    if (label == NULL)
        return genrpc_fail(ctx, 500, "out of memory");
    snprintf(label, n, "%s/lab", req->device);
    reply->period_ms = 20;
    reply->readings = 10;
    reply->label = label;
    return 0;
}

/* Casts from one device run in the order sent, one at a time. */
static int
report(const Sensor__Reading *req, Sensor__Empty *reply, genrpc_ctx *ctx)
{
    (void)reply;
    (void)ctx;
    pthread_mutex_lock(&lock);
    readings++;
    last_seq = req->seq;
    sum_celsius += req->celsius;
    pthread_mutex_unlock(&lock);
    return 0;
}

static int
get_stats(const Sensor__Empty *req, Sensor__Stats *reply, genrpc_ctx *ctx)
{
    (void)req;
    (void)ctx;
    pthread_mutex_lock(&lock);
    reply->readings = readings;
    reply->last_seq = last_seq;
    reply->mean_celsius = readings ? (float)(sum_celsius / readings) : 0.0f;
    pthread_mutex_unlock(&lock);
    return 0;
}

static const Sensor__Hub__Impl hub = {
    .get_config = get_config, .report = report, .get_stats = get_stats};

int
main(int argc, char **argv)
{
    genrpc_node_config cfg;
    genrpc_node_config_init(&cfg);
    cfg.name = "hub@127.0.0.1";
    cfg.cookie = "genrpc-sensor";
    cfg.tcp_server_port = 5380;
    int seconds = -1;
    static const struct option opts[] = {{"port", required_argument, 0, 'p'},
                                         {"cookie", required_argument, 0, 'c'},
                                         {"seconds", required_argument, 0, 's'},
                                         {0, 0, 0, 0}};
    for (int ch; (ch = getopt_long(argc, argv, "", opts, NULL)) != -1;) {
        switch (ch) {
        case 'p': cfg.tcp_server_port = atoi(optarg); break;
        case 'c': cfg.cookie = optarg; break;
        case 's': seconds = atoi(optarg); break;
        default:
            fprintf(stderr, "usage: sensor_hub [--port N] [--cookie SECRET] [--seconds N]\n");
            return 2;
        }
    }
    genrpc_node *node;
    genrpc_status st;
    if (genrpc_node_start(&cfg, &node, &st) != GENRPC_OK) {
        fprintf(stderr, "sensor_hub: cannot start: %s\n", st.message);
        return 1;
    }
    if (sensor__hub__register(node, &hub, NULL) != GENRPC_OK) {
        fprintf(stderr, "sensor_hub: cannot register sensor.Hub\n");
        genrpc_node_stop(node);
        return 1;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    printf("PORT %d\n", genrpc_node_tcp_port(node));
    fflush(stdout);
    for (int waited = 0; !stop_requested && (seconds < 0 || waited < seconds * 10); waited++)
        usleep(100 * 1000);
    genrpc_node_stop(node);
    printf("sensor_hub: stopped after %u readings\n", readings);
    return 0;
}
