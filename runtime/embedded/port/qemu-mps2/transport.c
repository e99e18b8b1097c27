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

/* A deadline in clock_ms() time; passed to the sleep predicates. */
typedef struct deadline {
    uint32_t at;
} deadline;

static deadline
deadline_in(uint32_t timeout_ms)
{
    /* +1: the current millisecond may be about to end; 0 stays a poll. */
    deadline d = {clock_ms() + timeout_ms + (timeout_ms > 0)};
    return d;
}

static int
expired(const deadline *d)
{
    return (int32_t)(clock_ms() - d->at) >= 0;
}

static int
rx_or_expired(const void *d)
{
    return uart_rx_ready() || expired(d);
}

static int
tx_or_expired(const void *d)
{
    return uart_tx_ready() || expired(d);
}

/* Waits until a byte is received or timeout_ms pass; 1 if one is there. */
static int
wait_rx(uint32_t timeout_ms)
{
    const deadline d = deadline_in(timeout_ms);
    while (!rx_or_expired(&d))
        board_sleep_unless(rx_or_expired, &d);
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
    const deadline d = deadline_in(timeout_ms);
    for (size_t i = 0; i < len; i++) {
        while (!tx_or_expired(&d))
            board_sleep_unless(tx_or_expired, &d);
        if (!uart_tx_ready())
            return 1;
        uart_putc(buf[i]);
    }
    return 0;
}

/* Cannot end the TCP connection (see port.h); drops a byte left in the UART. */
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
