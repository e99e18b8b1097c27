/*
 * nanopb.c - reading nanopb `.options` files and checking, for embedded
 * mode, that every field of the messages the stubs send and receive is
 * statically sized (see nanopb.h).
 */
#include "nanopb.h"

#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emit.h"
#include "names.h"
#include "options.h"

typedef Google__Protobuf__DescriptorProto cg_msg;
typedef Google__Protobuf__FieldDescriptorProto cg_field;

#define OPTIONS_MAX (1024 * 1024) /* a larger .options file is refused */
#define NEST_MAX 32               /* message-in-message depth checked */

/* ---- parsing ---------------------------------------------------------------- */

/* Blanks comments (C, C++ and '#' style) in place, keeping newlines so
 * line numbers stay right. */
static void
strip_comments(char *s)
{
    for (char *p = s; *p; p++) {
        if (p[0] == '/' && p[1] == '*') {
            for (; *p && !(p[0] == '*' && p[1] == '/'); p++)
                if (*p != '\n')
                    *p = ' ';
            if (*p) {
                p[0] = p[1] = ' ';
                p++;
            } else {
                return;
            }
        } else if ((p[0] == '/' && p[1] == '/') || p[0] == '#') {
            for (; *p && *p != '\n'; p++)
                *p = ' ';
            if (!*p)
                return;
        }
    }
}

static int
parse_int(const char *v, int64_t *out)
{
    char *end;
    errno = 0;
    long long n = strtoll(v, &end, 0);
    if (errno != 0 || end == v || *end != '\0' || n < 0 || n > 0x7FFFFFFF)
        return -1;
    *out = n;
    return 0;
}

static int
parse_type(const char *v)
{
    static const char *const names[] = {"FT_DEFAULT", "FT_CALLBACK", "FT_STATIC",
                                        "FT_IGNORE",  "FT_POINTER",  "FT_INLINE"};
    for (int i = 0; i < 6; i++)
        if (strcmp(v, names[i]) == 0)
            return i;
    return -1;
}

/* One "key:value" of a rule. Options genrpc does not look at are kept by
 * nanopb and ignored here. */
static int
apply_option(cg_nanopb_rule *r, const char *key, const char *value, const char **why)
{
    int64_t n;
    int64_t *slot = strcmp(key, "max_size") == 0     ? &r->max_size
                    : strcmp(key, "max_length") == 0 ? &r->max_length
                    : strcmp(key, "max_count") == 0  ? &r->max_count
                                                     : NULL;
    if (slot != NULL) {
        if (parse_int(value, &n) != 0) {
            *why = "must be an integer from 0 to 2147483647";
            return -1;
        }
        *slot = n;
    } else if (strcmp(key, "type") == 0) {
        if ((r->type = parse_type(value)) < 0) {
            *why = "must be one of FT_DEFAULT, FT_CALLBACK, FT_STATIC, FT_IGNORE, FT_POINTER";
            return -1;
        }
    } else if (strcmp(key, "fixed_length") == 0) {
        if (strcmp(value, "true") != 0 && strcmp(value, "false") != 0) {
            *why = "must be true or false";
            return -1;
        }
        r->fixed_length = value[0] == 't';
    }
    return 0;
}

/* The options after a rule's mask: "key:value key: value ...". */
static int
parse_options(char *s, cg_nanopb_rule *r, const char *path, cg_strbuf *err)
{
    while (*s) {
        while (isspace((unsigned char)*s))
            s++;
        if (!*s)
            break;
        char *key = s;
        while (isalnum((unsigned char)*s) || *s == '_')
            s++;
        char *key_end = s;
        while (isspace((unsigned char)*s))
            s++;
        if (key_end == key || *s != ':') {
            cg_strbuf_printf(err, "%s:%d: expected option:value after \"%s\", at \"%s\"\n", path,
                             r->line, r->mask, key);
            return -1;
        }
        *key_end = '\0';
        s++;
        while (isspace((unsigned char)*s) && *s != '\n')
            s++;
        char *value = s;
        if (*s == '"') {
            for (s++; *s && *s != '"'; s++)
                ;
            if (*s)
                s++;
        } else {
            while (*s && !isspace((unsigned char)*s))
                s++;
        }
        if (s == value) {
            cg_strbuf_printf(err, "%s:%d: option %s has no value\n", path, r->line, key);
            return -1;
        }
        char saved = *s;
        *s = '\0';
        const char *why = NULL;
        if (apply_option(r, key, value, &why) != 0) {
            cg_strbuf_printf(err, "%s:%d: option %s:%s %s\n", path, r->line, key, value, why);
            return -1;
        }
        *s = saved;
    }
    return 0;
}

