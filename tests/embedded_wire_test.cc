// tests/embedded_wire_test.cc - the embedded client's frame codecs
// (runtime/embedded/src/wire.c) against the full runtime's independent ones
// (runtime/src/frame.c, auth.c with OpenSSL): the same bytes both ways, and
// the same handshake proof from the mbedTLS hook as from OpenSSL's HMAC.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

extern "C" {
#include "wire/auth.h"
#include "wire/frame.h"
#include "genrpc/embedded.h"
#include "wire.h"
}

namespace {

std::vector<uint8_t> Nonce(uint8_t seed) {
  std::vector<uint8_t> n(GENRPC__NONCE_LEN);
  for (size_t i = 0; i < n.size(); i++) n[i] = static_cast<uint8_t>(seed + i * 13);
  return n;
}

TEST(EmbeddedWire, HelloIsTheFullRuntimesHello) {
  std::vector<uint8_t> nonce = Nonce(1);
  uint8_t mine[600], theirs[600];
  size_t n = genrpc_emb__put_hello(mine, sizeof mine, nonce.data(), "dev@h", 5, "srv@h", 5);
  genrpc__hello h = {1, 1, nonce.data(), {"dev@h", 5}, {"srv@h", 5}};
  size_t m = genrpc__encode_hello(theirs, sizeof theirs, &h);
  ASSERT_GT(n, 0u);
  ASSERT_EQ(n, m);
  EXPECT_EQ(0, memcmp(mine, theirs, n));
  // and the full runtime's decoder accepts it
  genrpc__hello back;
  ASSERT_TRUE(genrpc__decode_hello(mine + 4, n - 4, &back));
  EXPECT_EQ(back.min_version, 1);
  EXPECT_EQ(back.max_version, 1);
  // too small a buffer: nothing written
  EXPECT_EQ(genrpc_emb__put_hello(mine, n - 1, nonce.data(), "dev@h", 5, "srv@h", 5), 0u);
  EXPECT_EQ(genrpc_emb__put_hello(mine, sizeof mine, nonce.data(), "", 0, "srv@h", 5), 0u);
}

TEST(EmbeddedWire, AuthAndRequestHeaderAreTheFullRuntimes) {
  uint8_t mac[GENRPC__MAC_LEN];
  for (size_t i = 0; i < sizeof mac; i++) mac[i] = static_cast<uint8_t>(0xa0 + i);
  uint8_t mine[128], theirs[128];
  size_t n = genrpc_emb__put_auth(mine, sizeof mine, mac);
  size_t m = genrpc__encode_mac(theirs, sizeof theirs, GENRPC__K_AUTH, mac);
  ASSERT_EQ(n, m);
  EXPECT_EQ(0, memcmp(mine, theirs, n));

  for (uint8_t kind : {uint8_t{GENRPC__K_CALL}, uint8_t{GENRPC__K_CAST}}) {
    n = genrpc_emb__put_request_hdr(mine, sizeof mine, kind, 0x0102030405060708ull, 7,
                                    "test.Test", 9, "Ping", 4, 33);
    genrpc__request_hdr h{};
    h.proto = 1;  // the embedded client speaks version 1
    h.req_id = 0x0102030405060708ull;
    h.version = 7;
    h.module = {"test.Test", 9};
    h.function = {"Ping", 4};
    h.payload_len = 33;
    m = genrpc__encode_request_hdr(theirs, sizeof theirs, static_cast<genrpc__kind>(kind), &h);
    ASSERT_EQ(n, m);
    EXPECT_EQ(0, memcmp(mine, theirs, n));
    EXPECT_EQ(n, static_cast<size_t>(GENRPC_EMB_FRAME_OVERHEAD + 9 + 4));
  }
}

TEST(EmbeddedWire, DecodesWhatTheFullRuntimeEncodes) {
  std::vector<uint8_t> nonce = Nonce(7);
  uint8_t buf[2048];
  genrpc__challenge ch = {1, nonce.data(), {"srv@h", 5}};
  size_t n = genrpc__encode_challenge(buf, sizeof buf, &ch);
  uint8_t version;
  const uint8_t *got_nonce;
  const char *name;
  size_t name_len;
  ASSERT_TRUE(genrpc_emb__get_challenge(buf + 4, n - 4, &version, &got_nonce, &name, &name_len));
  EXPECT_EQ(version, 1);
  EXPECT_EQ(0, memcmp(got_nonce, nonce.data(), GENRPC__NONCE_LEN));
  EXPECT_EQ(std::string(name, name_len), "srv@h");
  EXPECT_FALSE(genrpc_emb__get_challenge(buf + 4, n - 5, &version, &got_nonce, &name, &name_len));

  n = genrpc__encode_reject(buf, sizeof buf, 1, "invalid_cookie");
  uint8_t reason;
  const char *text;
  size_t text_len;
  ASSERT_TRUE(genrpc_emb__get_reject(buf + 4, n - 4, n - 4, &reason, &text, &text_len));
  EXPECT_EQ(reason, 1);
  EXPECT_EQ(std::string(text, text_len), "invalid_cookie");
  // a truncated view: the text is cut, the frame still understood
  ASSERT_TRUE(genrpc_emb__get_reject(buf + 4, 8, n - 4, &reason, &text, &text_len));
  EXPECT_EQ(std::string(text, text_len), "inval");

  std::string msg(1000, 'm');
  genrpc__error_body e = {1, 42, GENRPC_E_HANDLER, -7, {msg.data(), msg.size()}, 0, {}};
  n = genrpc__encode_error(buf, sizeof buf, &e);
  genrpc_emb__error got;
  ASSERT_TRUE(genrpc_emb__get_error(buf + 4, n - 4, n - 4, &got));
  EXPECT_EQ(got.req_id, 42u);
  EXPECT_EQ(got.err, GENRPC_E_HANDLER);
  EXPECT_EQ(got.handler_code, -7);
  EXPECT_EQ(std::string(got.msg, got.msg_len), msg);
  ASSERT_TRUE(genrpc_emb__get_error(buf + 4, 100, n - 4, &got));
  EXPECT_EQ(got.msg_len, 100u - 17u);
  EXPECT_FALSE(genrpc_emb__get_error(buf + 4, n - 4, n - 5, &got));  // length mismatch

  genrpc__reply_body r = {1, 99, 0, {}, nullptr, 5};
  n = genrpc__encode_reply_hdr(buf, sizeof buf, &r);
  memcpy(buf + n, "hello", 5);
  uint64_t id;
  const uint8_t *payload;
  size_t payload_len;
  ASSERT_TRUE(genrpc_emb__get_reply(buf + 4, n - 4 + 5, &id, &payload, &payload_len));
  EXPECT_EQ(id, 99u);
  EXPECT_EQ(std::string(reinterpret_cast<const char *>(payload), payload_len), "hello");
  EXPECT_EQ(n, static_cast<size_t>(GENRPC_EMB_REPLY_OVERHEAD));
}

TEST(EmbeddedWire, ProofsFromTheMbedtlsHookEqualOpenSSLs) {
  std::vector<uint8_t> cn = Nonce(3), sn = Nonce(90);
  for (const std::string &cookie :
       {std::string("genrpc-test-cookie"), std::string(64, 'k'), std::string(200, 'z')}) {
    for (uint8_t role : {uint8_t{'C'}, uint8_t{'S'}}) {
      uint8_t msg[700], mine[32], theirs[32];
      size_t n = genrpc_emb__put_transcript(msg, sizeof msg, role, cn.data(), sn.data(),
                                            "device@h", 8, "server@h", 8);
      ASSERT_GT(n, 0u);
      ASSERT_EQ(genrpc_emb_hmac_sha256_mbedtls(nullptr,
                                               reinterpret_cast<const uint8_t *>(cookie.data()),
                                               cookie.size(), msg, n, mine),
                0);
      ASSERT_TRUE(genrpc__auth_mac(cookie.data(), cookie.size(),
                                   static_cast<genrpc__auth_role>(role), cn.data(), sn.data(),
                                   "device@h", 8, "server@h", 8, theirs));
      EXPECT_EQ(0, memcmp(mine, theirs, 32)) << "cookie length " << cookie.size();
    }
  }
}

}  // namespace
