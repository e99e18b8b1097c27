/*
 * clock.c - a millisecond clock from SysTick on the processor clock: one
 * interrupt per millisecond increments a counter. The interrupt also bounds
 * every WFI sleep to 1 ms, which is what lets timeouts expire while the core
 * sleeps.
 */
#include "board.h"

typedef struct systick {
    volatile uint32_t csr; /* bit 0 enable, 1 interrupt, 2 processor clock */
    volatile uint32_t rvr;
    volatile uint32_t cvr;
} systick;

#define SYSTICK ((systick *)0xE000E010u)

static volatile uint32_t g_ms;

void
clock_init(void)
{
    SYSTICK->rvr = BOARD_CPU_HZ / 1000u - 1u;
    SYSTICK->cvr = 0;
    SYSTICK->csr = 7u;
}

uint32_t
clock_ms(void)
{
    return g_ms;
}

void
SysTick_Handler(void)
{
    g_ms++;
}