int
cg_nanopb_parse(const char *path, const char *text, cg_nanopb_file *out, cg_strbuf *err)
{
    char *copy = cg_xstrdup(text);
    int rc = 0, line = 1;
    memset(out, 0, sizeof *out);
    strip_comments(copy);
    for (char *s = copy; *s && rc == 0; line++) {
        char *eol = strchr(s, '\n');
        char *next = eol ? eol + 1 : s + strlen(s);
        if (eol)
            *eol = '\0';
        while (isspace((unsigned char)*s))
            s++;
        if (*s) {
            char *mask = s;
            while (*s && !isspace((unsigned char)*s))
                s++;
            if (!*s) {
                cg_strbuf_printf(err, "%s:%d: \"%s\" has no options (a line is: <field name "
                                 "or pattern> <option>:<value> ...)\n", path, line, mask);
                rc = -1;
                break;
            }
            *s++ = '\0';
            out->rules = realloc(out->rules, (out->n_rules + 1) * sizeof *out->rules);
            if (out->rules == NULL)
                cg_die("out of memory");
            cg_nanopb_rule *r = &out->rules[out->n_rules++];
            *r = (cg_nanopb_rule){cg_xstrdup(mask), line, -1, -1, -1, -1, -1};
            rc = parse_options(s, r, path, err);
        }
        s = next;
    }
    free(copy);
    return rc;
}

int
cg_nanopb_load(const char *proto_name, const char *const *dirs, size_t n_dirs,
               cg_nanopb_file *out, cg_strbuf *err)
{
    char *base = cg_strip_proto(proto_name);
    int rc = 0;
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i <= n_dirs && out->path == NULL; i++) {
        char *path = cg_fmt("%s/%s.options", i < n_dirs ? dirs[i] : ".", base);
        FILE *f = fopen(path, "rb");
        if (f == NULL) {
            free(path);
            continue;
        }
        char *text = cg_xmalloc(OPTIONS_MAX + 1);
        size_t n = fread(text, 1, OPTIONS_MAX + 1, f);
        fclose(f);
        text[n <= OPTIONS_MAX ? n : OPTIONS_MAX] = '\0';
        if (n > OPTIONS_MAX) {
            cg_strbuf_printf(err, "%s: larger than %d bytes\n", path, OPTIONS_MAX);
            rc = -1;
        } else if (memchr(text, '\0', n) != NULL) {
            cg_strbuf_printf(err, "%s: not a text file\n", path);
            rc = -1;
        } else {
            rc = cg_nanopb_parse(path, text, out, err);
        }
        free(text);
        if (rc != 0) {
            free(path);
            cg_nanopb_free(out);
            break;
        }
        out->path = path;
    }
    free(base);
    return rc;
}

void
cg_nanopb_free(cg_nanopb_file *f)
{
    for (size_t i = 0; i < f->n_rules; i++)
        free(f->rules[i].mask);
    free(f->rules);
    free(f->path);
    memset(f, 0, sizeof *f);
}

char *
cg_nanopb_c_name(const char *full)
{
    char *s = cg_xstrdup(full);
    for (char *p = s; *p; p++)
        if (*p == '.')
            *p = '_';
    return s;
}

/* ---- checking ---------------------------------------------------------------- */

/* Options of every .options file met so far, by proto file name. */
typedef struct checker {
    const cg_request *req;
    const char *const *dirs;
    size_t n_dirs;
    size_t n_files;
    const char **names;
    cg_nanopb_file *files;
    const char *stack[NEST_MAX]; /* messages being checked, for cycles */
    size_t depth;
    size_t n_done;
    char **done; /* messages already checked */
    int errors;
    cg_strbuf *err;
} checker;

static const cg_nanopb_file *
options_of(checker *ck, const char *proto_name)
{
    for (size_t i = 0; i < ck->n_files; i++)
        if (strcmp(ck->names[i], proto_name) == 0)
            return &ck->files[i];
    ck->names = realloc(ck->names, (ck->n_files + 1) * sizeof *ck->names);
    ck->files = realloc(ck->files, (ck->n_files + 1) * sizeof *ck->files);
    if (ck->names == NULL || ck->files == NULL)
        cg_die("out of memory");
    ck->names[ck->n_files] = proto_name;
    if (cg_nanopb_load(proto_name, ck->dirs, ck->n_dirs, &ck->files[ck->n_files], ck->err) != 0) {
        ck->errors++;
        ck->files[ck->n_files].failed = true;
    }
    return &ck->files[ck->n_files++];
}

/* nanopb merges the lines matching the file, then the message, then the
 * field; a later value wins. */
