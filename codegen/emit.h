/*
 * emit.h - printing <file>.genrpc.h and <file>.genrpc.c from the model.
 */
#ifndef CG_EMIT_H
#define CG_EMIT_H

#include <stdbool.h>
#include <stddef.h>

#include "model.h"
#include "strbuf.h"

/* Plugin parameters (--genrpc_opt=client=false,server=true). */
/* Most directories a .options file is looked for in (nanopb_options_dir). */
#define CG_OPTIONS_DIRS_MAX 16

typedef struct cg_params {
    bool client; /* client stubs; default true */
    bool server; /* Impl struct, register/unregister, handler thunks; default true */
    bool embedded; /* embedded mode: nanopb stubs only (<file>.genrpc_emb.{h,c}) */
    size_t n_options_dirs; /* embedded: where <file>.options is looked for */
    const char *options_dirs[CG_OPTIONS_DIRS_MAX];
} cg_params;

#define CG_PARAMS_INIT {true, true, false, 0, {NULL}}

/* The text of <file>.genrpc.h / <file>.genrpc.c. The caller frees it.
 * Only call these on a file that passed cg_file_check. */
char *cg_emit_header(const cg_file *file, const cg_params *params);
char *cg_emit_source(const cg_file *file, const cg_params *params);

/* Embedded mode's <file>.genrpc_emb.h / .c (emit_embedded.c); only for a
 * file that also passed cg_nanopb_check. */
char *cg_emit_embedded_header(const cg_file *file);
char *cg_emit_embedded_source(const cg_file *file);

/* Appends the file's serialized FileDescriptorProto and those of its
 * imports (transitively, imports first) as static arrays, and a
 * `static const genrpc_proto_file genrpc_gen__proto_files[]` listing them
 * (emit_descriptors.c). Returns how many files it lists. */
size_t cg_emit_proto_files(cg_strbuf *sb, const cg_file *file);

/* true when rpc `m` of `s` gets client stubs (it can be called remotely). */
bool cg_method_is_remote(const cg_service *s, const cg_method *m);

/* Appends `head` + `name` + "(" + params joined by ", " + ")" + `tail`,
 * wrapping at CG_LINE_MAX columns with continuation lines aligned under
 * the first parameter. `head` may end in a newline (definitions put the
 * function name in column 0). */
#define CG_LINE_MAX 100
void cg_emit_signature(cg_strbuf *sb, const char *head, const char *name,
                       const char *const *params, size_t n_params, const char *tail);

/* Appends `text` as a C comment, word-wrapped at CG_LINE_MAX columns,
 * each line starting with `indent`. */
void cg_emit_comment(cg_strbuf *sb, const char *indent, const char *text);

#endif /* CG_EMIT_H */
