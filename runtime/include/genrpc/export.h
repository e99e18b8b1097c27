/*
 * genrpc/export.h - GENRPC_API, the mark of every public function.
 *
 * libgenrpc is compiled with -fvisibility=hidden (runtime/CMakeLists.txt):
 * only declarations marked GENRPC_API are exported from a shared
 * libgenrpc.so, so its internal genrpc__* functions stay out of its dynamic
 * symbol table and cannot clash with, or be called by, other code. The mark
 * is the same for the library and its users and for static and shared
 * builds: on a static library it only matters when the library is linked
 * into a shared object. scripts/check-exports checks both directions.
 *
 * Define GENRPC_API yourself before including genrpc headers to override it.
 */
#ifndef GENRPC_EXPORT_H
#define GENRPC_EXPORT_H

#ifndef GENRPC_API
#if defined(__GNUC__) && __GNUC__ >= 4 /* gcc, clang */
#define GENRPC_API __attribute__((visibility("default")))
#else
#define GENRPC_API
#endif
#endif

#endif /* GENRPC_EXPORT_H */
