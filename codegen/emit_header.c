/*
 * emit_header.c - <file>.genrpc.h: per service the module's name and
 * version, the server's Impl struct and register/unregister, and the
 * typed client stubs; every declaration with a one-line comment saying
 * what it does and who owns what.
 */
#include <stdlib.h>
#include <string.h>

#include "emit.h"
#include "names.h"

/* Appends the #include of `dep`'s protobuf-c header unless `seen` has it. */
static void
emit_type_include(cg_strbuf *sb, const char *dep, const char **seen, size_t *n_seen)
{
    for (size_t i = 0; i < *n_seen; i++) {
        if (strcmp(seen[i], dep) == 0)
            return;
    }
    seen[(*n_seen)++] = dep;
    char *base = cg_strip_proto(dep);
    cg_strbuf_printf(sb, "#include \"%s.pb-c.h\"\n", base);
    free(base);
}

/* Our own .pb-c.h, then that of every other file defining a request or
 * reply type, each once, in order of first use. */
static void
emit_includes(cg_strbuf *sb, const cg_file *file)
{
    size_t n_types = 1, n_seen = 0;
    for (size_t i = 0; i < file->n_services; i++)
        n_types += 2 * file->services[i].n_methods;
    const char **seen = cg_xcalloc(n_types, sizeof *seen);
    cg_strbuf_puts(sb, "#include <genrpc/genrpc.h>\n\n");
    emit_type_include(sb, file->name, seen, &n_seen);
    for (size_t i = 0; i < file->n_services; i++) {
        for (size_t j = 0; j < file->services[i].n_methods; j++) {
            emit_type_include(sb, file->services[i].methods[j].input.file, seen, &n_seen);
            emit_type_include(sb, file->services[i].methods[j].output.file, seen, &n_seen);
        }
    }
    free(seen);
}

static void
emit_module_macros(cg_strbuf *sb, const cg_service *s)
{
    cg_strbuf_printf(sb,
                     "/* Wire name of service %s's module. */\n"
                     "#define %s__MODULE_NAME \"%s\"\n"
                     "/* The module version this file implements, from (genrpc.version).\n"
                     " * The stubs below require it unless opts->version says otherwise\n"
                     " * (GENRPC_ANY_VERSION: whichever the callee serves). */\n"
                     "#define %s__VERSION %uu\n\n",
                     s->name, s->upper, s->module, s->upper, s->opts.version);
}

static void
emit_impl_member(cg_strbuf *sb, const cg_service *s, const cg_method *m)
{
    char *params[3] = {cg_fmt("const %s *req", m->input.c_name),
                       cg_fmt("%s *reply", m->output.c_name), cg_fmt("genrpc_ctx *ctx")};
    char *comment = cg_fmt("rpc %s(%s) returns (%s)%s", m->name, m->input.full, m->output.full,
                           cg_method_is_remote(s, m) ? "" : "; internal: never run for another node");
    char *name = cg_fmt("%s)", m->member);
    cg_emit_comment(sb, "    ", comment);
    cg_emit_signature(sb, "    int (*", name, (const char *const *)params, 3, ";\n");
    free(name);
    free(comment);
    cg_free_all(params, 3);
}

static void
emit_impl_struct(cg_strbuf *sb, const cg_service *s)
{
    cg_strbuf_printf(sb,
                     "/* Server side: one handler per rpc (NULL answers GENRPC_E_UNDEF). A handler\n"
                     " * fills `reply` (allocate what it points to with genrpc_ctx_alloc) and\n"
                     " * returns 0, or returns genrpc_fail(ctx, code, ...). */\n"
                     "typedef struct %s__Impl {\n", s->c_name);
    for (size_t i = 0; i < s->n_methods; i++)
        emit_impl_member(sb, s, &s->methods[i]);
    cg_strbuf_printf(sb, "} %s__Impl;\n\n", s->c_name);
}

static void
emit_register_decls(cg_strbuf *sb, const cg_service *s)
{
    char *reg[3] = {cg_fmt("genrpc_node *node"), cg_fmt("const %s__Impl *impl", s->c_name),
                    cg_fmt("void *user")};
    char *name = cg_fmt("%s__register", s->lower);
    char *comment = cg_fmt("Installs `impl` as %s__MODULE_NAME version %s__VERSION on `node`; "
                           "the node borrows `impl` and `user` until %s__unregister.",
                           s->upper, s->upper, s->lower);
    cg_emit_comment(sb, "", comment);
    free(comment);
    cg_emit_signature(sb, "int ", name, (const char *const *)reg, 3, ";\n");
    free(name);
    name = cg_fmt("%s__unregister", s->lower);
    cg_strbuf_printf(sb, "/* Removes this version of the module from `node` (waits for running calls). */\n");
    cg_emit_signature(sb, "int ", name, (const char *const *)reg, 1, ";\n\n");
    free(name);
    cg_free_all(reg, 3);
}

