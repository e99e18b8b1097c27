/*
 * cli_shop.c - the handlers of clitest.Shop (tests/proto/cli.proto). Order
 * computes a receipt from every field of the order, so that a test can tell
 * that the `genrpc` command encoded each one as protobuf's JSON mapping
 * says; Remember/Recall let it see a cast arrive; SetHealth is how the
 * application (here, a test) sets a health status.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_shop.h"
#include "cli.genrpc.h"
#include "rpc/node.h"

#define MAX_NOTES 64

static pthread_mutex_t notes_mu = PTHREAD_MUTEX_INITIALIZER;
static char *notes[MAX_NOTES];
static size_t n_notes;

static Clitest__Color
max_color(Clitest__Color a, Clitest__Color b)
{
    return a > b ? a : b;
}

static int
shop_order(const Clitest__Order *req, Clitest__Receipt *reply, genrpc_ctx *ctx)
{
    size_t blob_len = 0;
    for (size_t i = 0; i < req->n_items; i++) {
        const Clitest__Item *it = req->items[i];
        reply->total_cents += (uint64_t)it->count * (uint64_t)it->price_cents;
        reply->top_color = max_color(reply->top_color, it->color);
        blob_len += it->blob.len;
    }
    for (size_t i = 0; i < req->n_colors; i++)
        reply->top_color = max_color(reply->top_color, req->colors[i]);
    uint8_t *blob = genrpc_ctx_alloc(ctx, blob_len);
    char **keys = genrpc_ctx_alloc(ctx, (req->n_labels + 1) * sizeof *keys);
    char *payment = genrpc_ctx_alloc(ctx, 64 + (req->payment_case ==
                                                CLITEST__ORDER__PAYMENT_CARD ? strlen(req->card) : 0));
    if (!blob || !keys || !payment)
        return genrpc_fail(ctx, 12, "out of memory");
    for (size_t i = 0, at = 0; i < req->n_items; at += req->items[i]->blob.len, i++)
        if (req->items[i]->blob.len)
            memcpy(blob + at, req->items[i]->blob.data, req->items[i]->blob.len);
    for (size_t i = 0; i < req->n_labels; i++)
        keys[i] = req->labels[i]->key;
    for (size_t i = 0; i < req->n_big; i++)
        reply->big_sum += req->big[i];
    if (req->payment_case == CLITEST__ORDER__PAYMENT_CARD)
        sprintf(payment, "card:%s", req->card);
    else if (req->payment_case == CLITEST__ORDER__PAYMENT_ACCOUNT)
        sprintf(payment, "account:%llu", (unsigned long long)req->account);
    else
        strcpy(payment, "none");
    reply->id = req->id;
    reply->n_items = (uint32_t)req->n_items;
    reply->n_slots = (uint32_t)req->n_by_slot;
    reply->order = (Clitest__Order *)req; /* the reply may point into the request */
    reply->n_label_keys = req->n_labels;
    reply->label_keys = keys;
    reply->blob_concat.data = blob;
    reply->blob_concat.len = blob_len;
    reply->payment = payment;
    return 0;
}

static int
shop_remember(const Clitest__Note *req, Clitest__Empty *reply, genrpc_ctx *ctx)
{
    (void)reply;
    (void)ctx;
    pthread_mutex_lock(&notes_mu);
    if (n_notes < MAX_NOTES)
        notes[n_notes++] = strdup(req->text);
    pthread_mutex_unlock(&notes_mu);
    return 0;
}

static int
shop_recall(const Clitest__Empty *req, Clitest__Notes *reply, genrpc_ctx *ctx)
{
    (void)req;
    pthread_mutex_lock(&notes_mu);
    char **texts = genrpc_ctx_alloc(ctx, (n_notes + 1) * sizeof *texts);
    for (size_t i = 0; texts && i < n_notes; i++) {
        size_t len = strlen(notes[i]) + 1;
        if ((texts[i] = genrpc_ctx_alloc(ctx, len)))
            memcpy(texts[i], notes[i], len);
        else
            texts = NULL;
    }
    reply->texts = texts;
    reply->n_texts = texts ? n_notes : 0;
    pthread_mutex_unlock(&notes_mu);
    return texts ? 0 : genrpc_fail(ctx, 12, "out of memory");
}

static int
shop_fail(const Clitest__Note *req, Clitest__Empty *reply, genrpc_ctx *ctx)
{
    (void)reply;
    return genrpc_fail(ctx, 42, "%s", req->text);
}

static int
shop_set_health(const Clitest__HealthSet *req, Clitest__Empty *reply, genrpc_ctx *ctx)
{
    (void)reply;
    int rc = genrpc_node_set_health(genrpc_ctx_node(ctx), req->module, (genrpc_health)req->status);
    return rc ? genrpc_fail(ctx, rc, "genrpc_node_set_health: %s", genrpc_err_name(rc)) : 0;
}

static int
shop_secret(const Clitest__Empty *req, Clitest__Empty *reply, genrpc_ctx *ctx)
{
    (void)req;
    (void)reply;
    (void)ctx;
    return 0;
}

static const Clitest__Shop__Impl shop_impl = {
    .order = shop_order,
    .remember = shop_remember,
    .recall = shop_recall,
    .fail = shop_fail,
    .set_health = shop_set_health,
    .secret = shop_secret,
};

int
cli_shop_register(genrpc_node *node)
{
    return clitest__shop__register(node, &shop_impl, NULL);
}

void
cli_shop_forget(void)
{
    pthread_mutex_lock(&notes_mu);
    for (size_t i = 0; i < n_notes; i++)
        free(notes[i]);
    n_notes = 0;
    pthread_mutex_unlock(&notes_mu);
}

void
cli_shop_set_draining(genrpc_node *node, bool on)
{
    atomic_store(&node->net.draining, on); /* what genrpc_node_drain sets first */
}
