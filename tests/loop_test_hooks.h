/* loop_test_hooks.h - white-box hooks for loop_test.cc (see the .c). */
#ifndef GENRPC_LOOP_TEST_HOOKS_H
#define GENRPC_LOOP_TEST_HOOKS_H

#include <stdbool.h>

#include "genrpc/genrpc.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The client connection to target (made if need be) refuses (closed) or
 * takes again (!closed) new calls: its pending table is closed, as the loop
 * leaves an idle client's table just before closing it. */
int genrpc_test_set_pending_closed(genrpc_node *node, genrpc_target target, bool closed);

#ifdef __cplusplus
}
#endif

#endif