static cg_nanopb_rule
effective(const cg_nanopb_file *f, const char *file, const char *msg, const char *field)
{
    cg_nanopb_rule e = {NULL, 0, -1, -1, -1, -1, -1};
    const char *levels[3] = {file, msg, field};
    for (int l = 0; l < 3; l++) {
        for (size_t i = 0; i < f->n_rules; i++) {
            const cg_nanopb_rule *r = &f->rules[i];
            if (fnmatch(r->mask, levels[l], 0) != 0)
                continue;
            if (r->max_size >= 0)
                e.max_size = r->max_size;
            if (r->max_length >= 0)
                e.max_length = r->max_length;
            if (r->max_count >= 0)
                e.max_count = r->max_count;
            if (r->type >= 0)
                e.type = r->type;
            if (r->fixed_length >= 0)
                e.fixed_length = r->fixed_length;
        }
    }
    return e;
}

/* The message named `full` and its file, searching nested types too. */
static const cg_msg *
find_in(cg_msg *const *msgs, size_t n, const char *scope, const char *full)
{
    for (size_t i = 0; i < n; i++) {
        char *name = scope[0] ? cg_fmt("%s.%s", scope, msgs[i]->name) : cg_xstrdup(msgs[i]->name);
        const cg_msg *m = strcmp(name, full) == 0 ? msgs[i]
                          : find_in(msgs[i]->nested_type, msgs[i]->n_nested_type, name, full);
        free(name);
        if (m != NULL)
            return m;
    }
    return NULL;
}

static const cg_msg *
find_msg(const cg_request *req, const char *full, const cg_file_proto **file)
{
    for (size_t i = 0; i < req->n_proto_file; i++) {
        const cg_file_proto *f = req->proto_file[i];
        const cg_msg *m = find_in(f->message_type, f->n_message_type,
                                  f->package ? f->package : "", full);
        if (m != NULL) {
            *file = f;
            return m;
        }
    }
    return NULL;
}

static void check_msg(checker *ck, const char *full);

static void
field_error(checker *ck, const cg_nanopb_file *opts, const cg_file_proto *file,
            const char *field_full, const char *what, const char *fix)
{
    if (opts->failed)
        return; /* the .options file's own error says it all */
    char *base = cg_strip_proto(file->name);
    cg_strbuf_printf(ck->err, "%s: embedded mode: field %s %s; add a line \"%s %s\" to %s%s "
                     "(docs/embedded.md, \"Field sizes\")\n",
                     file->name, field_full, what, field_full, fix,
                     opts->path ? opts->path : base, opts->path ? "" : ".options (none found)");
    free(base);
    ck->errors++;
}

/* nanopb's inline field options: [(nanopb).max_size = 16] is the
 * FieldOptions extension 1010, a NanoPBOptions message that protobuf-c
 * keeps as an unknown field. Its fields genrpc checks (nanopb.proto):
 * max_size 1, max_count 2, type 3, max_length 14, fixed_length 15. */
#define NANOPB_FIELD_EXT 1010u

static int
skip_value(const uint8_t *p, size_t left, unsigned wire, size_t *used)
{
    uint64_t n;
    size_t k;
    switch (wire) {
    case 0: k = cg_varint_decode(p, left, &n); *used = k; return k ? 0 : -1;
    case 1: *used = 8; return left >= 8 ? 0 : -1;
    case 5: *used = 4; return left >= 4 ? 0 : -1;
    case 2:
        k = cg_varint_decode(p, left, &n);
        if (k == 0 || n > left - k)
            return -1;
        *used = k + (size_t)n;
        return 0;
    default: return -1;
    }
}

/* Merges one NanoPBOptions message into *e; -1 if malformed. */
static int
merge_inline(const uint8_t *p, size_t len, cg_nanopb_rule *e)
{
    while (len > 0) {
        uint64_t key, v = 0;
        size_t k = cg_varint_decode(p, len, &key), used;
        if (k == 0)
            return -1;
        p += k;
        len -= k;
        unsigned wire = (unsigned)(key & 7);
        uint64_t field = key >> 3;
        if (wire == 0 && cg_varint_decode(p, len, &v) == 0)
            return -1;
        if (skip_value(p, len, wire, &used) != 0)
            return -1;
        if (wire == 0 && v <= 0x7FFFFFFF) {
            if (field == 1)
                e->max_size = (int64_t)v;
            else if (field == 2)
                e->max_count = (int64_t)v;
            else if (field == 3)
                e->type = (int)v;
            else if (field == 14)
                e->max_length = (int64_t)v;
            else if (field == 15)
                e->fixed_length = v != 0;
        }
        p += used;
        len -= used;
    }
    return 0;
}

