/*
 * check.h - the IDL mistakes the generator refuses, each reported as
 * "file.proto:LINE: service Store: what is wrong; what to change", so that
 * a bad .proto never turns into C that does not compile.
 */
#ifndef CG_CHECK_H
#define CG_CHECK_H

#include "model.h"
#include "strbuf.h"

/* Appends one line per mistake found in `file` to `err` and returns how
 * many it found (0: the file can be generated). Generated names are also
 * checked against the ones protobuf-c generates for the same file. */
int cg_file_check(const cg_file *file, cg_strbuf *err);

#endif /* CG_CHECK_H */
