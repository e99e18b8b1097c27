/*
 * startup.c - reset and the vector table for the MPS2 AN385/AN386 port.
 *
 * Reset_Handler copies .data from flash, zeroes .bss, runs main() and ends
 * the program through semihosting with main's result (qemu exits with it).
 * Every exception without a handler of its own stops the program with a
 * message naming it, so a fault in CI is a clear failure, not a hang.
 */
#include <stdint.h>

#include "board.h"

extern uint32_t __data_start[], __data_end[], __data_load[];
extern uint32_t __bss_start[], __bss_end[], __stack_top[];

int main(void);
void Reset_Handler(void);

static void
stop(const char *what)
{
    semihost_puts("device: unexpected exception: ");
    semihost_puts(what);
    semihost_puts("\n");
    semihost_exit(1);
}

static void
NMI_Handler(void)
{
    stop("NMI");
}
static void
HardFault_Handler(void)
{
    stop("HardFault");
}
static void
MemManage_Handler(void)
{
    stop("MemManage");
}
static void
BusFault_Handler(void)
{
    stop("BusFault");
}
static void
UsageFault_Handler(void)
{
    stop("UsageFault");
}
static void
Default_Handler(void)
{
    stop("unhandled interrupt");
}

/* The Cortex-M vector table: initial stack pointer, then handlers. The
 * 16 system exceptions, then the board's 32 interrupts (AN385/AN386). */
typedef void (*vector)(void);
#define D Default_Handler
/* clang-format off */
__attribute__((section(".vectors"), used)) static const vector vectors[16 + 32] = {
    (vector)(uintptr_t)__stack_top, Reset_Handler, NMI_Handler, HardFault_Handler,
    MemManage_Handler, BusFault_Handler, UsageFault_Handler, D, D, D, D,
    D /* SVCall */, D, D, D /* PendSV */, SysTick_Handler,
    /* IRQ 0 */ UART0_RX_Handler, D, D, D, D, D, D, D, D, D, D, D, D, D, D, D,
    /* IRQ 16 */ D, D, D, D, D, D, D, D, D, D, D, D, D, D, D, D,
};
/* clang-format on */
#undef D
_Static_assert(UART0_RX_IRQ == 0, "the vector table puts UART0_RX_Handler at IRQ 0");

void
Reset_Handler(void)
{
    for (uint32_t *s = __data_load, *d = __data_start; d < __data_end;)
        *d++ = *s++;
    for (uint32_t *d = __bss_start; d < __bss_end;)
        *d++ = 0;
    semihost_exit(main());
}