/* Inline options of `f`, merged after the .options file's (nanopb does the
 * same). Returns -1 if they are malformed. */
static int
inline_options(const cg_field *f, cg_nanopb_rule *e)
{
    const ProtobufCMessage *opts = (const ProtobufCMessage *)f->options;
    for (size_t i = 0; opts != NULL && i < opts->n_unknown_fields; i++) {
        const ProtobufCMessageUnknownField *u = &opts->unknown_fields[i];
        const uint8_t *data;
        size_t len;
        if (u->tag != NANOPB_FIELD_EXT)
            continue;
        if (cg_field_bytes(u, &data, &len) != 0 || merge_inline(data, len, e) != 0)
            return -1;
    }
    return 0;
}

static void
check_field(checker *ck, const cg_file_proto *file, const char *msg_full, const cg_field *f)
{
    const cg_nanopb_file *opts = options_of(ck, file->name);
    char *full = cg_fmt("%s.%s", msg_full, f->name);
    cg_nanopb_rule e = effective(opts, file->name, msg_full, full);
    if (inline_options(f, &e) != 0) {
        cg_strbuf_printf(ck->err, "%s: embedded mode: field %s: its (nanopb) options do not "
                         "decode\n", file->name, full);
        ck->errors++;
        free(full);
        return;
    }
    bool repeated = f->label == GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__LABEL__LABEL_REPEATED;
    int type = f->type;
    if (e.type == CG_FT_IGNORE || e.type == CG_FT_CALLBACK) {
        /* ignored, or callbacks the caller sets on purpose */
    } else if (e.type == CG_FT_POINTER) {
        field_error(ck, opts, file, full, "is type:FT_POINTER, which needs malloc (the embedded "
                    "client allocates nothing)", "type:FT_STATIC max_size:<n>");
    } else if (repeated && e.max_count <= 0) {
        field_error(ck, opts, file, full, "is repeated and has no max_count", "max_count:<n>");
    } else if (type == GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_STRING &&
               e.max_size <= 0 && e.max_length <= 0) {
        field_error(ck, opts, file, full, "is a string without max_size or max_length",
                    "max_size:<n>");
    } else if (type == GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_BYTES &&
               e.max_size <= 0) {
        field_error(ck, opts, file, full, "is bytes without max_size", "max_size:<n>");
    } else if ((type == GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_MESSAGE ||
                type == GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_GROUP) &&
               f->type_name != NULL) {
        const char *sub = f->type_name[0] == '.' ? f->type_name + 1 : f->type_name;
        for (size_t i = 0; i < ck->depth; i++) {
            if (strcmp(ck->stack[i], sub) == 0) {
                field_error(ck, opts, file, full, "makes its message recursive, which nanopb "
                            "cannot allocate statically", "type:FT_CALLBACK");
                free(full);
                return;
            }
        }
        check_msg(ck, sub);
    }
    free(full);
}

static void
check_msg(checker *ck, const char *full)
{
    const cg_file_proto *file = NULL;
    for (size_t i = 0; i < ck->n_done; i++)
        if (strcmp(ck->done[i], full) == 0)
            return;
    const cg_msg *m = find_msg(ck->req, full, &file);
    if (m == NULL || ck->depth >= NEST_MAX)
        return; /* not a message we can see (model.c has reported it) */
    ck->stack[ck->depth++] = full;
    for (size_t i = 0; i < m->n_field; i++)
        check_field(ck, file, full, m->field[i]);
    ck->depth--;
    ck->done = realloc(ck->done, (ck->n_done + 1) * sizeof *ck->done);
    if (ck->done == NULL)
        cg_die("out of memory");
    ck->done[ck->n_done++] = cg_xstrdup(full);
}

int
cg_nanopb_check(const cg_request *req, const cg_file *file, const char *const *dirs,
                size_t n_dirs, cg_strbuf *err)
{
    checker ck;
    memset(&ck, 0, sizeof ck);
    ck.req = req;
    ck.dirs = dirs;
    ck.n_dirs = n_dirs;
    ck.err = err;
    for (size_t i = 0; i < file->n_services; i++) {
        const cg_service *s = &file->services[i];
        for (size_t j = 0; j < s->n_methods; j++) {
            if (!cg_method_is_remote(s, &s->methods[j]))
                continue;
            check_msg(&ck, s->methods[j].input.full);
            check_msg(&ck, s->methods[j].output.full);
        }
    }
    for (size_t i = 0; i < ck.n_files; i++)
        cg_nanopb_free(&ck.files[i]);
    for (size_t i = 0; i < ck.n_done; i++)
        free(ck.done[i]);
    free(ck.files);
    free(ck.names);
    free(ck.done);
    return ck.errors ? -1 : 0;
}
