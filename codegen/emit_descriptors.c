/*
 * emit_descriptors.c - the descriptors reflection serves: the generated
 * <file>.genrpc.c carries the serialized FileDescriptorProto of its .proto
 * and of every file it imports, transitively, so that a node can hand a
 * tool (genrpc describe, genrpc call) all it needs to encode and decode the
 * module's messages. Source locations (comments, line numbers) are left
 * out: only the types matter, and they are a large part of the bytes.
 */
#include <stdlib.h>
#include <string.h>

#include "emit.h"

static const cg_file_proto *
find_proto(const cg_request *req, const char *name)
{
    for (size_t i = 0; i < req->n_proto_file; i++)
        if (strcmp(req->proto_file[i]->name, name) == 0)
            return req->proto_file[i];
    return NULL;
}

/* Appends `p`'s imports, then `p`, to out[] (each once): dependency order. */
static void
collect(const cg_request *req, const cg_file_proto *p, const cg_file_proto **out, size_t *n)
{
    for (size_t i = 0; i < *n; i++)
        if (out[i] == p)
            return;
    for (size_t i = 0; i < p->n_dependency; i++) {
        const cg_file_proto *dep = find_proto(req, p->dependency[i]);
        if (dep) /* protoc always sends every import */
            collect(req, dep, out, n);
    }
    for (size_t i = 0; i < *n; i++) /* an import cycle is not valid proto, but stay safe */
        if (out[i] == p)
            return;
    out[(*n)++] = p;
}

static void
emit_bytes(cg_strbuf *sb, size_t index, const uint8_t *data, size_t len)
{
    cg_strbuf_printf(sb, "static const uint8_t genrpc_gen__file%zu[%zu] = {", index, len);
    for (size_t i = 0; i < len; i++)
        cg_strbuf_printf(sb, "%s0x%02x,", i % 16 ? " " : "\n    ", data[i]);
    cg_strbuf_puts(sb, "\n};\n\n");
}

/* `s` as a C string literal (a file name may hold any byte but NUL). */
static void
emit_c_string(cg_strbuf *sb, const char *s)
{
    cg_strbuf_puts(sb, "\"");
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\' || *p < 0x20 || *p >= 0x7f || *p == '?')
            cg_strbuf_printf(sb, "\\%03o", *p); /* '?': no trigraphs */
        else
            cg_strbuf_printf(sb, "%c", *p);
    }
    cg_strbuf_puts(sb, "\"");
}

size_t
cg_emit_proto_files(cg_strbuf *sb, const cg_file *file)
{
    const cg_request *req = file->req;
    const cg_file_proto **files = cg_xcalloc(req->n_proto_file + 1, sizeof *files);
    size_t n = 0;
    collect(req, file->proto, files, &n);
    cg_strbuf_puts(sb, "/* Serialized google.protobuf.FileDescriptorProto of this file and of its\n"
                       " * imports, imports first (reflection; docs/reflection.md). */\n");
    for (size_t i = 0; i < n; i++) {
        Google__Protobuf__FileDescriptorProto copy = *files[i];
        copy.source_code_info = NULL;
        size_t len = google__protobuf__file_descriptor_proto__get_packed_size(&copy);
        uint8_t *buf = cg_xmalloc(len ? len : 1);
        google__protobuf__file_descriptor_proto__pack(&copy, buf);
        emit_bytes(sb, i, buf, len);
        free(buf);
    }
    cg_strbuf_printf(sb, "static const genrpc_proto_file genrpc_gen__proto_files[%zu] = {\n", n);
    for (size_t i = 0; i < n; i++) {
        cg_strbuf_puts(sb, "    {");
        emit_c_string(sb, files[i]->name);
        cg_strbuf_printf(sb, ", genrpc_gen__file%zu, sizeof genrpc_gen__file%zu},\n", i, i);
    }
    cg_strbuf_puts(sb, "};\n\n");
    free(files);
    return n;
}
