/*
 * emit_source.c - <file>.genrpc.c: per service the handler thunks, the
 * dispatch table (genrpc_module_desc), register/unregister and the client
 * stubs, each a thin typed wrapper over genrpc/call.h or genrpc/multi.h.
 *
 * Replies come back from the runtime as ProtobufCMessage *; the stubs
 * receive them in a local of that type and convert the pointer, instead
 * of casting `Kv__GetReply **` to `ProtobufCMessage **` (which would
 * break strict aliasing).
 */
#include <stdlib.h>

#include "emit.h"

static void
emit_invoke(cg_strbuf *sb, const cg_service *s, const cg_method *m)
{
    static const char *const params[] = {"const void *impl", "const ProtobufCMessage *request",
                                         "ProtobufCMessage *reply", "genrpc_ctx *ctx"};
    char *name = cg_fmt("%s__invoke", m->lower);
    cg_emit_signature(sb, "static int\n", name, params, 4, "\n");
    char *args[3] = {cg_fmt("(const %s *)request", m->input.c_name),
                     cg_fmt("(%s *)reply", m->output.c_name), cg_fmt("ctx")};
    cg_strbuf_printf(sb, "{\n    const %s__Impl *handlers = impl;\n", s->c_name);
    char *callee = cg_fmt("handlers->%s", m->member);
    cg_emit_signature(sb, "    return ", callee, (const char *const *)args, 3, ";\n");
    cg_strbuf_puts(sb, "}\n\n");
    free(callee);
    cg_free_all(args, 3);
    free(name);
}

static void
emit_function_entry(cg_strbuf *sb, const cg_service *s, const cg_method *m, bool server)
{
    cg_strbuf_printf(sb,
                     "    {\n"
                     "        .name = \"%s\",\n"
                     "        .input = &%s__descriptor,\n"
                     "        .output = &%s__descriptor,\n"
                     "        .remote = %s,\n",
                     m->name, m->input.lower, m->output.lower,
                     cg_method_is_remote(s, m) ? "true" : "false");
    if (server)
        cg_strbuf_printf(sb,
                         "        .impl_offset = offsetof(%s__Impl, %s),\n"
                         "        .invoke = %s__invoke,\n",
                         s->c_name, m->member, m->lower);
    else
        cg_strbuf_puts(sb, "        .impl_offset = 0,\n"
                           "        .invoke = NULL, /* generated with server=false */\n");
    cg_strbuf_puts(sb, "    },\n");
}

static void
emit_dispatch_table(cg_strbuf *sb, const cg_service *s, bool server, size_t n_files)
{
    if (s->n_methods > 0) {
        cg_strbuf_printf(sb, "/* One entry per rpc, in IDL order; the stubs below point into it. */\n"
                             "static const genrpc_function_desc %s__functions[%zu] = {\n",
                         s->lower, s->n_methods);
        for (size_t i = 0; i < s->n_methods; i++)
            emit_function_entry(sb, s, &s->methods[i], server);
        cg_strbuf_puts(sb, "};\n\n");
    }
    cg_strbuf_printf(sb,
                     "const genrpc_module_desc %s__module = {\n"
                     "    .name = %s__MODULE_NAME,\n"
                     "    .version = %s__VERSION,\n"
                     "    .remote = %s,\n"
                     "    .n_functions = %zu,\n"
                     "    .functions = %s%s,\n"
                     "    .service = \"%s\",\n"
                     "    .n_proto_files = %zu,\n"
                     "    .proto_files = genrpc_gen__proto_files,\n"
                     "};\n\n",
                     s->lower, s->upper, s->upper, s->opts.internal_module ? "false" : "true",
                     s->n_methods, s->n_methods ? s->lower : "NULL",
                     s->n_methods ? "__functions" : "", s->full_name, n_files);
}

