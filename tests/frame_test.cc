// frame_test - the wire format's encoders and bounds-checked decoders
// (runtime/src/frame.c), including every way a frame can be malformed.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

extern "C" {
#include "wire/frame.h"
}

namespace {

genrpc__str S(const char *z) { return genrpc__str{z, std::strlen(z)}; }

std::vector<uint8_t> Body(const uint8_t *frame, size_t n) {
    EXPECT_GE(n, size_t(GENRPC__LEN_PREFIX));
    size_t body = 0;
    EXPECT_EQ(genrpc__frame_peek(frame, n, &body), 1);
    EXPECT_EQ(body, n - GENRPC__LEN_PREFIX);
    return std::vector<uint8_t>(frame + GENRPC__LEN_PREFIX, frame + n);
}

TEST(FrameTest, HelloRoundTrips) {
    uint8_t nonce[GENRPC__NONCE_LEN];
    for (int i = 0; i < GENRPC__NONCE_LEN; i++) nonce[i] = uint8_t(i);
    genrpc__hello h = {1, 1, nonce, S("a@127.0.0.1"), S("b@127.0.0.1")};
    uint8_t buf[600];
    size_t n = genrpc__encode_hello(buf, sizeof buf, &h);
    ASSERT_GT(n, 0u);
    auto body = Body(buf, n);
    genrpc__hello d;
    ASSERT_TRUE(genrpc__decode_hello(body.data(), body.size(), &d));
    EXPECT_EQ(std::string(d.from.p, d.from.len), "a@127.0.0.1");
    EXPECT_EQ(std::string(d.to.p, d.to.len), "b@127.0.0.1");
    EXPECT_EQ(0, std::memcmp(d.nonce, nonce, GENRPC__NONCE_LEN));
}

TEST(FrameTest, HelloRejectsEveryTruncation) {
    uint8_t nonce[GENRPC__NONCE_LEN] = {0};
    genrpc__hello h = {1, 1, nonce, S("a@h"), S("b@h")};
    uint8_t buf[600];
    size_t n = genrpc__encode_hello(buf, sizeof buf, &h);
    auto body = Body(buf, n);
    genrpc__hello d;
    for (size_t cut = 0; cut < body.size(); cut++)
        EXPECT_FALSE(genrpc__decode_hello(body.data(), cut, &d)) << "cut at " << cut;
    body.push_back(0);  // trailing garbage
    EXPECT_FALSE(genrpc__decode_hello(body.data(), body.size(), &d));
}

TEST(FrameTest, HelloRejectsBadMagicAndVersionRange) {
    uint8_t nonce[GENRPC__NONCE_LEN] = {0};
    genrpc__hello h = {1, 1, nonce, S("a@h"), S("b@h")};
    uint8_t buf[600];
    size_t n = genrpc__encode_hello(buf, sizeof buf, &h);
    auto body = Body(buf, n);
    genrpc__hello d;
    auto bad = body;
    bad[1] ^= 0xff;  // magic
    EXPECT_FALSE(genrpc__decode_hello(bad.data(), bad.size(), &d));
    bad = body;
    bad[5] = 3;  // min_version 3 > max_version 1
    EXPECT_FALSE(genrpc__decode_hello(bad.data(), bad.size(), &d));
}

TEST(FrameTest, NamesLongerThan255AreRefusedByTheEncoder) {
    std::string lng(256, 'x');
    uint8_t nonce[GENRPC__NONCE_LEN] = {0};
    genrpc__hello h = {1, 1, nonce, genrpc__str{lng.data(), lng.size()}, S("b@h")};
    uint8_t buf[1024];
    EXPECT_EQ(genrpc__encode_hello(buf, sizeof buf, &h), 0u);
}

TEST(FrameTest, EncoderRefusesTooSmallBuffer) {
    uint8_t mac[GENRPC__MAC_LEN] = {0};
    uint8_t buf[10];
    EXPECT_EQ(genrpc__encode_mac(buf, sizeof buf, GENRPC__K_AUTH, mac), 0u);
}

TEST(FrameTest, RequestHeaderRoundTripsWithPayload) {
    const char payload[] = "\x0a\x03" "abc";
    genrpc__request_hdr h = {42, 7, S("kv.Store"), S("Get"), nullptr, sizeof payload - 1};
    uint8_t buf[256];
    size_t hdr = genrpc__encode_request_hdr(buf, sizeof buf, GENRPC__K_CALL, &h);
    ASSERT_GT(hdr, 0u);
    std::memcpy(buf + hdr, payload, sizeof payload - 1);
    auto body = Body(buf, hdr + sizeof payload - 1);
    genrpc__request_hdr d;
    ASSERT_TRUE(genrpc__decode_request(body.data(), body.size(), &d));
    EXPECT_EQ(d.req_id, 42u);
    EXPECT_EQ(d.version, 7u);
    EXPECT_EQ(std::string(d.module.p, d.module.len), "kv.Store");
    EXPECT_EQ(std::string(d.function.p, d.function.len), "Get");
    ASSERT_EQ(d.payload_len, sizeof payload - 1);
    EXPECT_EQ(0, std::memcmp(d.payload, payload, d.payload_len));
}

TEST(FrameTest, RequestRejectsEmptyNamesWrongKindAndTruncation) {
    genrpc__request_hdr h = {1, 0, S("m"), S("f"), nullptr, 0};
    uint8_t buf[64];
    size_t n = genrpc__encode_request_hdr(buf, sizeof buf, GENRPC__K_CAST, &h);
    auto body = Body(buf, n);
    genrpc__request_hdr d;
    ASSERT_TRUE(genrpc__decode_request(body.data(), body.size(), &d));
    for (size_t cut = 0; cut < body.size(); cut++)
        EXPECT_FALSE(genrpc__decode_request(body.data(), cut, &d)) << "cut at " << cut;
    auto bad = body;
    bad[0] = GENRPC__K_REPLY;
    EXPECT_FALSE(genrpc__decode_request(bad.data(), bad.size(), &d));
    bad = body;
    bad[13] = 0;  // module length 0
    EXPECT_FALSE(genrpc__decode_request(bad.data(), bad.size(), &d));
}

TEST(FrameTest, BroadcastHeaderRoundTripsForBothKinds) {
    const char payload[] = "\x0a\x02" "hi";
    for (genrpc__kind kind : {GENRPC__K_ABCAST, GENRPC__K_SBCAST}) {
        genrpc__bcast_hdr h = {99, S("test_process_123"), S("test.Note"), nullptr,
                               sizeof payload - 1};
        uint8_t buf[256];
        size_t hdr = genrpc__encode_bcast_hdr(buf, sizeof buf, kind, &h);
        ASSERT_EQ(hdr, GENRPC__LEN_PREFIX + genrpc__bcast_hdr_size(16, 9));
        std::memcpy(buf + hdr, payload, sizeof payload - 1);
        auto body = Body(buf, hdr + sizeof payload - 1);
        EXPECT_EQ(body[0], uint8_t(kind));
        genrpc__bcast_hdr d;
        ASSERT_TRUE(genrpc__decode_bcast(body.data(), body.size(), &d));
        EXPECT_EQ(d.req_id, 99u);
        EXPECT_EQ(std::string(d.name.p, d.name.len), "test_process_123");
        EXPECT_EQ(std::string(d.type.p, d.type.len), "test.Note");
        ASSERT_EQ(d.payload_len, sizeof payload - 1);
        EXPECT_EQ(0, std::memcmp(d.payload, payload, d.payload_len));
    }
}

TEST(FrameTest, BroadcastEncoderRefusesOtherKindsAndLongNames) {
    uint8_t buf[1024];
    genrpc__bcast_hdr h = {1, S("n"), S("t.M"), nullptr, 0};
    EXPECT_EQ(genrpc__encode_bcast_hdr(buf, sizeof buf, GENRPC__K_CAST, &h), 0u);
    EXPECT_EQ(genrpc__encode_bcast_hdr(buf, 10, GENRPC__K_ABCAST, &h), 0u);  // too small
    std::string longname(256, 'x');
    h.name = genrpc__str{longname.data(), longname.size()};
    EXPECT_EQ(genrpc__encode_bcast_hdr(buf, sizeof buf, GENRPC__K_ABCAST, &h), 0u);
}

TEST(FrameTest, BroadcastRejectsEmptyNamesWrongKindTruncationAndOverlongLengths) {
    genrpc__bcast_hdr h = {1, S("n"), S("t.M"), nullptr, 0};
    uint8_t buf[64];
    size_t n = genrpc__encode_bcast_hdr(buf, sizeof buf, GENRPC__K_SBCAST, &h);
    auto body = Body(buf, n);
    genrpc__bcast_hdr d;
    ASSERT_TRUE(genrpc__decode_bcast(body.data(), body.size(), &d));
    EXPECT_EQ(d.payload_len, 0u);
    for (size_t cut = 0; cut < body.size(); cut++)
        EXPECT_FALSE(genrpc__decode_bcast(body.data(), cut, &d)) << "cut at " << cut;
    auto bad = body;
    bad[0] = GENRPC__K_CALL;
    EXPECT_FALSE(genrpc__decode_bcast(bad.data(), bad.size(), &d));
    bad[0] = 0x22;  // no such kind
    EXPECT_FALSE(genrpc__decode_bcast(bad.data(), bad.size(), &d));
    bad = body;
    bad[9] = 0;  // name length 0
    EXPECT_FALSE(genrpc__decode_bcast(bad.data(), bad.size(), &d));
    bad = body;
    bad[11] = 0;  // type length 0
    EXPECT_FALSE(genrpc__decode_bcast(bad.data(), bad.size(), &d));
    bad = body;
    bad[9] = 200;  // name runs past the end
    EXPECT_FALSE(genrpc__decode_bcast(bad.data(), bad.size(), &d));
    bad = body;
    bad[11] = 200;  // type runs past the end
    EXPECT_FALSE(genrpc__decode_bcast(bad.data(), bad.size(), &d));
    // The request decoder does not take broadcast kinds, nor the reverse.
    genrpc__request_hdr rq;
    EXPECT_FALSE(genrpc__decode_request(body.data(), body.size(), &rq));
}

TEST(FrameTest, ModuleLengthPointingPastTheEndIsRejected) {
    genrpc__request_hdr h = {1, 0, S("m"), S("f"), nullptr, 0};
    uint8_t buf[64];
    size_t n = genrpc__encode_request_hdr(buf, sizeof buf, GENRPC__K_CALL, &h);
    auto body = Body(buf, n);
    body[13] = 200;  // claims a 200-byte module name in a tiny frame
    genrpc__request_hdr d;
    EXPECT_FALSE(genrpc__decode_request(body.data(), body.size(), &d));
}

TEST(FrameTest, ErrorRoundTripsCodeAndMessage) {
    genrpc__error_body e = {9, 5, -42, S("no key x")};
    uint8_t buf[128];
    size_t n = genrpc__encode_error(buf, sizeof buf, &e);
    auto body = Body(buf, n);
    genrpc__error_body d;
    ASSERT_TRUE(genrpc__decode_error(body.data(), body.size(), &d));
    EXPECT_EQ(d.req_id, 9u);
    EXPECT_EQ(d.err, 5);
    EXPECT_EQ(d.handler_code, -42);
    EXPECT_EQ(std::string(d.message.p, d.message.len), "no key x");
    body.pop_back();
    EXPECT_FALSE(genrpc__decode_error(body.data(), body.size(), &d));
}

TEST(FrameTest, ReplyCarriesIdAndPayload) {
    uint8_t buf[64];
    size_t hdr = genrpc__encode_reply_hdr(buf, sizeof buf, 77, 3);
    std::memcpy(buf + hdr, "xyz", 3);
    auto body = Body(buf, hdr + 3);
    uint64_t id = 0;
    const uint8_t *p = nullptr;
    size_t len = 0;
    ASSERT_TRUE(genrpc__decode_reply(body.data(), body.size(), &id, &p, &len));
    EXPECT_EQ(id, 77u);
    EXPECT_EQ(std::string(reinterpret_cast<const char *>(p), len), "xyz");
    EXPECT_FALSE(genrpc__decode_reply(body.data(), 5, &id, &p, &len));
}

TEST(FrameTest, RejectCarriesReason) {
    uint8_t buf[300];
    size_t n = genrpc__encode_reject(buf, sizeof buf, GENRPC__REJ_COOKIE, "invalid_cookie");
    auto body = Body(buf, n);
    uint8_t reason = 0;
    genrpc__str text;
    ASSERT_TRUE(genrpc__decode_reject(body.data(), body.size(), &reason, &text));
    EXPECT_EQ(reason, GENRPC__REJ_COOKIE);
    EXPECT_EQ(std::string(text.p, text.len), "invalid_cookie");
}

TEST(FrameTest, PeekNeedsFourBytesAndReadsBigEndian) {
    const uint8_t b[] = {0x00, 0x01, 0x02, 0x03};
    size_t body = 0;
    EXPECT_EQ(genrpc__frame_peek(b, 3, &body), 0);
    EXPECT_EQ(genrpc__frame_peek(b, 4, &body), 1);
    EXPECT_EQ(body, 0x010203u);
    const uint8_t huge[] = {0xff, 0xff, 0xff, 0xff};
    EXPECT_EQ(genrpc__frame_peek(huge, 4, &body), 1);
    EXPECT_EQ(body, 0xffffffffu);  // the caller compares with its limit before allocating
}

}  // namespace
