/*
 * options.h - reads genrpc's custom options (idl/genrpc/options.proto).
 *
 * protoc hands a plugin the options messages (ServiceOptions,
 * MethodOptions) serialized; protobuf-c, which knows nothing of genrpc's
 * extensions, keeps their fields as unknown fields. This file decodes
 * those fields, checking every length, so that anything malformed is an
 * error message and never a read past a buffer.
 *
 * The *_parse functions take the raw serialized options message, so that
 * unit tests and fuzzers can call the decoder on arbitrary bytes.
 */
#ifndef CG_OPTIONS_H
#define CG_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <protobuf-c/protobuf-c.h>

/* Field numbers; part of genrpc's contract (options.proto). */
#define CG_OPT_VERSION 51001u         /* ServiceOptions: uint32 version */
#define CG_OPT_MODULE 51002u          /* ServiceOptions: string module */
#define CG_OPT_INTERNAL_MODULE 51003u /* ServiceOptions: bool internal_module */
#define CG_OPT_INTERNAL 51101u        /* MethodOptions: bool internal */
#define CG_OPT_BROADCAST 51201u       /* MessageOptions: bool broadcast */

/* Longest (genrpc.module) accepted, in bytes. */
#define CG_MODULE_NAME_MAX 255

/* Longest error message the decoder writes (with NUL). */
#define CG_OPT_ERR_MAX 160

typedef struct cg_service_options {
    bool has_version;
    uint32_t version;
    bool has_module;
    size_t module_len;                    /* may hold NUL bytes: check it */
    char module[CG_MODULE_NAME_MAX + 1];  /* NUL-terminated copy */
    bool internal_module;
} cg_service_options;

typedef struct cg_method_options {
    bool internal;
} cg_method_options;

typedef struct cg_message_options {
    bool broadcast;
} cg_message_options;

/* Decodes genrpc's options from a protobuf-c message's unknown fields
 * (`msg` is a Google__Protobuf__ServiceOptions / MethodOptions, or NULL for
 * "no options"). Fields genrpc does not own are ignored; when a field
 * repeats, the last one wins. Returns 0, or -1 with a message in `err`. */
int cg_service_options_read(const ProtobufCMessage *msg, cg_service_options *out,
                            char err[CG_OPT_ERR_MAX]);
int cg_method_options_read(const ProtobufCMessage *msg, cg_method_options *out,
                           char err[CG_OPT_ERR_MAX]);
int cg_message_options_read(const ProtobufCMessage *msg, cg_message_options *out,
                            char err[CG_OPT_ERR_MAX]);

/* The same on a serialized ServiceOptions / MethodOptions message. */
int cg_service_options_parse(const uint8_t *buf, size_t len, cg_service_options *out,
                             char err[CG_OPT_ERR_MAX]);
int cg_method_options_parse(const uint8_t *buf, size_t len, cg_method_options *out,
                            char err[CG_OPT_ERR_MAX]);

/* A protobuf varint at buf[0..len): returns the bytes it used, or 0 if it
 * is truncated or longer than 64 bits. */
size_t cg_varint_decode(const uint8_t *buf, size_t len, uint64_t *out);

/* One unknown field's value. A varint field must be exactly one varint
 * (at most 10 bytes); a length-delimited field must be its length prefix
 * followed by exactly that many bytes. Return 0, or -1 if malformed. */
int cg_field_varint(const ProtobufCMessageUnknownField *f, uint64_t *out);
int cg_field_bytes(const ProtobufCMessageUnknownField *f, const uint8_t **data, size_t *len);

#endif /* CG_OPTIONS_H */
