/*
 * stack.c - the main stack's high-water mark: stack_paint() fills the
 * unused part of the stack with a pattern at start-up, stack_max_used()
 * finds the deepest word that no longer holds it. Good for a report of the
 * RAM the program needed, not a guard.
 */
#include "board.h"

#define PAINT 0x5A5A5A5Au

extern uint32_t __stack_limit[], __stack_top[];

void stack_paint(void) {
    uint32_t *sp;
    __asm volatile("mov %0, sp" : "=r"(sp));
    /* Leave 64 bytes below the stack pointer alone: the loop's own use. */
    for (volatile uint32_t *p = __stack_limit; p < sp - 16; p++)
        *p = PAINT;
}

size_t stack_max_used(void) {
    const uint32_t *p = __stack_limit;
    while (p < __stack_top && *p == PAINT)
        p++;
    return (size_t)((const char *)__stack_top - (const char *)p);
}
