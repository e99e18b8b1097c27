/*
 * check.c - validation of a file's services before anything is emitted.
 *
 * The collision check lists every file-scope identifier the file's
 * generated C declares - genrpc's in <file>.genrpc.{h,c} and protobuf-c's
 * in <file>.pb-c.{h,c} - plus the Impl struct members, and reports any
 * name produced twice. protobuf-c's names are included because both
 * headers end up in one translation unit.
 */
#include "check.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "names.h"

/* One generated name and who produces it. */
typedef struct ident {
    char *name;             /* "kv__store__get_cast" or "Kv__Store__Impl.get" */
    char *owner;            /* "rpc Get" / "service Store" / "message GetRequest" */
    const char *generator;  /* "genrpc" or "protobuf-c" */
    const cg_service *svc;  /* NULL for messages */
    int line;
} ident;

typedef struct ident_list {
    ident *items;
    size_t n, cap;
} ident_list;

static void
ident_add(ident_list *l, const char *generator, const cg_service *svc, int line,
          const char *owner, const char *prefix, const char *suffix)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 64;
        l->items = realloc(l->items, l->cap * sizeof *l->items);
        if (l->items == NULL)
            cg_die("out of memory");
    }
    cg_strbuf sb = CG_STRBUF_INIT;
    cg_strbuf_printf(&sb, "%s%s", prefix, suffix);
    ident *id = &l->items[l->n++];
    id->name = cg_strbuf_take(&sb);
    id->owner = cg_xstrdup(owner);
    id->generator = generator;
    id->svc = svc;
    id->line = line;
}

static void
ident_list_free(ident_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->items[i].name);
        free(l->items[i].owner);
    }
    free(l->items);
}

static bool
method_has_stubs(const cg_service *s, const cg_method *m)
{
    return !s->opts.internal_module && !m->internal;
}

/* genrpc's own names for one rpc (see emit_header.c / emit_source.c). */
static void
add_genrpc_method(ident_list *l, const cg_service *s, const cg_method *m)
{
    static const char *const stub_suffixes[] = {
        "_call", "_cast", "_async", "_yield", "_nb_yield", "_async_cb", "__thunk",
        "_multicall", "_multicall_free", "_eval_everywhere", "__store",
    };
    cg_strbuf owner = CG_STRBUF_INIT;
    cg_strbuf member = CG_STRBUF_INIT;
    cg_strbuf_printf(&owner, "rpc %s", m->name);
    cg_strbuf_printf(&member, "%s__Impl.", s->c_name);
    ident_add(l, "genrpc", s, m->line, owner.data, member.data, m->member);
    ident_add(l, "genrpc", s, m->line, owner.data, m->lower, "__invoke");
    if (method_has_stubs(s, m)) {
        for (size_t i = 0; i < sizeof stub_suffixes / sizeof stub_suffixes[0]; i++)
            ident_add(l, "genrpc", s, m->line, owner.data, m->lower, stub_suffixes[i]);
        cg_strbuf cb = CG_STRBUF_INIT;
        cg_strbuf_printf(&cb, "%s__%s", s->c_name, m->camel);
        ident_add(l, "genrpc", s, m->line, owner.data, cb.data, "Cb");
        ident_add(l, "genrpc", s, m->line, owner.data, cb.data, "Result");
        cg_strbuf_free(&cb);
    }
    cg_strbuf_free(&member);
    cg_strbuf_free(&owner);
}

static void
add_genrpc_service(ident_list *l, const cg_service *s)
{
    static const char *const upper_suffixes[] = {"__MODULE_NAME", "__VERSION"};
    static const char *const lower_suffixes[] = {"__module", "__register", "__unregister",
                                                 "__functions"};
    cg_strbuf owner = CG_STRBUF_INIT;
    cg_strbuf_printf(&owner, "service %s", s->name);
    for (size_t i = 0; i < 2; i++)
        ident_add(l, "genrpc", s, s->line, owner.data, s->upper, upper_suffixes[i]);
    for (size_t i = 0; i < 4; i++)
        ident_add(l, "genrpc", s, s->line, owner.data, s->lower, lower_suffixes[i]);
    ident_add(l, "genrpc", s, s->line, owner.data, s->c_name, "__Impl");
    for (size_t i = 0; i < s->n_methods; i++)
        add_genrpc_method(l, s, &s->methods[i]);
    cg_strbuf_free(&owner);
}

/* protobuf-c's service code (c_service.cc): a ProtobufCService wrapper
 * with one client function per rpc named <service>__<rpc>. */
