/*
 * mbedtls_config.h - the mbedTLS configuration of the device build
 * (MBEDTLS_CONFIG_FILE): SHA-256 only, the smaller (looped) implementation.
 * Nothing else of mbedTLS is compiled: no md.c (its HMAC allocates its
 * context with calloc), no entropy, no platform layer; the client's
 * src/hmac_mbedtls.c builds HMAC (RFC 2104) over these SHA-256 primitives.
 */
#ifndef GENRPC_DEVICE_MBEDTLS_CONFIG_H
#define GENRPC_DEVICE_MBEDTLS_CONFIG_H

#define MBEDTLS_SHA256_C
#define MBEDTLS_SHA256_SMALLER

#endif
