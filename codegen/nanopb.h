/*
 * nanopb.h - embedded mode's view of nanopb's field options.
 *
 * The embedded client allocates nothing, so every string, bytes and
 * repeated field of a request or reply (and of the messages inside them)
 * must be a static array in nanopb's struct: it needs a size in the
 * proto's nanopb `.options` file (`test.PingRequest.text max_size:64`).
 * Without one nanopb silently makes a callback field and the stubs could
 * not be used as generated; so embedded mode reads the same `.options`
 * file nanopb reads and refuses, with a message naming the field and the
 * line to add, before any C is written.
 */
#ifndef CG_NANOPB_H
#define CG_NANOPB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model.h"
#include "strbuf.h"

/* nanopb's FieldType values (nanopb.proto). */
enum { CG_FT_DEFAULT = 0, CG_FT_CALLBACK = 1, CG_FT_STATIC = 2, CG_FT_IGNORE = 3,
       CG_FT_POINTER = 4, CG_FT_INLINE = 5 };

/* One line of a .options file: a name mask (fnmatch) and the options it
 * sets (-1: not set). */
typedef struct cg_nanopb_rule {
    char *mask;
    int line;
    int64_t max_size, max_length, max_count;
    int type;         /* CG_FT_*, -1 if not set */
    int fixed_length; /* 0/1, -1 if not set */
} cg_nanopb_rule;

typedef struct cg_nanopb_file {
    char *path; /* the .options file read, NULL if none was found */
    bool failed; /* it could not be read or parsed (already reported) */
    size_t n_rules;
    cg_nanopb_rule *rules;
} cg_nanopb_file;

/* Parses the text of a .options file (`path` is for messages). Returns 0,
 * or -1 with "path:line: ..." in err. Free with cg_nanopb_free. */
int cg_nanopb_parse(const char *path, const char *text, cg_nanopb_file *out, cg_strbuf *err);

/* Finds <proto base>.options ("dir/kv.proto" -> "dir/kv.options") under
 * each of dirs[0..n), then under the current directory, and parses the
 * first found; no file is not an error (out->path stays NULL). Returns 0,
 * or -1 with a message in err. */
int cg_nanopb_load(const char *proto_name, const char *const *dirs, size_t n_dirs,
                   cg_nanopb_file *out, cg_strbuf *err);

void cg_nanopb_free(cg_nanopb_file *f);

/* Checks every request and reply type of `file`'s remote rpcs, and the
 * message types inside them, for fields the embedded stubs cannot use.
 * Returns 0, or -1 with one message per bad field in err. */
int cg_nanopb_check(const cg_request *req, const cg_file *file, const char *const *dirs,
                    size_t n_dirs, cg_strbuf *err);

/* nanopb's C name of message `full` ("kv.GetRequest" -> "kv_GetRequest"). */
char *cg_nanopb_c_name(const char *full);

#endif /* CG_NANOPB_H */
