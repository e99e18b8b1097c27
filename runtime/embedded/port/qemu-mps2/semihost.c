/*
 * semihost.c - ARM semihosting (BKPT 0xAB): text to the debugger's console
 * (qemu: its stdout/stderr with -semihosting-config enable=on) and the
 * program's end with an exit status (qemu exits with it).
 */
#include "board.h"

#define SYS_WRITE0 0x04
#define SYS_GET_CMDLINE 0x15
#define SYS_EXIT_EXTENDED 0x20
#define ADP_STOPPED_APPLICATION_EXIT 0x20026

static int
semihost(int op, const void *arg)
{
    register int r0 __asm("r0") = op;
    register const void *r1 __asm("r1") = arg;
    __asm volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

void
semihost_puts(const char *s)
{
    semihost(SYS_WRITE0, s);
}

void
semihost_exit(int status)
{
    /* SYS_EXIT_EXTENDED: {reason, subcode}; qemu exits with the subcode. */
    const uint32_t block[2] = {ADP_STOPPED_APPLICATION_EXIT, (uint32_t)status};
    semihost(SYS_EXIT_EXTENDED, block);
    for (;;)
        __asm volatile("wfi");
}

size_t
semihost_cmdline(char *buf, size_t cap)
{
    /* SYS_GET_CMDLINE: {buffer, size in, length out}; qemu: its -append text. */
    uint32_t block[2] = {(uint32_t)(uintptr_t)buf, (uint32_t)cap};
    if (cap == 0 || semihost(SYS_GET_CMDLINE, block) != 0) {
        if (cap > 0)
            buf[0] = '\0';
        return 0;
    }
    return block[1];
}