static void
emit_register(cg_strbuf *sb, const cg_service *s)
{
    char *reg[3] = {cg_fmt("genrpc_node *node"), cg_fmt("const %s__Impl *impl", s->c_name),
                    cg_fmt("void *user")};
    char *name = cg_fmt("%s__register", s->lower);
    cg_emit_signature(sb, "int\n", name, (const char *const *)reg, 3, "\n");
    cg_strbuf_printf(sb, "{\n    return genrpc_node_register(node, &%s__module, impl, user);\n}\n\n",
                     s->lower);
    free(name);
    name = cg_fmt("%s__unregister", s->lower);
    cg_emit_signature(sb, "int\n", name, (const char *const *)reg, 1, "\n");
    cg_strbuf_printf(sb,
                     "{\n    return genrpc_node_unregister(node, %s__MODULE_NAME, %s__VERSION);\n"
                     "}\n\n",
                     s->upper, s->upper);
    free(name);
    cg_free_all(reg, 3);
}

/* Appends "<head><fn>(node, <where>, &module, &function, (const
 * ProtobufCMessage *)req, <rest>);": the call every stub makes into
 * genrpc/call.h or genrpc/multi.h. `where` and `rest` are NULL-terminated
 * lists ({"target"} for one node, {"targets", "n"} for many). */
static void
emit_runtime_call_to(cg_strbuf *sb, const char *head, const char *fn, const cg_service *s,
                     size_t index, const char *const *where, const char *const *rest)
{
    char *args[12];
    size_t n = 0;
    args[n++] = cg_fmt("node");
    for (; *where && n < 3; where++)
        args[n++] = cg_xstrdup(*where);
    args[n++] = cg_fmt("&%s__module", s->lower);
    args[n++] = cg_fmt("&%s__functions[%zu]", s->lower, index);
    args[n++] = cg_fmt("(const ProtobufCMessage *)req");
    for (; *rest && n < 12; rest++)
        args[n++] = cg_xstrdup(*rest);
    cg_emit_signature(sb, head, fn, (const char *const *)args, n, ";\n");
    cg_free_all(args, n);
}

static void
emit_runtime_call(cg_strbuf *sb, const char *head, const char *fn, const cg_service *s,
                  size_t index, const char *const *rest)
{
    emit_runtime_call_to(sb, head, fn, s, index, (const char *const[]){"target", NULL}, rest);
}

/* The first line of every stub: the options it passes on, requiring the
 * stub's own IDL version unless the caller asked for another or for any
 * (genrpc_stub_opts in genrpc/call.h). */
static void
emit_stub_opts(cg_strbuf *sb, const cg_service *s)
{
    cg_strbuf_printf(sb, "    genrpc_call_opts o = genrpc_stub_opts(opts, %s__VERSION);\n",
                     s->upper);
}

static void
emit_call_stub(cg_strbuf *sb, const cg_service *s, const cg_method *m, size_t index)
{
    char *p[6] = {cg_fmt("genrpc_node *node"), cg_fmt("genrpc_target target"),
                  cg_fmt("const %s *req", m->input.c_name), cg_fmt("%s **reply", m->output.c_name),
                  cg_fmt("const genrpc_call_opts *opts"), cg_fmt("genrpc_status *st")};
    char *name = cg_fmt("%s_call", m->lower);
    cg_emit_signature(sb, "int\n", name, (const char *const *)p, 6, "\n");
    cg_strbuf_puts(sb, "{\n");
    emit_stub_opts(sb, s);
    cg_strbuf_puts(sb, "    ProtobufCMessage *out = NULL;\n");
    emit_runtime_call(sb, "    int err = ", "genrpc_call", s, index,
                      (const char *const[]){"&out", "&o", "st", NULL});
    cg_strbuf_printf(sb, "    *reply = (%s *)out;\n"
                         "    return err;\n}\n\n",
                     m->output.c_name);
    free(name);
    name = cg_fmt("%s_cast", m->lower);
    char *cast[5] = {p[0], p[1], p[2], p[4], p[5]};
    cg_emit_signature(sb, "int\n", name, (const char *const *)cast, 5, "\n");
    cg_strbuf_puts(sb, "{\n");
    emit_stub_opts(sb, s);
    emit_runtime_call(sb, "    return ", "genrpc_cast", s, index,
                      (const char *const[]){"&o", "st", NULL});
    cg_strbuf_puts(sb, "}\n\n");
    free(name);
    cg_free_all(p, 6);
}

