/*
 * hmac_sha256.c - HMAC-SHA256 (RFC 2104) over mbedTLS's SHA-256, with
 * every context on the stack: the device's genrpc_emb_hmac_fn.
 *
 * Why not genrpc_emb_hmac_sha256_mbedtls (mbedtls_md_hmac): mbedtls_md_setup
 * allocates the digest context and the HMAC pads with mbedtls_calloc, and
 * the device has no heap (the embedded client promises no malloc). This is
 * the same construction over mbedTLS's SHA-256 primitives, and smaller
 * (md.c is not linked).
 */
#include <string.h>

#include <mbedtls/platform_util.h>
#include <mbedtls/sha256.h>
#include <mbedtls/version.h>

#include "genrpc/embedded.h"
#include "port.h"

#define BLOCK 64 /* SHA-256's block size */

#if MBEDTLS_VERSION_MAJOR >= 3
#define sha256_starts mbedtls_sha256_starts
#define sha256_update mbedtls_sha256_update
#define sha256_finish mbedtls_sha256_finish
#define sha256_all mbedtls_sha256
#else
#define sha256_starts mbedtls_sha256_starts_ret
#define sha256_update mbedtls_sha256_update_ret
#define sha256_finish mbedtls_sha256_finish_ret
#define sha256_all mbedtls_sha256_ret
#endif

/* H((K ^ pad) || msg) into out. */
static int
hash_padded(const uint8_t k[BLOCK], uint8_t pad, const uint8_t *msg, size_t msg_len,
            uint8_t out[GENRPC_EMB_MAC_LEN]) {
    mbedtls_sha256_context sha;
    uint8_t block[BLOCK];
    for (size_t i = 0; i < BLOCK; i++)
        block[i] = k[i] ^ pad;
    mbedtls_sha256_init(&sha);
    int rc = sha256_starts(&sha, 0);
    if (rc == 0)
        rc = sha256_update(&sha, block, BLOCK);
    if (rc == 0)
        rc = sha256_update(&sha, msg, msg_len);
    if (rc == 0)
        rc = sha256_finish(&sha, out);
    mbedtls_sha256_free(&sha);
    mbedtls_platform_zeroize(block, sizeof block);
    return rc;
}

int
device_hmac_sha256(void *ctx, const uint8_t *key, size_t key_len, const uint8_t *msg,
                   size_t msg_len, uint8_t out[GENRPC_EMB_MAC_LEN]) {
    (void)ctx;
    uint8_t k[BLOCK] = {0}, inner[GENRPC_EMB_MAC_LEN];
    int rc = 0;
    if (key_len > BLOCK)
        rc = sha256_all(key, key_len, k, 0); /* a long key is hashed first */
    else if (key_len > 0)
        memcpy(k, key, key_len);
    if (rc == 0)
        rc = hash_padded(k, 0x36, msg, msg_len, inner);
    if (rc == 0)
        rc = hash_padded(k, 0x5c, inner, sizeof inner, out);
    mbedtls_platform_zeroize(k, sizeof k);
    mbedtls_platform_zeroize(inner, sizeof inner);
    return rc == 0 ? 0 : -1;
}
