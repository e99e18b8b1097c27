/*
 * size_probe.c - an object whose symbol sizes are the client's RAM figures
 * (scripts/embedded-size.sh reads them with nm -S; never linked).
 */
#include "genrpc/embedded.h"

genrpc_emb_client genrpc_size_probe_client;