static void
emit_module_decl(cg_strbuf *sb, const cg_service *s)
{
    cg_strbuf_printf(sb, "/* The module's dispatch table: names, message types and handler thunks. */\n"
                         "extern const genrpc_module_desc %s__module;\n\n",
                     s->lower);
}

static void
emit_callback_typedef(cg_strbuf *sb, const cg_service *s, const cg_method *m)
{
    char *params[4] = {cg_fmt("int err"), cg_fmt("const genrpc_status *st"),
                       cg_fmt("const %s *reply", m->output.c_name), cg_fmt("void *arg")};
    char *name = cg_fmt("*%s__%sCb", s->c_name, m->camel);
    char *comment = cg_fmt("Result of %s_async_cb, run once on the node's loop thread; `reply` "
                           "is borrowed (valid during the callback, NULL unless err == GENRPC_OK).",
                           m->lower);
    cg_emit_comment(sb, "", comment);
    free(comment);
    /* A pointer-to-function typedef: "typedef void (*Name)(...)". */
    char *head = cg_fmt("typedef void (%s)", name);
    cg_emit_signature(sb, "", head, (const char *const *)params, 4, ";\n");
    free(head);
    free(name);
    cg_free_all(params, 4);
}

/* One client stub declaration: comment, then prototype. */
static void
emit_stub_decl(cg_strbuf *sb, const char *comment, const char *name, char **params, size_t n)
{
    cg_emit_comment(sb, "", comment);
    cg_emit_signature(sb, "int ", name, (const char *const *)params, n, ";\n");
}

static void
emit_call_and_cast_decls(cg_strbuf *sb, const cg_method *m)
{
    char *name = cg_fmt("%s_call", m->lower);
    char *comment = cg_fmt("Calls %s on `target` and waits; on GENRPC_OK the caller owns *reply: "
                        "%s__free_unpacked(*reply, NULL).", m->name, m->output.lower);
    char *p[6] = {cg_fmt("genrpc_node *node"), cg_fmt("genrpc_target target"),
                  cg_fmt("const %s *req", m->input.c_name), cg_fmt("%s **reply", m->output.c_name),
                  cg_fmt("const genrpc_call_opts *opts"), cg_fmt("genrpc_status *st")};
    emit_stub_decl(sb, comment, name, p, 6);
    free(name);
    free(comment);
    name = cg_fmt("%s_cast", m->lower);
    comment = cg_fmt("Sends %s without waiting; no reply, no error from the remote side.", m->name);
    char *cast[5] = {p[0], p[1], p[2], p[4], p[5]};
    emit_stub_decl(sb, comment, name, cast, 5);
    free(name);
    free(comment);
    cg_free_all(p, 6);
}

static void
emit_async_decls(cg_strbuf *sb, const cg_service *s, const cg_method *m)
{
    char *p[6] = {cg_fmt("genrpc_node *node"), cg_fmt("genrpc_target target"),
                  cg_fmt("const %s *req", m->input.c_name), cg_fmt("const genrpc_call_opts *opts"),
                  cg_fmt("genrpc_promise **promise"), cg_fmt("genrpc_status *st")};
    char *name = cg_fmt("%s_async", m->lower);
    char *comment = cg_fmt("Starts %s and returns at once; the caller owns *promise: wait with "
                        "%s_yield or %s_nb_yield, then genrpc_promise_free it.",
                        m->name, m->lower, m->lower);
    emit_stub_decl(sb, comment, name, p, 6);
    free(name);
    free(comment);
    free(p[4]);
    free(p[5]);
    p[4] = cg_fmt("%s__%sCb cb", s->c_name, m->camel);
    p[5] = cg_fmt("void *arg");
    name = cg_fmt("%s_async_cb", m->lower);
    comment = cg_fmt("Starts %s; `cb` runs exactly once unless this returns an error.", m->name);
    emit_stub_decl(sb, comment, name, p, 6);
    free(name);
    free(comment);
    cg_free_all(p, 6);
}

