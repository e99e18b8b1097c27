/*
 * stack.c - how much of the main stack a piece of code uses: stack_mark()
 * fills the free part of the stack below its caller with a pattern,
 * stack_used_since() finds the deepest word that no longer holds it. For
 * the report of the RAM the client needs, not a guard.
 */
#include "board.h"

#define PAINT 0x5A5A5A5Au

extern uint32_t __stack_limit[], __stack_top[];

static size_t
depth(const uint32_t *p)
{
    return (size_t)((const char *)__stack_top - (const char *)p);
}

size_t
stack_mark(void)
{
    uint32_t *sp;
    __asm volatile("mov %0, sp" : "=r"(sp));
    /* Leave 32 bytes below this frame alone: the loop's own use. */
    for (volatile uint32_t *p = __stack_limit; p < sp - 8; p++)
        *p = PAINT;
    return depth(sp);
}

size_t
stack_used_since(size_t mark)
{
    const uint32_t *p = __stack_limit;
    while (p < __stack_top && *p == PAINT)
        p++;
    size_t d = depth(p);
    return d > mark ? d - mark : 0;
}
