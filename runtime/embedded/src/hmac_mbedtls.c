/*
 * hmac_mbedtls.c - the default HMAC-SHA256 hook: RFC 2104 over mbedTLS's
 * SHA-256, with the hash context on the stack. (mbedtls_md_hmac would do
 * the same but allocates its contexts with mbedtls_calloc, and this client
 * allocates nothing.) A device with a hardware SHA engine leaves this file
 * out and passes its own genrpc_emb_hmac_fn in genrpc_emb_config.hmac.
 */
#include "genrpc/embedded.h"

#include <string.h>

#include <mbedtls/platform_util.h>
#include <mbedtls/sha256.h>
#include <mbedtls/version.h>

#define BLOCK 64 /* SHA-256 block size */

#if MBEDTLS_VERSION_MAJOR >= 3
#define SHA_STARTS mbedtls_sha256_starts
#define SHA_UPDATE mbedtls_sha256_update
#define SHA_FINISH mbedtls_sha256_finish
#else
#define SHA_STARTS mbedtls_sha256_starts_ret
#define SHA_UPDATE mbedtls_sha256_update_ret
#define SHA_FINISH mbedtls_sha256_finish_ret
#endif

/* SHA-256(pad || a || b) into out. */
static int
sha256_2(mbedtls_sha256_context *ctx, const uint8_t *pad, const uint8_t *a, size_t a_len,
         uint8_t out[32])
{
    return SHA_STARTS(ctx, 0) != 0 || SHA_UPDATE(ctx, pad, BLOCK) != 0 ||
                   SHA_UPDATE(ctx, a, a_len) != 0 || SHA_FINISH(ctx, out) != 0
               ? -1
               : 0;
}

int
genrpc_emb_hmac_sha256_mbedtls(void *ctx, const uint8_t *key, size_t key_len,
                               const uint8_t *msg, size_t msg_len,
                               uint8_t out[GENRPC_EMB_MAC_LEN])
{
    mbedtls_sha256_context sha;
    uint8_t k[BLOCK], pad[BLOCK], inner[32];
    int rc = 0;
    (void)ctx;
    memset(k, 0, sizeof k);
    mbedtls_sha256_init(&sha);
    if (key_len > BLOCK) /* a long key is hashed first */
        rc = SHA_STARTS(&sha, 0) != 0 || SHA_UPDATE(&sha, key, key_len) != 0 ||
             SHA_FINISH(&sha, k) != 0;
    else if (key_len > 0)
        memcpy(k, key, key_len);
    for (size_t i = 0; i < BLOCK; i++)
        pad[i] = (uint8_t)(k[i] ^ 0x36);
    if (rc == 0)
        rc = sha256_2(&sha, pad, msg, msg_len, inner);
    for (size_t i = 0; i < BLOCK; i++)
        pad[i] = (uint8_t)(k[i] ^ 0x5c);
    if (rc == 0)
        rc = sha256_2(&sha, pad, inner, sizeof inner, out);
    mbedtls_sha256_free(&sha);
    mbedtls_platform_zeroize(k, sizeof k);
    mbedtls_platform_zeroize(pad, sizeof pad);
    mbedtls_platform_zeroize(inner, sizeof inner);
    return rc == 0 ? 0 : -1;
}
