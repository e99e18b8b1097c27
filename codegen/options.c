/*
 * options.c - genrpc's custom options, decoded from unknown fields.
 *
 * What protobuf-c keeps for an unknown field (protobuf-c.c, unpack):
 * tag, wire type, and `data`/`len` covering the bytes after the tag. For
 * a length-delimited field that includes the length prefix, which we
 * decode and check against `len` rather than trust.
 */
#include "options.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "google/protobuf/descriptor.pb-c.h"

#define VARINT_MAX_BYTES 10

static int
fail(char err[CG_OPT_ERR_MAX], const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, CG_OPT_ERR_MAX, fmt, ap);
    va_end(ap);
    return -1;
}

/* Decodes one varint from the start of buf[0..len). Returns the number of
 * bytes it used, or 0 if it is truncated or longer than 64 bits. */
size_t
cg_varint_decode(const uint8_t *buf, size_t len, uint64_t *out)
{
    uint64_t v = 0;
    for (size_t i = 0; i < len && i < VARINT_MAX_BYTES; i++) {
        /* The 10th byte may only carry the top bit of a 64-bit value. */
        if (i == VARINT_MAX_BYTES - 1 && buf[i] > 1)
            return 0;
        v |= (uint64_t)(buf[i] & 0x7f) << (7 * i);
        if ((buf[i] & 0x80) == 0) {
            *out = v;
            return i + 1;
        }
    }
    return 0;
}

int
cg_field_varint(const ProtobufCMessageUnknownField *f, uint64_t *out)
{
    if (f->wire_type != PROTOBUF_C_WIRE_TYPE_VARINT || f->data == NULL)
        return -1;
    size_t used = cg_varint_decode(f->data, f->len, out);
    return used != 0 && used == f->len ? 0 : -1;
}

int
cg_field_bytes(const ProtobufCMessageUnknownField *f, const uint8_t **data, size_t *len)
{
    uint64_t n;
    if (f->wire_type != PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED || f->data == NULL)
        return -1;
    size_t prefix = cg_varint_decode(f->data, f->len, &n);
    if (prefix == 0 || n != f->len - prefix)
        return -1;
    *data = f->data + prefix;
    *len = (size_t)n;
    return 0;
}

static int
read_bool(const ProtobufCMessageUnknownField *f, const char *name, bool *out,
          char err[CG_OPT_ERR_MAX])
{
    uint64_t v;
    if (cg_field_varint(f, &v) != 0)
        return fail(err, "option (genrpc.%s) is malformed (expected a bool)", name);
    *out = v != 0;
    return 0;
}

static int
read_version(const ProtobufCMessageUnknownField *f, cg_service_options *out,
             char err[CG_OPT_ERR_MAX])
{
    uint64_t v;
    if (cg_field_varint(f, &v) != 0 || v > UINT32_MAX)
        return fail(err, "option (genrpc.version) is malformed (expected a uint32)");
    out->has_version = true;
    out->version = (uint32_t)v;
    return 0;
}

static int
read_module(const ProtobufCMessageUnknownField *f, cg_service_options *out,
            char err[CG_OPT_ERR_MAX])
{
    const uint8_t *s;
    size_t n;
    if (cg_field_bytes(f, &s, &n) != 0)
        return fail(err, "option (genrpc.module) is malformed (expected a string)");
    if (n > CG_MODULE_NAME_MAX)
        return fail(err, "option (genrpc.module) is %zu bytes long; the limit is %d", n,
                    CG_MODULE_NAME_MAX);
    memcpy(out->module, s, n);
    out->module[n] = '\0';
    out->module_len = n;
    out->has_module = true;
    return 0;
}

