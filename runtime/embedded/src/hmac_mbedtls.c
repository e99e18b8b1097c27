/*
 * hmac_mbedtls.c - the default HMAC-SHA256 hook, from mbedTLS. A device
 * with a hardware SHA engine leaves this file out and passes its own
 * genrpc_emb_hmac_fn in genrpc_emb_config.hmac.
 */
#include "genrpc/embedded.h"

#include <mbedtls/md.h>

int
genrpc_emb_hmac_sha256_mbedtls(void *ctx, const uint8_t *key, size_t key_len,
                               const uint8_t *msg, size_t msg_len,
                               uint8_t out[GENRPC_EMB_MAC_LEN])
{
    (void)ctx;
    const mbedtls_md_info_t *md = mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);
    if (md == NULL)
        return -1;
    return mbedtls_md_hmac(md, key, key_len, msg, msg_len, out) == 0 ? 0 : -1;
}
