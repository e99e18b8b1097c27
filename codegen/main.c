/*
 * main.c - protoc-gen-genrpc: the protoc plugin's I/O and parameters.
 *
 * protoc writes a CodeGeneratorRequest to our stdin and reads a
 * CodeGeneratorResponse from our stdout. For each file to generate we
 * build a model (model.c), refuse bad IDL (check.c) and emit
 * <file>.genrpc.h and <file>.genrpc.c (emit_*.c). Every mistake goes into
 * CodeGeneratorResponse.error, which protoc prints, and then no file is
 * written at all: half a set of generated files would only confuse.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "emit.h"
#include "model.h"
#include "nanopb.h"
#include "strbuf.h"

/* protoc's requests are a few MB at most; refuse anything absurd. */
#define REQUEST_MAX (256u * 1024u * 1024u)

typedef Google__Protobuf__Compiler__CodeGeneratorResponse cg_response;
typedef Google__Protobuf__Compiler__CodeGeneratorResponse__File cg_response_file;

static uint8_t *
read_all(FILE *in, size_t *len)
{
    size_t cap = 64 * 1024, n = 0;
    uint8_t *buf = cg_xmalloc(cap);
    for (;;) {
        n += fread(buf + n, 1, cap - n, in);
        if (n < cap)
            break;
        if (cap >= REQUEST_MAX)
            cg_die("request from protoc is too large");
        cap *= 2;
        uint8_t *p = realloc(buf, cap);
        if (p == NULL)
            cg_die("out of memory");
        buf = p;
    }
    if (ferror(in))
        cg_die("cannot read the request from stdin");
    *len = n;
    return buf;
}

static int
parse_bool(const char *value, bool *out)
{
    if (strcmp(value, "true") == 0)
        *out = true;
    else if (strcmp(value, "false") == 0)
        *out = false;
    else
        return -1;
    return 0;
}

/* One "key=value" of --genrpc_opt. */
static int
parse_param(char *item, cg_params *params, cg_strbuf *err)
{
    char *eq = strchr(item, '=');
    const char *value = eq ? eq + 1 : "";
    if (eq)
        *eq = '\0';
    if (strcmp(item, "nanopb_options_dir") == 0) {
        if (*value == '\0' || params->n_options_dirs == CG_OPTIONS_DIRS_MAX) {
            cg_strbuf_printf(err, "parameter nanopb_options_dir needs a directory (at most %d "
                                  "of them)\n", CG_OPTIONS_DIRS_MAX);
            return -1;
        }
        params->options_dirs[params->n_options_dirs++] = cg_xstrdup(value);
        return 0;
    }
    if (strcmp(item, "embedded") == 0 && eq == NULL)
        value = "true"; /* --genrpc_opt=embedded */
    bool *slot = strcmp(item, "client") == 0     ? &params->client
                 : strcmp(item, "server") == 0   ? &params->server
                 : strcmp(item, "embedded") == 0 ? &params->embedded
                                                 : NULL;
    if (slot == NULL) {
        cg_strbuf_printf(err, "unknown parameter \"%s\" in --genrpc_opt; known: "
                              "client=true|false, server=true|false, embedded[=true|false], "
                              "nanopb_options_dir=<dir>\n", item);
        return -1;
    }
    if (parse_bool(value, slot) != 0) {
        cg_strbuf_printf(err, "parameter \"%s\" must be true or false, not \"%s\"\n", item,
                         value);
        return -1;
    }
    return 0;
}

/* "client=false,server=true" (protoc joins repeated --genrpc_opt with ','). */
static int
parse_params(const char *text, cg_params *params, cg_strbuf *err)
{
    int rc = 0;
    char *copy = cg_xstrdup(text ? text : "");
    for (char *save = NULL, *item = strtok_r(copy, ",", &save); item;
         item = strtok_r(NULL, ",", &save)) {
        if (parse_param(item, params, err) != 0)
            rc = -1;
    }
    free(copy);
    return rc;
}

static const cg_file_proto *
find_file(const cg_request *req, const char *name)
{
    for (size_t i = 0; i < req->n_proto_file; i++) {
        if (strcmp(req->proto_file[i]->name, name) == 0)
            return req->proto_file[i];
    }
    return NULL;
}

