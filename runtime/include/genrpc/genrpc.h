/*
 * genrpc/genrpc.h - the umbrella header: include this one.
 *
 *   genrpc/error.h   error codes, classes and texts
 *   genrpc/call.h    targets, call/cast/async call, promises
 *   genrpc/module.h  generated dispatch tables, handler context, registration
 *   genrpc/node.h    node configuration, start/stop, introspection
 *   genrpc/multi.h   connected nodes, multicall, eval everywhere
 *   genrpc/broadcast.h named handlers, abcast, sbcast
 *   genrpc/stats.h   statistics: counters and latencies as a tree
 *   genrpc/export.h  GENRPC_API, the export mark of public functions
 */
#ifndef GENRPC_GENRPC_H
#define GENRPC_GENRPC_H

#include "genrpc/error.h"
#include "genrpc/call.h"
#include "genrpc/module.h"
#include "genrpc/node.h"
#include "genrpc/multi.h"
#include "genrpc/broadcast.h"
#include "genrpc/stats.h"

#define GENRPC_VERSION_MAJOR 0
#define GENRPC_VERSION_MINOR 1
#define GENRPC_VERSION_PATCH 0
#define GENRPC_VERSION_STRING "0.1.0"

#endif /* GENRPC_GENRPC_H */