static void
add_protobuf_c_service(ident_list *l, const cg_service *s)
{
    cg_strbuf owner = CG_STRBUF_INIT;
    cg_strbuf_printf(&owner, "service %s", s->name);
    ident_add(l, "protobuf-c", s, s->line, owner.data, s->c_name, "_Service");
    ident_add(l, "protobuf-c", s, s->line, owner.data, s->c_name, "_ServiceDestroy");
    ident_add(l, "protobuf-c", s, s->line, owner.data, s->lower, "__init");
    ident_add(l, "protobuf-c", s, s->line, owner.data, s->lower, "__descriptor");
    ident_add(l, "protobuf-c", s, s->line, owner.data, s->lower, "__method_indices_by_name");
    ident_add(l, "protobuf-c", s, s->line, owner.data, s->upper, "__BASE_INIT");
    ident_add(l, "protobuf-c", s, s->line, owner.data, s->upper, "__INIT");
    for (size_t i = 0; i < s->n_methods; i++) {
        const cg_method *m = &s->methods[i];
        cg_strbuf_free(&owner);
        cg_strbuf_printf(&owner, "rpc %s", m->name);
        ident_add(l, "protobuf-c", s, m->line, owner.data, m->lower, "");
    }
    cg_strbuf_free(&owner);
}

/* protobuf-c's names for a message and its nested messages and enums. */
static void
add_protobuf_c_message(ident_list *l, const Google__Protobuf__DescriptorProto *msg,
                       const char *scope)
{
    static const char *const lower_suffixes[] = {
        "__init", "__get_packed_size", "__pack", "__pack_to_buffer", "__unpack",
        "__free_unpacked", "__descriptor",
    };
    cg_strbuf full = CG_STRBUF_INIT, owner = CG_STRBUF_INIT;
    cg_strbuf_printf(&full, "%s%s%s", scope, scope[0] ? "." : "", msg->name);
    cg_strbuf_printf(&owner, "message %s", msg->name);
    char *c_name = cg_full_name_to_c(full.data);
    char *lower = cg_full_name_to_lower(full.data);
    char *upper = cg_full_name_to_upper(full.data);
    ident_add(l, "protobuf-c", NULL, 0, owner.data, c_name, "");
    ident_add(l, "protobuf-c", NULL, 0, owner.data, c_name, "_Closure");
    ident_add(l, "protobuf-c", NULL, 0, owner.data, upper, "__INIT");
    for (size_t i = 0; i < sizeof lower_suffixes / sizeof lower_suffixes[0]; i++)
        ident_add(l, "protobuf-c", NULL, 0, owner.data, lower, lower_suffixes[i]);
    for (size_t i = 0; i < msg->n_nested_type; i++)
        add_protobuf_c_message(l, msg->nested_type[i], full.data);
    free(c_name);
    free(lower);
    free(upper);
    cg_strbuf_free(&owner);
    cg_strbuf_free(&full);
}

/* genrpc's names for a (genrpc.broadcast) message. */
static void
add_genrpc_bcast(ident_list *l, const cg_bcast *b)
{
    static const char *const lower_suffixes[] = {"__register_handler", "__handler_thunk",
                                                 "__abcast", "__sbcast"};
    cg_strbuf owner = CG_STRBUF_INIT;
    cg_strbuf_printf(&owner, "message %s (broadcast)", b->type.full);
    for (size_t i = 0; i < sizeof lower_suffixes / sizeof lower_suffixes[0]; i++)
        ident_add(l, "genrpc", NULL, b->line, owner.data, b->type.lower, lower_suffixes[i]);
    ident_add(l, "genrpc", NULL, b->line, owner.data, b->type.c_name, "_HandlerFn");
    cg_strbuf_free(&owner);
}

static bool
same_pair(const ident *a, const ident *b, const ident *c, const ident *d)
{
    return strcmp(a->owner, c->owner) == 0 && strcmp(b->owner, d->owner) == 0 &&
           a->svc == c->svc && b->svc == d->svc;
}

/* Reports `later` colliding with `first`; `reported` remembers owner
 * pairs already reported, so rpc Get vs rpc get is one error, not ten. */
static int
report_collision(const cg_file *file, const ident *first, const ident *later,
                 ident_list *reported, cg_strbuf *err)
{
    for (size_t i = 0; i + 1 < reported->n; i += 2) {
        if (same_pair(&reported->items[i], &reported->items[i + 1], first, later))
            return 0;
    }
    ident_add(reported, first->generator, first->svc, first->line, first->owner, "", "");
    ident_add(reported, later->generator, later->svc, later->line, later->owner, "", "");
    const ident *where = later->svc ? later : first;
    const char *first_svc = first->svc && first->svc != later->svc ? first->svc->name : NULL;
    cg_diag_prefix(err, file, where->line, where->svc);
    if (strcmp(first->generator, later->generator) == 0)
        cg_strbuf_printf(err, "%s and %s%s%s both generate the C identifier %s (in %s's code)",
                         later->owner, first->owner, first_svc ? " of service " : "",
                         first_svc ? first_svc : "", later->name, later->generator);
    else
        cg_strbuf_printf(err, "%s (in %s's code) and %s%s%s (in %s's code) both generate the "
                              "C identifier %s",
                         later->owner, later->generator, first->owner,
                         first_svc ? " of service " : "", first_svc ? first_svc : "",
                         first->generator, later->name);
    cg_strbuf_puts(err, "; rename one of them\n");
    return 1;
}