static void
emit_async_stub(cg_strbuf *sb, const cg_service *s, const cg_method *m, size_t index)
{
    char *p[6] = {cg_fmt("genrpc_node *node"), cg_fmt("genrpc_target target"),
                  cg_fmt("const %s *req", m->input.c_name), cg_fmt("const genrpc_call_opts *opts"),
                  cg_fmt("genrpc_promise **promise"), cg_fmt("genrpc_status *st")};
    char *name = cg_fmt("%s_async", m->lower);
    cg_emit_signature(sb, "int\n", name, (const char *const *)p, 6, "\n");
    cg_strbuf_puts(sb, "{\n");
    emit_stub_opts(sb, s);
    emit_runtime_call(sb, "    return ", "genrpc_call_async", s, index,
                      (const char *const[]){"&o", "promise", "st", NULL});
    cg_strbuf_puts(sb, "}\n\n");
    free(name);
    cg_free_all(p, 6);
}

static void
emit_yield_stubs(cg_strbuf *sb, const cg_method *m)
{
    char *p[4] = {cg_fmt("genrpc_promise *promise"), cg_fmt("int64_t timeout_ms"),
                  cg_fmt("%s **reply", m->output.c_name), cg_fmt("genrpc_status *st")};
    char *name = cg_fmt("%s_yield", m->lower);
    char *yield[3] = {p[0], p[2], p[3]};
    cg_emit_signature(sb, "int\n", name, (const char *const *)yield, 3, "\n");
    cg_strbuf_printf(sb, "{\n    ProtobufCMessage *out = NULL;\n"
                         "    int err = genrpc_promise_yield(promise, &out, st);\n"
                         "    *reply = (%s *)out;\n    return err;\n}\n\n",
                     m->output.c_name);
    free(name);
    name = cg_fmt("%s_nb_yield", m->lower);
    cg_emit_signature(sb, "int\n", name, (const char *const *)p, 4, "\n");
    cg_strbuf_printf(sb, "{\n    ProtobufCMessage *out = NULL;\n"
                         "    int err = genrpc_promise_nb_yield(promise, timeout_ms, &out, st);\n"
                         "    *reply = (%s *)out;\n    return err;\n}\n\n",
                     m->output.c_name);
    free(name);
    cg_free_all(p, 4);
}

/* Calling a function through a pointer of another type is undefined, so
 * the runtime gets a thunk that restores the callback's real type. */
static void
emit_callback_stub(cg_strbuf *sb, const cg_service *s, const cg_method *m, size_t index)
{
    static const char *const thunk_params[] = {
        "genrpc_generic_fn fn", "int err", "const genrpc_status *st",
        "const ProtobufCMessage *reply", "void *arg"};
    char *name = cg_fmt("%s__thunk", m->lower);
    cg_emit_signature(sb, "static void\n", name, thunk_params, 5, "\n");
    cg_strbuf_printf(sb, "{\n    ((%s__%sCb)fn)(err, st, (const %s *)reply, arg);\n}\n\n",
                     s->c_name, m->camel, m->output.c_name);
    free(name);
    char *p[6] = {cg_fmt("genrpc_node *node"), cg_fmt("genrpc_target target"),
                  cg_fmt("const %s *req", m->input.c_name), cg_fmt("const genrpc_call_opts *opts"),
                  cg_fmt("%s__%sCb cb", s->c_name, m->camel), cg_fmt("void *arg")};
    name = cg_fmt("%s_async_cb", m->lower);
    cg_emit_signature(sb, "int\n", name, (const char *const *)p, 6, "\n");
    char *thunk = cg_fmt("%s__thunk", m->lower);
    cg_strbuf_puts(sb, "{\n");
    emit_stub_opts(sb, s);
    emit_runtime_call(sb, "    return ", "genrpc_call_async_typed", s, index,
                      (const char *const[]){"&o", thunk, "(genrpc_generic_fn)cb", "arg", NULL});
    cg_strbuf_puts(sb, "}\n\n");
    free(thunk);
    free(name);
    cg_free_all(p, 6);
}

/* The store thunk hands each target's outcome to the typed result array
 * (the runtime cannot know its type), then multicall, the free helper and
 * eval everywhere. */