static void
add_output(cg_response *resp, char *name, char *content)
{
    cg_response_file *f = cg_xmalloc(sizeof *f);
    google__protobuf__compiler__code_generator_response__file__init(f);
    f->name = name;
    f->content = content;
    resp->file[resp->n_file++] = f;
}

/* Checks one file and, if it is fine, adds its two outputs to `resp`. */
static void
generate_file(const cg_request *req, const char *name, const cg_params *params,
              cg_response *resp, cg_strbuf *err)
{
    const cg_file_proto *proto = find_file(req, name);
    cg_file file;
    if (proto == NULL) {
        cg_strbuf_printf(err, "%s: protoc did not send this file's descriptor\n", name);
        return;
    }
    if (params->embedded) {
        /* nanopb's structs, checked to be statically sized; nothing of protobuf-c. */
        if (cg_file_build(req, proto, &file, err) == 0 && cg_file_check(&file, err) == 0 &&
            cg_nanopb_check(req, &file, params->options_dirs, params->n_options_dirs, err) == 0) {
            add_output(resp, cg_fmt("%s.genrpc_emb.h", file.base), cg_emit_embedded_header(&file));
            add_output(resp, cg_fmt("%s.genrpc_emb.c", file.base), cg_emit_embedded_source(&file));
        }
    } else if (cg_file_build(req, proto, &file, err) == 0 && cg_file_check(&file, err) == 0) {
        add_output(resp, cg_fmt("%s.genrpc.h", file.base), cg_emit_header(&file, params));
        add_output(resp, cg_fmt("%s.genrpc.c", file.base), cg_emit_source(&file, params));
    }
    cg_file_free(&file);
}

static void
generate(const cg_request *req, cg_response *resp)
{
    cg_params params = CG_PARAMS_INIT;
    cg_strbuf err = CG_STRBUF_INIT;
    resp->file = cg_xcalloc(2 * req->n_file_to_generate, sizeof *resp->file);
    if (parse_params(req->parameter, &params, &err) == 0) {
        for (size_t i = 0; i < req->n_file_to_generate; i++)
            generate_file(req, req->file_to_generate[i], &params, resp, &err);
    }
    for (size_t i = 0; i < params.n_options_dirs; i++)
        free((char *)params.options_dirs[i]);
    if (err.len > 0) {
        err.data[--err.len] = '\0'; /* protoc adds its own newline */
        resp->error = cg_strbuf_take(&err);
    }
}

static void
write_response(const cg_response *resp)
{
    size_t len = google__protobuf__compiler__code_generator_response__get_packed_size(resp);
    uint8_t *buf = cg_xmalloc(len);
    google__protobuf__compiler__code_generator_response__pack(resp, buf);
    if (fwrite(buf, 1, len, stdout) != len || fflush(stdout) != 0)
        cg_die("cannot write the response to stdout");
    free(buf);
}

static void
response_free(cg_response *resp)
{
    for (size_t i = 0; i < resp->n_file; i++) {
        free(resp->file[i]->name);
        free(resp->file[i]->content);
        free(resp->file[i]);
    }
    free(resp->file);
    free(resp->error);
}

int
main(void)
{
    size_t len;
    uint8_t *buf = read_all(stdin, &len);
    cg_request *req = google__protobuf__compiler__code_generator_request__unpack(NULL, len, buf);
    free(buf);
    if (req == NULL)
        cg_die("cannot decode the CodeGeneratorRequest on stdin (run me through protoc)");

    cg_response resp = GOOGLE__PROTOBUF__COMPILER__CODE_GENERATOR_RESPONSE__INIT;
    resp.has_supported_features = true;
    resp.supported_features =
        GOOGLE__PROTOBUF__COMPILER__CODE_GENERATOR_RESPONSE__FEATURE__FEATURE_PROTO3_OPTIONAL;
    generate(req, &resp);
    /* No partial output: with an error protoc writes nothing anyway. */
    if (resp.error != NULL) {
        for (size_t i = 0; i < resp.n_file; i++) {
            free(resp.file[i]->name);
            free(resp.file[i]->content);
            free(resp.file[i]);
        }
        resp.n_file = 0;
    }
    write_response(&resp);
    response_free(&resp);
    google__protobuf__compiler__code_generator_request__free_unpacked(req, NULL);
    return 0;
}
