// The ABI policy of docs/install.md, "ABI", checked: the public structs that
// callers allocate keep their size and the offsets of their fields within
// SONAME libgenrpc.so.1, and their reserved room is zero when initialised.
// Sizes are pinned for LP64 Linux (x86_64, aarch64), where the packages are
// built; a change here is an ABI change (see the policy before editing).
#include <gtest/gtest.h>

#include <cstddef>
#include <cstring>

#include "genrpc/genrpc.h"
#ifdef GENRPC_HAVE_CLUSTER
#include "genrpc/cluster.h"
#endif

namespace {

bool AllZero(const void *p, size_t n) {
  const unsigned char *b = static_cast<const unsigned char *>(p);
  for (size_t i = 0; i < n; i++)
    if (b[i]) return false;
  return true;
}

TEST(Abi, NodeConfigInitZeroesReservedAndMatchesTheMacro) {
  genrpc_node_config init;
  std::memset(&init, 0xa5, sizeof init);
  genrpc_node_config_init(&init);
  EXPECT_TRUE(AllZero(init.reserved, sizeof init.reserved));
  genrpc_node_config macro = GENRPC_NODE_CONFIG_INIT;
  EXPECT_TRUE(AllZero(macro.reserved, sizeof macro.reserved));
  // Every named field: the same defaults both ways.
  EXPECT_EQ(init.tcp_server_port, macro.tcp_server_port);
  EXPECT_EQ(init.max_frame_size, macro.max_frame_size);
  EXPECT_EQ(init.tls_verify_depth, macro.tls_verify_depth);
  EXPECT_EQ(init.log_level, macro.log_level);
  EXPECT_EQ(init.tls_ciphers, macro.tls_ciphers);
  EXPECT_EQ(init.builtins_off, 0u);  // every built-in module on by default
  EXPECT_EQ(macro.builtins_off, 0u);
  EXPECT_EQ(macro.compression, GENRPC_COMPRESSION_OFF);
  EXPECT_EQ(init.compression, GENRPC_COMPRESSION_OFF);
}

// Values callers compile in: the builtins_off bits, and the statistics'
// types and units (genrpc/stats.h; the same numbers as idl/genrpc/stats.proto).
TEST(Abi, ConstantsOfSoname1) {
  EXPECT_EQ(GENRPC_BUILTIN_REFLECTION, 0x1u);
  EXPECT_EQ(GENRPC_BUILTIN_HEALTH, 0x2u);
  EXPECT_EQ(GENRPC_BUILTIN_STATS, 0x4u);
  EXPECT_EQ(GENRPC_STAT_SCOPE, 0);
  EXPECT_EQ(GENRPC_STAT_COUNTER, 1);
  EXPECT_EQ(GENRPC_STAT_LEVEL, 2);
  EXPECT_EQ(GENRPC_STAT_STRING, 3);
  EXPECT_EQ(GENRPC_STAT_UNIT_NONE, 0);
  EXPECT_EQ(GENRPC_STAT_UNIT_BYTES, 1);
  EXPECT_EQ(GENRPC_STAT_UNIT_MESSAGES, 2);
  EXPECT_EQ(GENRPC_STAT_UNIT_NANOS, 3);
  EXPECT_EQ(GENRPC_STAT_UNIT_EVENTS, 4);
}

TEST(Abi, CallOptsInitIsAllZero) {
  genrpc_call_opts o = GENRPC_CALL_OPTS_INIT;
  EXPECT_TRUE(AllZero(&o, sizeof o));
}

TEST(Abi, ReservedRoomIsLast) {
  EXPECT_EQ(offsetof(genrpc_call_opts, reserved) + sizeof(genrpc_call_opts::reserved),
            sizeof(genrpc_call_opts));
  EXPECT_EQ(offsetof(genrpc_node_config, reserved) + sizeof(genrpc_node_config::reserved),
            sizeof(genrpc_node_config));
  EXPECT_EQ(offsetof(genrpc_node_info, reserved) + sizeof(genrpc_node_info::reserved),
            sizeof(genrpc_node_info));
}

#if defined(__linux__) && defined(__LP64__)
TEST(Abi, SizesAndOffsetsOfSoname1) {
  // genrpc_node_config: a new field goes just before `reserved`, which
  // shrinks by as much, so both numbers below stay.
  EXPECT_EQ(sizeof(genrpc_node_config), 392u);
  EXPECT_EQ(offsetof(genrpc_node_config, tls_ciphers), 256u);
  EXPECT_EQ(offsetof(genrpc_node_config, builtins_off), 264u);  // from reserved
  EXPECT_EQ(offsetof(genrpc_node_config, reserved) + sizeof(genrpc_node_config::reserved), 392u);
  EXPECT_EQ(sizeof(genrpc_node_info), 136u);
  EXPECT_EQ(offsetof(genrpc_node_info, broadcasts_dropped), 64u);
  EXPECT_EQ(offsetof(genrpc_node_config, max_protocol_version), 268u);
  EXPECT_EQ(offsetof(genrpc_node_config, compression), 272u);  // from reserved
  EXPECT_EQ(offsetof(genrpc_node_config, compression_min_bytes), 276u);
  EXPECT_EQ(offsetof(genrpc_node_info, retried_calls), 88u);
  // genrpc_call_opts grows into its reserved room the same way (SONAME 1).
  EXPECT_EQ(sizeof(genrpc_call_opts), 64u);
  EXPECT_EQ(offsetof(genrpc_call_opts, cancel), 16u);
  EXPECT_EQ(offsetof(genrpc_call_opts, headers), 24u);  // from reserved
  EXPECT_EQ(offsetof(genrpc_call_opts, trailers), 32u);
  // Frozen within SONAME 1 (passed by value, in arrays, or filled by the
  // library): changing one needs libgenrpc.so.2.
  EXPECT_EQ(sizeof(genrpc_status), 8u + GENRPC_MESSAGE_MAX);
  EXPECT_EQ(sizeof(genrpc_target), 24u);
  EXPECT_EQ(sizeof(genrpc_node_addr), 16u);
}

TEST(Abi, GeneratedModuleDescriptorsOfSoname1) {
  // Generated code allocates these (libgenrpc.so.1 added the descriptors
  // reflection serves); new fields take their place from `reserved`.
  EXPECT_EQ(offsetof(genrpc_module_desc, functions), 24u);
  EXPECT_EQ(offsetof(genrpc_module_desc, service), 32u);
  EXPECT_EQ(offsetof(genrpc_module_desc, n_proto_files), 40u);
  EXPECT_EQ(offsetof(genrpc_module_desc, proto_files), 48u);
  EXPECT_EQ(offsetof(genrpc_module_desc, reserved) + sizeof(genrpc_module_desc::reserved),
            sizeof(genrpc_module_desc));
  EXPECT_EQ(sizeof(genrpc_module_desc), 88u);
  EXPECT_EQ(sizeof(genrpc_proto_file), 24u);
}
#ifdef GENRPC_HAVE_CLUSTER
// genrpc/cluster.h (new in libgenrpc.so.1): the config grows into its
// reserved room; a member is filled by the library (frozen).
TEST(Abi, ClusterStructs) {
  EXPECT_EQ(sizeof(genrpc_cluster_config), 192u);
  EXPECT_EQ(offsetof(genrpc_cluster_config, observe_only), 120u);
  EXPECT_EQ(offsetof(genrpc_cluster_config, reserved) + sizeof(genrpc_cluster_config::reserved),
            sizeof(genrpc_cluster_config));
  EXPECT_EQ(sizeof(genrpc_cluster_member), 24u);
  genrpc_cluster_config macro = GENRPC_CLUSTER_CONFIG_INIT;  // every default is a zero
  EXPECT_TRUE(AllZero(macro.reserved, sizeof macro.reserved));
  EXPECT_EQ(macro.endpoints, nullptr);
  EXPECT_EQ(macro.lease_ttl_s, 0);
  EXPECT_EQ(macro.join_timeout_ms, 0);
  EXPECT_FALSE(macro.observe_only);
}
#endif
#endif

}  // namespace