static void
emit_yield_decls(cg_strbuf *sb, const cg_method *m)
{
    char *p[4] = {cg_fmt("genrpc_promise *promise"), cg_fmt("int64_t timeout_ms"),
                  cg_fmt("%s **reply", m->output.c_name), cg_fmt("genrpc_status *st")};
    char *name = cg_fmt("%s_yield", m->lower);
    char *comment = cg_fmt("Waits for the promise of %s_async; on GENRPC_OK the caller owns *reply: "
                        "%s__free_unpacked(*reply, NULL).", m->lower, m->output.lower);
    char *yield[3] = {p[0], p[2], p[3]};
    emit_stub_decl(sb, comment, name, yield, 3);
    free(name);
    free(comment);
    name = cg_fmt("%s_nb_yield", m->lower);
    comment = cg_fmt("Like %s_yield but waits at most `timeout_ms`; GENRPC_E_NOT_READY leaves "
                  "the promise pending.", m->lower);
    emit_stub_decl(sb, comment, name, p, 4);
    free(name);
    free(comment);
    cg_free_all(p, 4);
}

static void
emit_result_typedef(cg_strbuf *sb, const cg_service *s, const cg_method *m)
{
    char *comment = cg_fmt("One target's outcome of %s_multicall: `reply` belongs to the caller "
                           "(%s__free_unpacked(reply, NULL), or %s_multicall_free) and is NULL "
                           "unless status.err == GENRPC_OK.",
                           m->lower, m->output.lower, m->lower);
    cg_emit_comment(sb, "", comment);
    free(comment);
    cg_strbuf_printf(sb, "typedef struct %s__%sResult {\n"
                         "    genrpc_status status;\n"
                         "    %s *reply;\n"
                         "} %s__%sResult;\n",
                     s->c_name, m->camel, m->output.c_name, s->c_name, m->camel);
}

static void
emit_multi_decls(cg_strbuf *sb, const cg_service *s, const cg_method *m)
{
    char *p[7] = {cg_fmt("genrpc_node *node"), cg_fmt("const genrpc_target *targets"),
                  cg_fmt("size_t n"), cg_fmt("const %s *req", m->input.c_name),
                  cg_fmt("const genrpc_call_opts *opts"),
                  cg_fmt("%s__%sResult *results", s->c_name, m->camel),
                  cg_fmt("genrpc_status *st")};
    emit_result_typedef(sb, s, m);
    char *name = cg_fmt("%s_multicall", m->lower);
    char *comment = cg_fmt("Calls %s on every target in parallel, one deadline for all; "
                           "results[i] (n entries, caller-allocated) is targets[i]'s outcome. "
                           "GENRPC_OK unless an argument is bad (then nothing is sent).",
                           m->name);
    emit_stub_decl(sb, comment, name, p, 7);
    free(name);
    free(comment);
    name = cg_fmt("%s_multicall_free", m->lower);
    char *free_params[2] = {p[5], cg_fmt("size_t n")};
    cg_strbuf_puts(sb, "/* Frees the replies of results[0..n) and sets them to NULL. */\n");
    cg_emit_signature(sb, "void ", name, (const char *const *)free_params, 2, ";\n");
    free(free_params[1]);
    free(name);
    name = cg_fmt("%s_eval_everywhere", m->lower);
    comment = cg_fmt("Casts %s to every target and returns at once; unreachable targets are "
                     "neither reported nor waited for.", m->name);
    char *eval[6] = {p[0], p[1], p[2], p[3], p[4], p[6]};
    emit_stub_decl(sb, comment, name, eval, 6);
    free(name);
    free(comment);
    cg_free_all(p, 7);
}

static void
emit_client_decls(cg_strbuf *sb, const cg_service *s)
{
    for (size_t i = 0; i < s->n_methods; i++) {
        const cg_method *m = &s->methods[i];
        if (!cg_method_is_remote(s, m))
            continue;
        cg_strbuf_printf(sb, "/* -- rpc %s -- */\n\n", m->name);
        emit_callback_typedef(sb, s, m);
        emit_call_and_cast_decls(sb, m);
        emit_async_decls(sb, s, m);
        emit_yield_decls(sb, m);
        emit_multi_decls(sb, s, m);
        cg_strbuf_puts(sb, "\n");
    }
}

