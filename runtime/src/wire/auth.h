/*
 * auth.h - cookie authentication by mutual HMAC-SHA256 challenge/response.
 *
 * Both sides know the cookie; neither sends it. After HELLO (client nonce)
 * and CHALLENGE (server nonce), each side proves it knows the cookie with
 *   mac = HMAC-SHA256(cookie, role || transcript)
 *   transcript = "genrpc/1" || client_nonce || server_nonce
 *                || u8 len || client_name || u8 len || server_name
 * where role is the byte 'C' (client proof, in AUTH) or 'S' (server proof,
 * in AUTH_OK). Binding both nonces and both names stops replay and
 * reflection; the role byte stops a server proof being echoed as a client's.
 */
#ifndef GENRPC_AUTH_H
#define GENRPC_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire/frame.h"

typedef enum genrpc__auth_role { GENRPC__AUTH_CLIENT = 'C', GENRPC__AUTH_SERVER = 'S' } genrpc__auth_role;

/* Computes the proof for `role`. Returns false if a name is too long or
 * OpenSSL fails. */
bool genrpc__auth_mac(const char *cookie, size_t cookie_len, genrpc__auth_role role,
                      const uint8_t *client_nonce, const uint8_t *server_nonce,
                      const char *client_name, size_t client_len, const char *server_name,
                      size_t server_len, uint8_t mac[GENRPC__MAC_LEN]);

/* Constant-time comparison of a received proof with the expected one. */
bool genrpc__auth_check(const char *cookie, size_t cookie_len, genrpc__auth_role role,
                        const uint8_t *client_nonce, const uint8_t *server_nonce,
                        const char *client_name, size_t client_len, const char *server_name,
                        size_t server_len, const uint8_t *received);

/* Fresh random nonce (OpenSSL RAND_bytes). */
bool genrpc__auth_nonce(uint8_t nonce[GENRPC__NONCE_LEN]);

#endif /* GENRPC_AUTH_H */
