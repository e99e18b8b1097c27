/*
 * uart.c - ARM CMSDK APB UART 0 (MPS2 AN385/AN386, base 0x40004000), polled
 * with the RX interrupt enabled only to wake the core from WFI: the handler
 * just acknowledges it, the data register is read by the transport.
 * The UART has a one-byte receive register; qemu holds back the next byte
 * (in the TCP socket) until it is read, so nothing is lost while we sleep.
 */
#include "board.h"

typedef struct cmsdk_uart {
    volatile uint32_t data;
    volatile uint32_t state;  /* bit 0 TX full, bit 1 RX full, 2/3 TX/RX overrun */
    volatile uint32_t ctrl;   /* bit 0 TX enable, 1 RX enable, 3 RX interrupt enable */
    volatile uint32_t intsts; /* read: status; write 1s: clear */
    volatile uint32_t bauddiv;
} cmsdk_uart;

#define UART0 ((cmsdk_uart *)0x40004000u)
#define STATE_TX_FULL (1u << 0)
#define STATE_RX_FULL (1u << 1)
#define CTRL_TX_EN (1u << 0)
#define CTRL_RX_EN (1u << 1)
#define CTRL_RX_INT_EN (1u << 3)
#define INT_RX (1u << 1)

#define NVIC_ISER0 (*(volatile uint32_t *)0xE000E100u)

void
uart_init(void)
{
    UART0->bauddiv = BOARD_CPU_HZ / 115200u; /* qemu does not pace bytes; hardware does */
    UART0->ctrl = CTRL_TX_EN | CTRL_RX_EN | CTRL_RX_INT_EN;
    NVIC_ISER0 = 1u << UART0_RX_IRQ;
}

int
uart_rx_ready(void)
{
    return (UART0->state & STATE_RX_FULL) != 0;
}

int
uart_tx_ready(void)
{
    return (UART0->state & STATE_TX_FULL) == 0;
}

uint8_t
uart_getc(void)
{
    return (uint8_t)UART0->data;
}

void
uart_putc(uint8_t b)
{
    UART0->data = b;
}

void
UART0_RX_Handler(void)
{
    UART0->intsts = INT_RX;
}