static int
read_service_field(const ProtobufCMessageUnknownField *f, cg_service_options *out,
                   char err[CG_OPT_ERR_MAX])
{
    switch (f->tag) {
    case CG_OPT_VERSION:
        return read_version(f, out, err);
    case CG_OPT_MODULE:
        return read_module(f, out, err);
    case CG_OPT_INTERNAL_MODULE:
        return read_bool(f, "internal_module", &out->internal_module, err);
    default:
        return 0; /* someone else's extension */
    }
}

int
cg_service_options_read(const ProtobufCMessage *msg, cg_service_options *out,
                        char err[CG_OPT_ERR_MAX])
{
    memset(out, 0, sizeof *out);
    if (msg == NULL)
        return 0;
    /* Fields are visited in wire order, so a repeated tag's last value wins. */
    for (unsigned i = 0; i < msg->n_unknown_fields; i++) {
        if (read_service_field(&msg->unknown_fields[i], out, err) != 0)
            return -1;
    }
    return 0;
}

int
cg_method_options_read(const ProtobufCMessage *msg, cg_method_options *out,
                       char err[CG_OPT_ERR_MAX])
{
    memset(out, 0, sizeof *out);
    if (msg == NULL)
        return 0;
    for (unsigned i = 0; i < msg->n_unknown_fields; i++) {
        const ProtobufCMessageUnknownField *f = &msg->unknown_fields[i];
        if (f->tag == CG_OPT_INTERNAL && read_bool(f, "internal", &out->internal, err) != 0)
            return -1;
    }
    return 0;
}

int
cg_message_options_read(const ProtobufCMessage *msg, cg_message_options *out,
                        char err[CG_OPT_ERR_MAX])
{
    memset(out, 0, sizeof *out);
    if (msg == NULL)
        return 0;
    for (unsigned i = 0; i < msg->n_unknown_fields; i++) {
        const ProtobufCMessageUnknownField *f = &msg->unknown_fields[i];
        if (f->tag == CG_OPT_BROADCAST && read_bool(f, "broadcast", &out->broadcast, err) != 0)
            return -1;
    }
    return 0;
}

/* Decodes an options message of type `desc` from raw bytes and reads
 * genrpc's options from it with `read`; the three public parsers differ
 * only in those two. */
static int
parse_with(const ProtobufCMessageDescriptor *desc, const uint8_t *buf, size_t len,
           int (*read)(const ProtobufCMessage *, void *, char *), void *out, size_t out_size,
           char err[CG_OPT_ERR_MAX])
{
    ProtobufCMessage *msg = protobuf_c_message_unpack(desc, NULL, len, buf);
    if (msg == NULL) {
        memset(out, 0, out_size);
        return fail(err, "%s could not be decoded", desc->short_name);
    }
    int rc = read(msg, out, err);
    protobuf_c_message_free_unpacked(msg, NULL);
    return rc;
}

static int
read_service(const ProtobufCMessage *m, void *out, char *err)
{
    return cg_service_options_read(m, out, err);
}

static int
read_method(const ProtobufCMessage *m, void *out, char *err)
{
    return cg_method_options_read(m, out, err);
}

static int
read_message(const ProtobufCMessage *m, void *out, char *err)
{
    return cg_message_options_read(m, out, err);
}

int
cg_service_options_parse(const uint8_t *buf, size_t len, cg_service_options *out,
                         char err[CG_OPT_ERR_MAX])
{
    return parse_with(&google__protobuf__service_options__descriptor, buf, len, read_service,
                      out, sizeof *out, err);
}

int
cg_method_options_parse(const uint8_t *buf, size_t len, cg_method_options *out,
                        char err[CG_OPT_ERR_MAX])
{
    return parse_with(&google__protobuf__method_options__descriptor, buf, len, read_method, out,
                      sizeof *out, err);
}

int
cg_message_options_parse(const uint8_t *buf, size_t len, cg_message_options *out,
                         char err[CG_OPT_ERR_MAX])
{
    return parse_with(&google__protobuf__message_options__descriptor, buf, len, read_message,
                      out, sizeof *out, err);
}