static int
check_collisions(const cg_file *file, cg_strbuf *err)
{
    ident_list ids = {0}, reported = {0};
    const cg_file_proto *p = file->proto;
    for (size_t i = 0; i < p->n_message_type; i++)
        add_protobuf_c_message(&ids, p->message_type[i], p->package ? p->package : "");
    for (size_t i = 0; i < file->n_services; i++) {
        add_protobuf_c_service(&ids, &file->services[i]);
        add_genrpc_service(&ids, &file->services[i]);
    }
    for (size_t i = 0; i < file->n_bcasts; i++)
        add_genrpc_bcast(&ids, &file->bcasts[i]);
    int errors = 0;
    /* Quadratic, but a file has at most a few thousand names. */
    for (size_t j = 1; j < ids.n; j++) {
        for (size_t i = 0; i < j; i++) {
            if (strcmp(ids.items[i].name, ids.items[j].name) == 0) {
                errors += report_collision(file, &ids.items[i], &ids.items[j], &reported, err);
                break;
            }
        }
    }
    ident_list_free(&reported);
    ident_list_free(&ids);
    return errors;
}

static int
check_version(const cg_file *file, const cg_service *s, cg_strbuf *err)
{
    if (s->opts.has_version && s->opts.version >= 1 && s->opts.version < UINT32_MAX)
        return 0;
    cg_diag_prefix(err, file, s->line, s);
    if (!s->opts.has_version)
        cg_strbuf_printf(err, "missing option (genrpc.version); add "
                              "`option (genrpc.version) = 1;` to the service\n");
    else if (s->opts.version == UINT32_MAX)
        cg_strbuf_printf(err, "option (genrpc.version) is 4294967295, which is "
                              "GENRPC_ANY_VERSION (any version) in calls; use a lower one\n");
    else
        cg_strbuf_printf(err, "option (genrpc.version) is 0; versions start at 1\n");
    return 1;
}

static int
check_module_name(const cg_file *file, const cg_service *s, cg_strbuf *err)
{
    if (!s->opts.has_module)
        return 0;
    if (s->opts.module_len == 0) {
        cg_diag_prefix(err, file, s->module_line, s);
        cg_strbuf_printf(err, "option (genrpc.module) is empty; remove it to use the "
                              "default \"%s\", or give a name\n", s->full_name);
        return 1;
    }
    for (size_t i = 0; i < s->opts.module_len; i++) {
        unsigned char c = (unsigned char)s->opts.module[i];
        if (isalnum(c) || c == '_' || c == '.')
            continue;
        cg_diag_prefix(err, file, s->module_line, s);
        cg_strbuf_printf(err, "option (genrpc.module) contains the character 0x%02x at "
                              "offset %zu; use only letters, digits, '_' and '.'\n", c, i);
        return 1;
    }
    return 0;
}

static int
check_method(const cg_file *file, const cg_service *s, const cg_method *m, cg_strbuf *err)
{
    if (m->client_streaming || m->server_streaming) {
        cg_diag_prefix(err, file, m->line, s);
        cg_strbuf_printf(err, "rpc %s: %s streaming is not supported by genrpc; "
                              "remove `stream` and send a request, get one reply\n",
                         m->name, m->client_streaming ? "client" : "server");
        return 1;
    }
    if (cg_is_c_keyword(m->member)) {
        cg_diag_prefix(err, file, m->line, s);
        cg_strbuf_printf(err, "rpc %s: its C member name `%s` is a C keyword; rename "
                              "the rpc\n", m->name, m->member);
        return 1;
    }
    return 0;
}

/* Two services of one file registering the same module at the same
 * version would make the second registration fail at run time. */
static int
check_module_versions(const cg_file *file, cg_strbuf *err)
{
    int errors = 0;
    for (size_t j = 1; j < file->n_services; j++) {
        const cg_service *b = &file->services[j];
        for (size_t i = 0; i < j; i++) {
            const cg_service *a = &file->services[i];
            if (strcmp(a->module, b->module) != 0 || a->opts.version != b->opts.version)
                continue;
            cg_diag_prefix(err, file, b->line, b);
            cg_strbuf_printf(err, "it is module \"%s\" version %u, like service %s; "
                                  "change one version or (genrpc.module)\n",
                             b->module, b->opts.version, a->name);
            errors++;
            break;
        }
    }
    return errors;
}

static int
check_service(const cg_file *file, const cg_service *s, cg_strbuf *err)
{
    if (!s->opts_ok) {
        cg_diag_prefix(err, file, s->line, s);
        cg_strbuf_printf(err, "%s\n", s->opts_err);
        return 1;
    }
    int errors = check_version(file, s, err) + check_module_name(file, s, err);
    for (size_t i = 0; i < s->n_methods; i++)
        errors += check_method(file, s, &s->methods[i], err);
    return errors;
}

int
cg_file_check(const cg_file *file, cg_strbuf *err)
{
    int errors = 0;
    for (size_t i = 0; i < file->n_services; i++)
        errors += check_service(file, &file->services[i], err);
    if (errors == 0)
        errors += check_module_versions(file, err);
    return errors + check_collisions(file, err);
}
