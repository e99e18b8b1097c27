/* cli_shop.h - module clitest.Shop (tests/proto/cli.proto), served by the
 * nodes tests/cli_test.cc drives with the `genrpc` command. */
#ifndef GENRPC_TEST_CLI_SHOP_H
#define GENRPC_TEST_CLI_SHOP_H

#include "genrpc/genrpc.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Registers clitest.Shop version 2 on `node`. The notes it remembers (casts
 * of Remember) are per process and forgotten by cli_shop_forget. */
int cli_shop_register(genrpc_node *node);
void cli_shop_forget(void);

/* Sets or clears the flag the node's drain sets (struct genrpc_node's
 * `draining`, read by health), until genrpc_node_drain exists to test. */
void cli_shop_set_draining(genrpc_node *node, bool on);

#ifdef __cplusplus
}
#endif
#endif