static void
emit_service_decls(cg_strbuf *sb, const cg_service *s, const cg_params *params)
{
    cg_strbuf_printf(sb, "/* ==== service %s: module \"%s\" version %u%s ==== */\n\n",
                     s->full_name, s->module, s->opts.version,
                     s->opts.internal_module ? ", internal" : "");
    emit_module_macros(sb, s);
    if (params->server)
        emit_impl_struct(sb, s);
    if (params->server || params->client)
        emit_module_decl(sb, s);
    if (params->server)
        emit_register_decls(sb, s);
    if (params->client)
        emit_client_decls(sb, s);
}

/* Per (genrpc.broadcast) message: the typed handler, its registration
 * (server side), abcast and sbcast (client side). */
static void
emit_bcast_decls(cg_strbuf *sb, const cg_bcast *b, const cg_params *params)
{
    const cg_type *t = &b->type;
    cg_strbuf_printf(sb, "/* -- message %s: broadcastable -- */\n\n", t->full);
    char *p[7] = {cg_fmt("genrpc_node *node"), cg_fmt("const genrpc_target *targets"),
                  cg_fmt("size_t n"), cg_fmt("const char *name"),
                  cg_fmt("const %s *msg", t->c_name), cg_fmt("genrpc_sbcast_result *results"),
                  cg_fmt("genrpc_status *st")};
    if (params->server) {
        char *fp[4] = {cg_fmt("genrpc_node *node"), cg_fmt("const char *from"),
                       cg_fmt("const %s *msg", t->c_name), cg_fmt("void *user")};
        char *comment = cg_fmt("A named handler for %s, run on a worker; `msg` is borrowed (valid "
                               "during the call), `from` is the sending node.", t->full);
        cg_emit_comment(sb, "", comment);
        free(comment);
        char *head = cg_fmt("typedef void (*%s_HandlerFn)", t->c_name);
        cg_emit_signature(sb, "", head, (const char *const *)fp, 4, ";\n");
        free(head);
        cg_free_all(fp, 4);
        char *rp[4] = {cg_fmt("genrpc_node *node"), cg_fmt("const char *name"),
                       cg_fmt("%s_HandlerFn cb", t->c_name), cg_fmt("void *user")};
        char *name = cg_fmt("%s__register_handler", t->lower);
        comment = cg_fmt("Registers `cb` under `name` on `node` for %s messages "
                         "(genrpc_handler_register; remove with genrpc_handler_unregister).",
                         t->full);
        emit_stub_decl(sb, comment, name, rp, 4);
        free(comment);
        free(name);
        cg_free_all(rp, 4);
    }
    if (params->client) {
        char *name = cg_fmt("%s__abcast", t->lower);
        char *comment = cg_fmt("Sends `msg` to the handler `name` on every target and returns at "
                               "once (genrpc_abcast).");
        char *ab[6] = {p[0], p[1], p[2], p[3], p[4], p[6]};
        emit_stub_decl(sb, comment, name, ab, 6);
        free(comment);
        free(name);
        name = cg_fmt("%s__sbcast", t->lower);
        comment = cg_fmt("Sends `msg` to the handler `name` on every target and waits at most "
                         "sbcast_receive_timeout; results[i] (n entries) says whether targets[i] "
                         "has the name (genrpc_sbcast).");
        emit_stub_decl(sb, comment, name, p, 7);
        free(comment);
        free(name);
    }
    cg_free_all(p, 7);
    cg_strbuf_puts(sb, "\n");
}

char *
cg_emit_header(const cg_file *file, const cg_params *params)
{
    cg_strbuf sb = CG_STRBUF_INIT;
    char *guard = cg_filename_identifier(file->name);
    cg_strbuf_printf(&sb, "/* Generated by protoc-gen-genrpc from %s. DO NOT EDIT. */\n"
                          "#ifndef GENRPC_%s__INCLUDED\n#define GENRPC_%s__INCLUDED\n\n",
                     file->name, guard, guard);
    emit_includes(&sb, file);
    cg_strbuf_puts(&sb, "\n#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n");
    for (size_t i = 0; i < file->n_services; i++)
        emit_service_decls(&sb, &file->services[i], params);
    if (file->n_bcasts && (params->client || params->server))
        cg_strbuf_puts(&sb, "/* ==== named handlers and broadcasts (genrpc/broadcast.h) ==== */\n\n");
    for (size_t i = 0; i < file->n_bcasts && (params->client || params->server); i++)
        emit_bcast_decls(&sb, &file->bcasts[i], params);
    cg_strbuf_printf(&sb, "#ifdef __cplusplus\n}\n#endif\n\n#endif /* GENRPC_%s__INCLUDED */\n",
                     guard);
    free(guard);
    return cg_strbuf_take(&sb);
}
