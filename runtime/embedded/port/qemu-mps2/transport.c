/*
 * transport.c - the embedded client's transport over UART 0. qemu's
 * "-serial tcp:HOST:PORT" connects the UART to a genrpc node's listener when
 * the machine starts, so the UART's byte stream is the genrpc connection.
 *
 * Waiting is WFI with the UART's RX interrupt and the 1 ms SysTick as wake
 * sources: the core sleeps (and qemu with it) instead of spinning.
 */
#include "board.h"
#include "port.h"

/* After a read's first byte, more bytes are taken while each arrives within
 * this many ms: qemu hands the UART one byte at a time, so a frame would
 * otherwise cost one read call per byte. */
#define READ_GAP_MS 2u

static uint32_t g_deadline;

static int
expired(void)
{
    return (int32_t)(clock_ms() - g_deadline) >= 0;
}

static int
rx_or_expired(void)
{
    return uart_rx_ready() || expired();
}

static int
tx_or_expired(void)
{
    return uart_tx_ready() || expired();
}

/* Waits until a byte is received or timeout_ms pass; 1 if one is there. */
static int
wait_rx(uint32_t timeout_ms)
{
    g_deadline = clock_ms() + timeout_ms + 1; /* +1: a tick may be about to end */
    while (!rx_or_expired())
        board_sleep_unless(rx_or_expired);
    return uart_rx_ready();
}

static int
uart_open(void *ctx, uint32_t timeout_ms)
{
    (void)ctx;
    (void)timeout_ms;
    return 0;
}

static int
uart_read(void *ctx, uint8_t *buf, size_t cap, uint32_t timeout_ms)
{
    (void)ctx;
    size_t n = 0;
    if (!wait_rx(timeout_ms))
        return 0;
    do
        buf[n++] = uart_getc();
    while (n < cap && n < 0x7fffffff && wait_rx(READ_GAP_MS));
    return (int)n;
}

static int
uart_write(void *ctx, const uint8_t *buf, size_t len, uint32_t timeout_ms)
{
    (void)ctx;
    g_deadline = clock_ms() + timeout_ms + 1;
    for (size_t i = 0; i < len; i++) {
        while (!tx_or_expired())
            board_sleep_unless(tx_or_expired);
        if (!uart_tx_ready())
            return 1;
        uart_putc(buf[i]);
    }
    return 0;
}

static void
uart_close(void *ctx)
{
    (void)ctx;
    while (uart_rx_ready())
        (void)uart_getc();
}

static uint32_t
uart_now_ms(void *ctx)
{
    (void)ctx;
    return clock_ms();
}

void
device_transport(genrpc_emb_transport *t)
{
    t->ctx = NULL;
    t->open = uart_open;
    t->read = uart_read;
    t->write = uart_write;
    t->close = uart_close;
    t->now_ms = uart_now_ms;
}
