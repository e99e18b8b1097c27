/*
 * model.c - from protoc's descriptors to the generator's model.
 */
#include "model.h"

#include <stdlib.h>
#include <string.h>

#include "names.h"

/* Field numbers used in source_code_info paths (descriptor.proto). */
#define PATH_FILE_SERVICE 6   /* FileDescriptorProto.service */
#define PATH_SERVICE_METHOD 2 /* ServiceDescriptorProto.method */
#define PATH_SERVICE_OPTIONS 3 /* ServiceDescriptorProto.options */
#define PATH_FILE_MESSAGE 4   /* FileDescriptorProto.message_type */
#define PATH_MESSAGE_NESTED 3 /* DescriptorProto.nested_type */
#define PATH_MAX_DEPTH 64

typedef Google__Protobuf__DescriptorProto cg_message_proto;
typedef Google__Protobuf__ServiceDescriptorProto cg_service_proto;
typedef Google__Protobuf__MethodDescriptorProto cg_method_proto;

/* 1-based line of the element at `path`, or 0 when protoc gave none. */
static int
line_of(const cg_file_proto *file, const int32_t *path, size_t n_path)
{
    const Google__Protobuf__SourceCodeInfo *info = file->source_code_info;
    if (info == NULL)
        return 0;
    for (size_t i = 0; i < info->n_location; i++) {
        const Google__Protobuf__SourceCodeInfo__Location *loc = info->location[i];
        if (loc->n_path == n_path && loc->n_span >= 1 &&
            memcmp(loc->path, path, n_path * sizeof *path) == 0)
            return loc->span[0] + 1;
    }
    return 0;
}

/* Searches `msgs` (and their nested types) under `scope` for the type
 * named `full` (without the leading dot). */
static bool
messages_define(cg_message_proto *const *msgs, size_t n, const char *scope, const char *full)
{
    size_t scope_len = strlen(scope);
    for (size_t i = 0; i < n; i++) {
        const char *name = msgs[i]->name;
        cg_strbuf sb = CG_STRBUF_INIT;
        cg_strbuf_printf(&sb, "%s%s%s", scope, scope_len ? "." : "", name);
        bool found = strcmp(cg_strbuf_str(&sb), full) == 0 ||
                     messages_define(msgs[i]->nested_type, msgs[i]->n_nested_type,
                                     cg_strbuf_str(&sb), full);
        cg_strbuf_free(&sb);
        if (found)
            return true;
    }
    return false;
}

/* The file of `req` that defines message `full`, or NULL. */
static const char *
file_defining(const cg_request *req, const char *full)
{
    for (size_t i = 0; i < req->n_proto_file; i++) {
        const cg_file_proto *f = req->proto_file[i];
        if (messages_define(f->message_type, f->n_message_type, f->package ? f->package : "",
                            full))
            return f->name;
    }
    return NULL;
}

static int
type_build(const cg_request *req, const char *type_name, cg_type *out, cg_strbuf *err)
{
    const char *full = type_name[0] == '.' ? type_name + 1 : type_name;
    out->full = full;
    out->c_name = cg_full_name_to_c(full);
    out->lower = cg_full_name_to_lower(full);
    out->file = file_defining(req, full);
    if (out->file == NULL) {
        cg_strbuf_printf(err, "message type %s is not defined in any file protoc sent", full);
        return -1;
    }
    return 0;
}

static int
method_build(const cg_request *req, const cg_file_proto *file, const cg_service *svc,
             const int32_t *svc_path, const cg_method_proto *proto, size_t index, cg_method *m,
             cg_strbuf *err)
{
    char opt_err[CG_OPT_ERR_MAX];
    cg_method_options opts;
    int32_t path[4] = {svc_path[0], svc_path[1], PATH_SERVICE_METHOD, (int32_t)index};

    m->name = proto->name;
    m->member = cg_camel_to_lower(proto->name);
    m->camel = cg_to_camel(proto->name);
    cg_strbuf sb = CG_STRBUF_INIT;
    cg_strbuf_printf(&sb, "%s__%s", svc->lower, m->member);
    m->lower = cg_strbuf_take(&sb);
    m->client_streaming = proto->has_client_streaming && proto->client_streaming;
    m->server_streaming = proto->has_server_streaming && proto->server_streaming;
    m->line = line_of(file, path, 4);
    if (cg_method_options_read(proto->options ? &proto->options->base : NULL, &opts,
                               opt_err) != 0) {
        cg_strbuf_printf(err, "rpc %s: %s", m->name, opt_err);
        return -1;
    }
    m->internal = opts.internal;
    if (type_build(req, proto->input_type, &m->input, err) != 0 ||
        type_build(req, proto->output_type, &m->output, err) != 0)
        return -1;
    return 0;
}

static void
service_names(const cg_file_proto *file, const cg_service_proto *proto, cg_service *s)
{
    cg_strbuf sb = CG_STRBUF_INIT;
    s->name = proto->name;
    if (file->package && file->package[0])
        cg_strbuf_printf(&sb, "%s.%s", file->package, proto->name);
    else
        cg_strbuf_puts(&sb, proto->name);
    s->full_name = cg_strbuf_take(&sb);
    s->c_name = cg_full_name_to_c(s->full_name);
    s->lower = cg_full_name_to_lower(s->full_name);
    s->upper = cg_full_name_to_upper(s->full_name);
}