static void
emit_multi_stubs(cg_strbuf *sb, const cg_service *s, const cg_method *m, size_t index)
{
    static const char *const store_params[] = {"void *results", "size_t i",
                                               "const genrpc_status *status",
                                               "ProtobufCMessage *reply"};
    static const char *const many[] = {"targets", "n", NULL};
    char *store = cg_fmt("%s__store", m->lower);
    cg_emit_signature(sb, "static void\n", store, store_params, 4, "\n");
    cg_strbuf_printf(sb, "{\n    %s__%sResult *r = (%s__%sResult *)results + i;\n"
                         "    r->status = *status;\n"
                         "    r->reply = (%s *)reply;\n}\n\n",
                     s->c_name, m->camel, s->c_name, m->camel, m->output.c_name);
    char *p[7] = {cg_fmt("genrpc_node *node"), cg_fmt("const genrpc_target *targets"),
                  cg_fmt("size_t n"), cg_fmt("const %s *req", m->input.c_name),
                  cg_fmt("const genrpc_call_opts *opts"),
                  cg_fmt("%s__%sResult *results", s->c_name, m->camel),
                  cg_fmt("genrpc_status *st")};
    char *name = cg_fmt("%s_multicall", m->lower);
    cg_emit_signature(sb, "int\n", name, (const char *const *)p, 7, "\n");
    cg_strbuf_puts(sb, "{\n");
    emit_stub_opts(sb, s);
    emit_runtime_call_to(sb, "    return ", "genrpc_multicall_typed", s, index, many,
                         (const char *const[]){"&o", "results", store, "st", NULL});
    cg_strbuf_puts(sb, "}\n\n");
    free(name);
    name = cg_fmt("%s_multicall_free", m->lower);
    char *free_params[2] = {p[5], cg_fmt("size_t n")};
    cg_emit_signature(sb, "void\n", name, (const char *const *)free_params, 2, "\n");
    cg_strbuf_printf(sb, "{\n    for (size_t i = 0; i < n; i++) {\n"
                         "        if (results[i].reply)\n"
                         "            %s__free_unpacked(results[i].reply, NULL);\n"
                         "        results[i].reply = NULL;\n    }\n}\n\n",
                     m->output.lower);
    free(free_params[1]);
    free(name);
    name = cg_fmt("%s_eval_everywhere", m->lower);
    char *eval[6] = {p[0], p[1], p[2], p[3], p[4], p[6]};
    cg_emit_signature(sb, "int\n", name, (const char *const *)eval, 6, "\n");
    cg_strbuf_puts(sb, "{\n");
    emit_stub_opts(sb, s);
    emit_runtime_call_to(sb, "    return ", "genrpc_eval_everywhere", s, index, many,
                         (const char *const[]){"&o", "st", NULL});
    cg_strbuf_puts(sb, "}\n\n");
    free(name);
    free(store);
    cg_free_all(p, 7);
}

static void
emit_service(cg_strbuf *sb, const cg_service *s, const cg_params *params, size_t n_files)
{
    cg_strbuf_printf(sb, "/* ==== service %s: module \"%s\" version %u%s ==== */\n\n",
                     s->full_name, s->module, s->opts.version,
                     s->opts.internal_module ? ", internal" : "");
    if (params->server) {
        for (size_t i = 0; i < s->n_methods; i++)
            emit_invoke(sb, s, &s->methods[i]);
    }
    if (params->server || params->client)
        emit_dispatch_table(sb, s, params->server, n_files);
    if (params->server)
        emit_register(sb, s);
    if (!params->client)
        return;
    for (size_t i = 0; i < s->n_methods; i++) {
        const cg_method *m = &s->methods[i];
        if (!cg_method_is_remote(s, m))
            continue;
        cg_strbuf_printf(sb, "/* -- rpc %s -- */\n\n", m->name);
        emit_call_stub(sb, s, m, i);
        emit_async_stub(sb, s, m, i);
        emit_yield_stubs(sb, m);
        emit_callback_stub(sb, s, m, i);
        emit_multi_stubs(sb, s, m, i);
    }
}

