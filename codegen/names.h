/*
 * names.h - C names, mangled exactly as protobuf-c's protoc-c does
 * (protoc-c/c_helpers.cc), so that generated genrpc names sit next to
 * protobuf-c's and users can guess them:
 *
 *   package kv; message GetRequest; service Store; rpc GetValue
 *     cg_full_name_to_c("kv.GetRequest")     -> "Kv__GetRequest"
 *     cg_full_name_to_lower("kv.GetRequest") -> "kv__get_request"
 *     cg_full_name_to_upper("kv.Store")      -> "KV__STORE"
 *     cg_camel_to_lower("GetValue")          -> "get_value"
 *
 * Every function returns a new string the caller frees.
 */
#ifndef CG_NAMES_H
#define CG_NAMES_H

#include <stdbool.h>

/* "GetValue" -> "get_value"; a run of capitals stays one word: "HTTPGet" -> "httpget". */
char *cg_camel_to_lower(const char *name);

/* "GetValue" -> "GET_VALUE". */
char *cg_camel_to_upper(const char *name);

/* "get_value" -> "GetValue": capitalises the first letter and each letter after '_'. */
char *cg_to_camel(const char *name);

/* Each dot-separated piece through the function above, joined with "__". */
char *cg_full_name_to_lower(const char *full_name);
char *cg_full_name_to_upper(const char *full_name);
char *cg_full_name_to_c(const char *full_name);

/* "dir/kv.proto" -> "dir/kv" (also strips ".protodevel", like protoc-c). */
char *cg_strip_proto(const char *filename);

/* "dir/kv.proto" -> "dir_2fkv_2eproto": what protoc-c uses in include guards. */
char *cg_filename_identifier(const char *filename);

/* true if `word` is a C11 keyword (a struct member with that name is not C). */
bool cg_is_c_keyword(const char *word);

#endif /* CG_NAMES_H */
