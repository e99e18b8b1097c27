/*
 * random.c - the random-bytes hook of the qemu port: splitmix64 from a
 * fixed seed. NOT a CSPRNG and not even different per run: qemu's MPS2
 * machines have no entropy source, and the test needs none (the server's
 * nonce is fresh, so the proofs still differ per connection). On hardware,
 * replace this with the TRNG (an STM32's RNG peripheral, an nRF's RNG, ...).
 */
#include "port.h"

static uint64_t g_state = 0x67656e7270632f31ull; /* "genrpc/1" */

static uint64_t
splitmix64(void)
{
    uint64_t z = (g_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

int
device_random(void *ctx, uint8_t *buf, size_t len)
{
    (void)ctx;
    for (size_t i = 0; i < len; i += 8) {
        uint64_t r = splitmix64();
        for (size_t j = 0; j < 8 && i + j < len; j++)
            buf[i + j] = (uint8_t)(r >> (8 * j));
    }
    return 0;
}