static void
emit_bcast(cg_strbuf *sb, const cg_bcast *b, const cg_params *params)
{
    const cg_type *t = &b->type;
    cg_strbuf_printf(sb, "/* -- message %s: broadcastable -- */\n\n", t->full);
    if (params->server) {
        static const char *const thunk_params[] = {"genrpc_generic_fn fn", "genrpc_node *node",
                                                   "const char *from",
                                                   "const ProtobufCMessage *msg", "void *user"};
        char *name = cg_fmt("%s__handler_thunk", t->lower);
        cg_emit_signature(sb, "static void\n", name, thunk_params, 5, "\n");
        char *call = cg_fmt("((%s_HandlerFn)fn)", t->c_name);
        char *targs[4] = {cg_fmt("node"), cg_fmt("from"), cg_fmt("(const %s *)msg", t->c_name),
                          cg_fmt("user")};
        cg_strbuf_puts(sb, "{\n");
        cg_emit_signature(sb, "    ", call, (const char *const *)targs, 4, ";\n");
        cg_strbuf_puts(sb, "}\n\n");
        cg_free_all(targs, 4);
        free(call);
        char *rp[4] = {cg_fmt("genrpc_node *node"), cg_fmt("const char *name"),
                       cg_fmt("%s_HandlerFn cb", t->c_name), cg_fmt("void *user")};
        char *reg = cg_fmt("%s__register_handler", t->lower);
        cg_emit_signature(sb, "int\n", reg, (const char *const *)rp, 4, "\n");
        cg_strbuf_puts(sb, "{\n");
        char *args[6] = {cg_fmt("node"), cg_fmt("name"), cg_fmt("&%s__descriptor", t->lower),
                         cg_fmt("%s", name), cg_fmt("(genrpc_generic_fn)cb"), cg_fmt("user")};
        cg_emit_signature(sb, "    return ", "genrpc_handler_register_typed",
                          (const char *const *)args, 6, ";\n");
        cg_strbuf_puts(sb, "}\n\n");
        cg_free_all(args, 6);
        cg_free_all(rp, 4);
        free(reg);
        free(name);
    }
    if (params->client) {
        char *p[7] = {cg_fmt("genrpc_node *node"), cg_fmt("const genrpc_target *targets"),
                      cg_fmt("size_t n"), cg_fmt("const char *name"),
                      cg_fmt("const %s *msg", t->c_name), cg_fmt("genrpc_sbcast_result *results"),
                      cg_fmt("genrpc_status *st")};
        char *ab[6] = {p[0], p[1], p[2], p[3], p[4], p[6]};
        char *name = cg_fmt("%s__abcast", t->lower);
        cg_emit_signature(sb, "int\n", name, (const char *const *)ab, 6, "\n");
        cg_strbuf_puts(sb, "{\n");
        static const char *const ab_args[] = {"node", "targets", "n", "name",
                                              "(const ProtobufCMessage *)msg", "st"};
        cg_emit_signature(sb, "    return ", "genrpc_abcast", ab_args, 6, ";\n");
        cg_strbuf_puts(sb, "}\n\n");
        free(name);
        name = cg_fmt("%s__sbcast", t->lower);
        cg_emit_signature(sb, "int\n", name, (const char *const *)p, 7, "\n");
        cg_strbuf_puts(sb, "{\n");
        static const char *const sb_args[] = {"node", "targets", "n", "name",
                                              "(const ProtobufCMessage *)msg", "results", "st"};
        cg_emit_signature(sb, "    return ", "genrpc_sbcast", sb_args, 7, ";\n");
        cg_strbuf_puts(sb, "}\n\n");
        free(name);
        cg_free_all(p, 7);
    }
}

char *
cg_emit_source(const cg_file *file, const cg_params *params)
{
    cg_strbuf sb = CG_STRBUF_INIT;
    cg_strbuf_printf(&sb, "/* Generated by protoc-gen-genrpc from %s. DO NOT EDIT. */\n"
                          "#include \"%s.genrpc.h\"\n\n#include <stddef.h>\n\n",
                     file->name, file->base);
    size_t n_files = 0;
    if (file->n_services > 0 && (params->server || params->client))
        n_files = cg_emit_proto_files(&sb, file);
    for (size_t i = 0; i < file->n_services; i++)
        emit_service(&sb, &file->services[i], params, n_files);
    for (size_t i = 0; i < file->n_bcasts; i++)
        emit_bcast(&sb, &file->bcasts[i], params);
    return cg_strbuf_take(&sb);
}
