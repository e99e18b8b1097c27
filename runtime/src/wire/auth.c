/*
 * auth.c - HMAC-SHA256 proofs for the handshake (see auth.h for the scheme).
 */
#include "wire/auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <string.h>

#define TRANSCRIPT_TAG "genrpc/1"

bool
genrpc__auth_mac(const char *cookie, size_t cookie_len, genrpc__auth_role role,
                 const uint8_t *client_nonce, const uint8_t *server_nonce,
                 const char *client_name, size_t client_len, const char *server_name,
                 size_t server_len, uint8_t mac[GENRPC__MAC_LEN])
{
    uint8_t msg[1 + sizeof TRANSCRIPT_TAG + 2 * GENRPC__NONCE_LEN + 2 + 2 * GENRPC__NAME_MAX];
    size_t n = 0;
    if (client_len > GENRPC__NAME_MAX || server_len > GENRPC__NAME_MAX ||
        cookie_len > INT32_MAX)
        return false;
    msg[n++] = (uint8_t)role;
    memcpy(msg + n, TRANSCRIPT_TAG, sizeof TRANSCRIPT_TAG - 1);
    n += sizeof TRANSCRIPT_TAG - 1;
    memcpy(msg + n, client_nonce, GENRPC__NONCE_LEN);
    n += GENRPC__NONCE_LEN;
    memcpy(msg + n, server_nonce, GENRPC__NONCE_LEN);
    n += GENRPC__NONCE_LEN;
    msg[n++] = (uint8_t)client_len;
    memcpy(msg + n, client_name, client_len);
    n += client_len;
    msg[n++] = (uint8_t)server_len;
    memcpy(msg + n, server_name, server_len);
    n += server_len;

    unsigned int out_len = 0;
    if (!HMAC(EVP_sha256(), cookie, (int)cookie_len, msg, n, mac, &out_len))
        return false;
    return out_len == GENRPC__MAC_LEN;
}

bool
genrpc__auth_check(const char *cookie, size_t cookie_len, genrpc__auth_role role,
                   const uint8_t *client_nonce, const uint8_t *server_nonce,
                   const char *client_name, size_t client_len, const char *server_name,
                   size_t server_len, const uint8_t *received)
{
    uint8_t expected[GENRPC__MAC_LEN];
    if (!genrpc__auth_mac(cookie, cookie_len, role, client_nonce, server_nonce, client_name,
                          client_len, server_name, server_len, expected))
        return false;
    bool ok = CRYPTO_memcmp(expected, received, GENRPC__MAC_LEN) == 0;
    OPENSSL_cleanse(expected, sizeof expected);
    return ok;
}

bool
genrpc__auth_nonce(uint8_t nonce[GENRPC__NONCE_LEN])
{
    return RAND_bytes(nonce, GENRPC__NONCE_LEN) == 1;
}
