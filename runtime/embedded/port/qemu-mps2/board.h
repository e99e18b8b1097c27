/*
 * board.h - the MPS2 AN385/AN386 board as this port uses it (qemu-system-arm
 * machines mps2-an385 and mps2-an386; the same peripherals, a Cortex-M3 or a
 * Cortex-M4; this build is for the M4): the CMSDK UART 0 (the genrpc
 * connection: qemu bridges it to TCP), the SysTick millisecond clock and
 * semihosting (console and exit). Each part's functions live in the file
 * named in its section.
 */
#ifndef GENRPC_QEMU_MPS2_BOARD_H
#define GENRPC_QEMU_MPS2_BOARD_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* The processor clock of the MPS2 FPGA images (25 MHz). */
#define BOARD_CPU_HZ 25000000u

/* ---- interrupts (irq.h-free: the few CMSIS pieces we need) ---------------- */
#define UART0_RX_IRQ 0 /* AN385/AN386: UART n's RX interrupt is 2n, TX is 2n+1 */

/* Sleeps until an interrupt is pending unless ready() is already true; race
 * free (interrupts are masked from the check to the WFI, which wakes on a
 * pending interrupt even when masked). ready(arg) runs with interrupts
 * masked. */
static inline void
board_sleep_unless(int (*ready)(const void *arg), const void *arg)
{
    __asm volatile("cpsid i" ::: "memory");
    if (!ready(arg))
        __asm volatile("wfi" ::: "memory");
    __asm volatile("cpsie i" ::: "memory");
}

/* ---- uart.c: CMSDK APB UART 0 at 0x40004000 -------------------------------- */
void uart_init(void);
int uart_rx_ready(void);   /* a received byte is waiting in the data register */
int uart_tx_ready(void);   /* the transmit register has room */
uint8_t uart_getc(void);   /* only when uart_rx_ready() */
void uart_putc(uint8_t b); /* only when uart_tx_ready() */
void UART0_RX_Handler(void);

/* ---- clock.c: SysTick, 1 ms ticks ---------------------------------------- */
void clock_init(void);
uint32_t clock_ms(void); /* milliseconds since clock_init; wraps after 49 days */
void SysTick_Handler(void);

/* ---- semihost.c: the debugger's (qemu's) console and exit ------------------ */
void semihost_puts(const char *s);
__attribute__((noreturn)) void semihost_exit(int status);
/* The program's command line (qemu: -append "..."), NUL-terminated in buf;
 * returns its length (0 and "" when there is none). */
size_t semihost_cmdline(char *buf, size_t cap);

/* ---- console.c: formatted output over semihosting --------------------------
 * A small printf: %s, %.*s, %d, %u, %x (int-sized), %lu/%lx, %c, %%. */
void con_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- stack.c: how much stack a piece of code uses --------------------------
 *   size_t m = stack_mark(); work(); size_t used = stack_used_since(m);
 * gives the bytes work() used below the caller's frame (a few words more:
 * the marker's own). */
size_t stack_mark(void);
size_t stack_used_since(size_t mark);

#endif