static int
service_build(const cg_request *req, const cg_file_proto *file, size_t index, cg_service *s,
              cg_strbuf *err)
{
    const cg_service_proto *proto = file->service[index];
    int32_t path[4] = {PATH_FILE_SERVICE, (int32_t)index, PATH_SERVICE_OPTIONS,
                       (int32_t)CG_OPT_MODULE};

    service_names(file, proto, s);
    s->line = line_of(file, path, 2);
    s->module_line = line_of(file, path, 4);
    if (s->module_line == 0)
        s->module_line = s->line;
    s->opts_ok = cg_service_options_read(proto->options ? &proto->options->base : NULL,
                                         &s->opts, s->opts_err) == 0;
    s->module = s->opts.has_module ? s->opts.module : s->full_name;
    s->n_methods = proto->n_method;
    s->methods = cg_xcalloc(proto->n_method, sizeof *s->methods);
    for (size_t i = 0; i < proto->n_method; i++) {
        if (method_build(req, file, s, path, proto->method[i], i, &s->methods[i], err) != 0)
            return -1;
    }
    return 0;
}

/* Adds `msg` (at source path `path`, `depth` entries) and its nested
 * messages to out->bcasts when they carry (genrpc.broadcast) = true. */
static int
bcasts_build(const cg_file_proto *proto, const cg_message_proto *msg, const char *scope,
             int32_t *path, size_t depth, cg_file *out, cg_strbuf *err)
{
    char opt_err[CG_OPT_ERR_MAX];
    cg_message_options opts;
    cg_strbuf full = CG_STRBUF_INIT;
    cg_strbuf_printf(&full, "%s%s%s", scope, scope[0] ? "." : "", msg->name);
    int line = line_of(proto, path, depth);
    int rc = 0;
    if (cg_message_options_read(msg->options ? &msg->options->base : NULL, &opts, opt_err) != 0) {
        cg_diag_prefix(err, out, line, NULL);
        cg_strbuf_printf(err, "message %s: %s\n", msg->name, opt_err);
        rc = -1;
    } else if (opts.broadcast) {
        out->bcasts = realloc(out->bcasts, (out->n_bcasts + 1) * sizeof *out->bcasts);
        if (out->bcasts == NULL)
            cg_die("out of memory");
        cg_bcast *b = &out->bcasts[out->n_bcasts++];
        b->type.c_name = cg_full_name_to_c(full.data);
        b->type.lower = cg_full_name_to_lower(full.data);
        b->type.full = cg_xstrdup(full.data); /* freed by cg_file_free */
        b->type.file = proto->name;
        b->line = line;
    }
    for (size_t i = 0; rc == 0 && i < msg->n_nested_type; i++) {
        if (depth + 2 > PATH_MAX_DEPTH)
            break;
        path[depth] = PATH_MESSAGE_NESTED;
        path[depth + 1] = (int32_t)i;
        rc = bcasts_build(proto, msg->nested_type[i], full.data, path, depth + 2, out, err);
    }
    cg_strbuf_free(&full);
    return rc;
}

int
cg_file_build(const cg_request *req, const cg_file_proto *proto, cg_file *out, cg_strbuf *err)
{
    memset(out, 0, sizeof *out);
    out->req = req;
    out->proto = proto;
    out->name = proto->name;
    out->base = cg_strip_proto(proto->name);
    out->n_services = proto->n_service;
    out->services = cg_xcalloc(proto->n_service, sizeof *out->services);
    for (size_t i = 0; i < proto->n_service; i++) {
        cg_strbuf why = CG_STRBUF_INIT;
        if (service_build(req, proto, i, &out->services[i], &why) != 0) {
            cg_diag_prefix(err, out, out->services[i].line, &out->services[i]);
            cg_strbuf_printf(err, "%s\n", cg_strbuf_str(&why));
            cg_strbuf_free(&why);
            return -1;
        }
    }
    for (size_t i = 0; i < proto->n_message_type; i++) {
        int32_t path[PATH_MAX_DEPTH] = {PATH_FILE_MESSAGE, (int32_t)i};
        if (bcasts_build(proto, proto->message_type[i], proto->package ? proto->package : "",
                         path, 2, out, err) != 0)
            return -1;
    }
    return 0;
}

static void
method_free(cg_method *m)
{
    free(m->member);
    free(m->lower);
    free(m->camel);
    free(m->input.c_name);
    free(m->input.lower);
    free(m->output.c_name);
    free(m->output.lower);
}

void
cg_file_free(cg_file *file)
{
    for (size_t i = 0; i < file->n_services; i++) {
        cg_service *s = &file->services[i];
        for (size_t j = 0; j < s->n_methods; j++)
            method_free(&s->methods[j]);
        free(s->methods);
        free(s->full_name);
        free(s->c_name);
        free(s->lower);
        free(s->upper);
    }
    free(file->services);
    for (size_t i = 0; i < file->n_bcasts; i++) {
        free((char *)file->bcasts[i].type.full);
        free(file->bcasts[i].type.c_name);
        free(file->bcasts[i].type.lower);
    }
    free(file->bcasts);
    free(file->base);
    memset(file, 0, sizeof *file);
}

void
cg_diag_prefix(cg_strbuf *sb, const cg_file *file, int line, const cg_service *svc)
{
    if (line > 0)
        cg_strbuf_printf(sb, "%s:%d: ", file->name, line);
    else
        cg_strbuf_printf(sb, "%s: ", file->name);
    if (svc != NULL)
        cg_strbuf_printf(sb, "service %s: ", svc->name);
}
