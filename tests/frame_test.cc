// frame_test - the wire format's encoders and bounds-checked decoders
// (runtime/src/frame.c), including every way a frame can be malformed.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

extern "C" {
#include "genrpc/error.h"
#include "wire/frame.h"
#include "wire/out.h"
}

namespace {

genrpc__str S(const char *z) { return genrpc__str{z, std::strlen(z)}; }

genrpc__request_hdr V1Request(uint64_t id, uint32_t version, genrpc__str module,
                              genrpc__str function, size_t payload_len) {
    genrpc__request_hdr h{};
    h.proto = 1;
    h.req_id = id;
    h.version = version;
    h.module = module;
    h.function = function;
    h.payload_len = payload_len;
    return h;
}

genrpc__bcast_hdr V1Bcast(uint64_t id, genrpc__str name, genrpc__str type, size_t payload_len) {
    genrpc__bcast_hdr h{};
    h.proto = 1;
    h.req_id = id;
    h.name = name;
    h.type = type;
    h.payload_len = payload_len;
    return h;
}

// A metadata block: key:str8 value_len:u16 value, for each pair.
std::string Metadata(std::initializer_list<std::pair<std::string, std::string>> kv) {
    std::string b;
    for (auto &e : kv) {
        b += char(e.first.size());
        b += e.first;
        b += char(e.second.size() >> 8);
        b += char(e.second.size() & 0xff);
        b += e.second;
    }
    return b;
}

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
    genrpc__request_hdr h = V1Request(42, 7, S("kv.Store"), S("Get"), sizeof payload - 1);
    uint8_t buf[256];
    size_t hdr = genrpc__encode_request_hdr(buf, sizeof buf, GENRPC__K_CALL, &h);
    ASSERT_GT(hdr, 0u);
    std::memcpy(buf + hdr, payload, sizeof payload - 1);
    auto body = Body(buf, hdr + sizeof payload - 1);
    genrpc__request_hdr d;
    ASSERT_TRUE(genrpc__decode_request(1, body.data(), body.size(), &d));
    EXPECT_EQ(d.req_id, 42u);
    EXPECT_EQ(d.version, 7u);
    EXPECT_EQ(std::string(d.module.p, d.module.len), "kv.Store");
    EXPECT_EQ(std::string(d.function.p, d.function.len), "Get");
    ASSERT_EQ(d.payload_len, sizeof payload - 1);
    EXPECT_EQ(0, std::memcmp(d.payload, payload, d.payload_len));
}

TEST(FrameTest, RequestRejectsEmptyNamesWrongKindAndTruncation) {
    genrpc__request_hdr h = V1Request(1, 0, S("m"), S("f"), 0);
    uint8_t buf[64];
    size_t n = genrpc__encode_request_hdr(buf, sizeof buf, GENRPC__K_CAST, &h);
    auto body = Body(buf, n);
    genrpc__request_hdr d;
    ASSERT_TRUE(genrpc__decode_request(1, body.data(), body.size(), &d));
    for (size_t cut = 0; cut < body.size(); cut++)
        EXPECT_FALSE(genrpc__decode_request(1, body.data(), cut, &d)) << "cut at " << cut;
    auto bad = body;
    bad[0] = GENRPC__K_REPLY;
    EXPECT_FALSE(genrpc__decode_request(1, bad.data(), bad.size(), &d));
    bad = body;
    bad[13] = 0;  // module length 0
    EXPECT_FALSE(genrpc__decode_request(1, bad.data(), bad.size(), &d));
}

TEST(FrameTest, BroadcastHeaderRoundTripsForBothKinds) {
    const char payload[] = "\x0a\x02" "hi";
    for (genrpc__kind kind : {GENRPC__K_ABCAST, GENRPC__K_SBCAST}) {
        genrpc__bcast_hdr h = V1Bcast(99, S("test_process_123"), S("test.Note"),
                                      sizeof payload - 1);
        uint8_t buf[256];
        size_t hdr = genrpc__encode_bcast_hdr(buf, sizeof buf, kind, &h);
        ASSERT_EQ(hdr, GENRPC__LEN_PREFIX + genrpc__bcast_hdr_size(1, 16, 9, 0));
        std::memcpy(buf + hdr, payload, sizeof payload - 1);
        auto body = Body(buf, hdr + sizeof payload - 1);
        EXPECT_EQ(body[0], uint8_t(kind));
        genrpc__bcast_hdr d;
        ASSERT_TRUE(genrpc__decode_bcast(1, body.data(), body.size(), &d));
        EXPECT_EQ(d.req_id, 99u);
        EXPECT_EQ(std::string(d.name.p, d.name.len), "test_process_123");
        EXPECT_EQ(std::string(d.type.p, d.type.len), "test.Note");
        ASSERT_EQ(d.payload_len, sizeof payload - 1);
        EXPECT_EQ(0, std::memcmp(d.payload, payload, d.payload_len));
    }
}

TEST(FrameTest, BroadcastEncoderRefusesOtherKindsAndLongNames) {
    uint8_t buf[1024];
    genrpc__bcast_hdr h = V1Bcast(1, S("n"), S("t.M"), 0);
    EXPECT_EQ(genrpc__encode_bcast_hdr(buf, sizeof buf, GENRPC__K_CAST, &h), 0u);
    EXPECT_EQ(genrpc__encode_bcast_hdr(buf, 10, GENRPC__K_ABCAST, &h), 0u);  // too small
    std::string longname(256, 'x');
    h.name = genrpc__str{longname.data(), longname.size()};
    EXPECT_EQ(genrpc__encode_bcast_hdr(buf, sizeof buf, GENRPC__K_ABCAST, &h), 0u);
}

TEST(FrameTest, BroadcastRejectsEmptyNamesWrongKindTruncationAndOverlongLengths) {
    genrpc__bcast_hdr h = V1Bcast(1, S("n"), S("t.M"), 0);
    uint8_t buf[64];
    size_t n = genrpc__encode_bcast_hdr(buf, sizeof buf, GENRPC__K_SBCAST, &h);
    auto body = Body(buf, n);
    genrpc__bcast_hdr d;
    ASSERT_TRUE(genrpc__decode_bcast(1, body.data(), body.size(), &d));
    EXPECT_EQ(d.payload_len, 0u);
    for (size_t cut = 0; cut < body.size(); cut++)
        EXPECT_FALSE(genrpc__decode_bcast(1, body.data(), cut, &d)) << "cut at " << cut;
    auto bad = body;
    bad[0] = GENRPC__K_CALL;
    EXPECT_FALSE(genrpc__decode_bcast(1, bad.data(), bad.size(), &d));
    bad[0] = 0x22;  // no such kind
    EXPECT_FALSE(genrpc__decode_bcast(1, bad.data(), bad.size(), &d));
    bad = body;
    bad[9] = 0;  // name length 0
    EXPECT_FALSE(genrpc__decode_bcast(1, bad.data(), bad.size(), &d));
    bad = body;
    bad[11] = 0;  // type length 0
    EXPECT_FALSE(genrpc__decode_bcast(1, bad.data(), bad.size(), &d));
    bad = body;
    bad[9] = 200;  // name runs past the end
    EXPECT_FALSE(genrpc__decode_bcast(1, bad.data(), bad.size(), &d));
    bad = body;
    bad[11] = 200;  // type runs past the end
    EXPECT_FALSE(genrpc__decode_bcast(1, bad.data(), bad.size(), &d));
    // The request decoder does not take broadcast kinds, nor the reverse.
    genrpc__request_hdr rq;
    EXPECT_FALSE(genrpc__decode_request(1, body.data(), body.size(), &rq));
}

TEST(FrameTest, ModuleLengthPointingPastTheEndIsRejected) {
    genrpc__request_hdr h = V1Request(1, 0, S("m"), S("f"), 0);
    uint8_t buf[64];
    size_t n = genrpc__encode_request_hdr(buf, sizeof buf, GENRPC__K_CALL, &h);
    auto body = Body(buf, n);
    body[13] = 200;  // claims a 200-byte module name in a tiny frame
    genrpc__request_hdr d;
    EXPECT_FALSE(genrpc__decode_request(1, body.data(), body.size(), &d));
}

TEST(FrameTest, ErrorRoundTripsCodeAndMessage) {
    genrpc__error_body e = {1, 9, 5, -42, S("no key x"), 0, {}};
    uint8_t buf[128];
    size_t n = genrpc__encode_error(buf, sizeof buf, &e);
    auto body = Body(buf, n);
    genrpc__error_body d;
    ASSERT_TRUE(genrpc__decode_error(1, body.data(), body.size(), &d));
    EXPECT_EQ(d.req_id, 9u);
    EXPECT_EQ(d.err, 5);
    EXPECT_EQ(d.handler_code, -42);
    EXPECT_EQ(std::string(d.message.p, d.message.len), "no key x");
    body.pop_back();
    EXPECT_FALSE(genrpc__decode_error(1, body.data(), body.size(), &d));
}

TEST(FrameTest, ReplyCarriesIdAndPayload) {
    uint8_t buf[64];
    genrpc__reply_body r = {1, 77, 0, {}, nullptr, 3};
    size_t hdr = genrpc__encode_reply_hdr(buf, sizeof buf, &r);
    std::memcpy(buf + hdr, "xyz", 3);
    auto body = Body(buf, hdr + 3);
    genrpc__reply_body d;
    ASSERT_TRUE(genrpc__decode_reply(1, body.data(), body.size(), &d));
    EXPECT_EQ(d.req_id, 77u);
    EXPECT_EQ(std::string(reinterpret_cast<const char *>(d.payload), d.payload_len), "xyz");
    EXPECT_FALSE(genrpc__decode_reply(1, body.data(), 5, &d));
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

// ---- version 2 -----------------------------------------------------------

TEST(FrameV2Test, RequestCarriesTimeoutFlagsAndMetadata) {
    std::string md = Metadata({{"authorization", "Bearer x"}, {"trace-id", std::string("\0\1", 2)}});
    genrpc__request_hdr h = V1Request(42, 7, S("kv.Store"), S("Get"), 3);
    h.proto = 2;
    h.timeout_ms = 1500;
    h.metadata = genrpc__str{md.data(), md.size()};
    uint8_t buf[256];
    size_t hdr = genrpc__encode_request_hdr(buf, sizeof buf, GENRPC__K_CALL, &h);
    ASSERT_EQ(hdr, GENRPC__LEN_PREFIX + genrpc__request_hdr_size(2, 8, 3, md.size()));
    EXPECT_EQ(genrpc__get_u32(buf + GENRPC__REQ_TIMEOUT_OFFSET), 1500u);
    EXPECT_EQ(genrpc__get_u64(buf + GENRPC__REQ_ID_OFFSET), 42u);
    std::memcpy(buf + hdr, "abc", 3);
    auto body = Body(buf, hdr + 3);
    genrpc__request_hdr d;
    ASSERT_TRUE(genrpc__decode_request(2, body.data(), body.size(), &d));
    EXPECT_EQ(d.req_id, 42u);
    EXPECT_EQ(d.version, 7u);
    EXPECT_EQ(d.timeout_ms, 1500u);
    EXPECT_EQ(d.flags, GENRPC__F_METADATA);
    EXPECT_EQ(std::string(d.metadata.p, d.metadata.len), md);
    EXPECT_EQ(std::string(reinterpret_cast<const char *>(d.payload), d.payload_len), "abc");
    size_t pos = 0;
    genrpc__md_entry e;
    ASSERT_TRUE(genrpc__md_next(d.metadata, &pos, &e));
    EXPECT_EQ(std::string(e.key.p, e.key.len), "authorization");
    EXPECT_EQ(std::string(reinterpret_cast<const char *>(e.value), e.value_len), "Bearer x");
    ASSERT_TRUE(genrpc__md_next(d.metadata, &pos, &e));
    EXPECT_EQ(std::string(e.key.p, e.key.len), "trace-id");
    EXPECT_EQ(e.value_len, 2u);
    EXPECT_FALSE(genrpc__md_next(d.metadata, &pos, &e));
    // The same bytes read as version 1 are another frame: never mixed up
    // with the v2 one (version 1 would take the timeout for names).
    genrpc__request_hdr v1;
    if (genrpc__decode_request(1, body.data(), body.size(), &v1)) {
        EXPECT_NE(std::string(v1.module.p, v1.module.len), "kv.Store");
    }
    for (size_t cut = 0; cut < hdr - GENRPC__LEN_PREFIX; cut++)
        EXPECT_FALSE(genrpc__decode_request(2, body.data(), cut, &d)) << "cut at " << cut;
}

TEST(FrameV2Test, UnknownFlagsAndBadMetadataAreMalformed) {
    genrpc__request_hdr h = V1Request(1, 0, S("m"), S("f"), 0);
    h.proto = 2;
    uint8_t buf[128];
    size_t n = genrpc__encode_request_hdr(buf, sizeof buf, GENRPC__K_CAST, &h);
    auto body = Body(buf, n);
    genrpc__request_hdr d;
    ASSERT_TRUE(genrpc__decode_request(2, body.data(), body.size(), &d));
    EXPECT_EQ(d.timeout_ms, 0u);
    size_t flags_at = 1 + 8 + 4 + 4;
    for (uint8_t bit : {0x04, 0x08, 0x80}) {
        auto bad = body;
        bad[flags_at] = bit;
        EXPECT_FALSE(genrpc__decode_request(2, bad.data(), bad.size(), &d)) << int(bit);
    }
    auto lying = body;
    lying[flags_at] = GENRPC__F_METADATA;  // says a block follows; none does
    EXPECT_FALSE(genrpc__decode_request(2, lying.data(), lying.size(), &d));
    // Blocks that break the rules: upper-case key, empty key, value past the
    // end, too many entries, too many bytes.
    EXPECT_FALSE(genrpc__md_check(reinterpret_cast<const uint8_t *>(Metadata({{"Auth", "x"}}).data()), 7));
    std::string empty_key = Metadata({{"", "x"}});
    EXPECT_FALSE(genrpc__md_check(reinterpret_cast<const uint8_t *>(empty_key.data()), empty_key.size()));
    std::string past = Metadata({{"k", "value"}});
    past.pop_back();
    EXPECT_FALSE(genrpc__md_check(reinterpret_cast<const uint8_t *>(past.data()), past.size()));
    std::string many;
    for (int i = 0; i < GENRPC__MD_MAX_ENTRIES + 1; i++) many += Metadata({{"k", ""}});
    EXPECT_FALSE(genrpc__md_check(reinterpret_cast<const uint8_t *>(many.data()), many.size()));
    std::string big = Metadata({{"k", std::string(GENRPC__MD_MAX_BYTES, 'v')}});
    EXPECT_FALSE(genrpc__md_check(reinterpret_cast<const uint8_t *>(big.data()), big.size()));
    std::string ok = Metadata({{"k", std::string(GENRPC__MD_MAX_BYTES - 4, 'v')}});
    EXPECT_TRUE(genrpc__md_check(reinterpret_cast<const uint8_t *>(ok.data()), ok.size()));
}

TEST(FrameV2Test, ReplyErrorAndBroadcastRoundTrip) {
    std::string md = Metadata({{"server-time", "12"}});
    genrpc__reply_body r = {2, 77, 0, {md.data(), md.size()}, nullptr, 3};
    uint8_t buf[256];
    size_t hdr = genrpc__encode_reply_hdr(buf, sizeof buf, &r);
    ASSERT_EQ(hdr, GENRPC__LEN_PREFIX + genrpc__reply_hdr_size(2, md.size()));
    std::memcpy(buf + hdr, "xyz", 3);
    auto body = Body(buf, hdr + 3);
    genrpc__reply_body rd;
    ASSERT_TRUE(genrpc__decode_reply(2, body.data(), body.size(), &rd));
    EXPECT_EQ(rd.req_id, 77u);
    EXPECT_EQ(std::string(rd.metadata.p, rd.metadata.len), md);
    EXPECT_EQ(std::string(reinterpret_cast<const char *>(rd.payload), rd.payload_len), "xyz");

    genrpc__error_body e = {2, 9, GENRPC_E_UNAVAILABLE, 0, S("draining"), 0, {md.data(), md.size()}};
    size_t n = genrpc__encode_error(buf, sizeof buf, &e);
    ASSERT_EQ(n, genrpc__error_frame_size(2, 8, md.size()));
    body = Body(buf, n);
    genrpc__error_body ed;
    ASSERT_TRUE(genrpc__decode_error(2, body.data(), body.size(), &ed));
    EXPECT_EQ(ed.err, GENRPC_E_UNAVAILABLE);
    EXPECT_EQ(std::string(ed.message.p, ed.message.len), "draining");
    EXPECT_EQ(std::string(ed.metadata.p, ed.metadata.len), md);
    EXPECT_FALSE(genrpc__decode_error(1, body.data(), body.size(), &ed));  // v1 has no flags

    genrpc__bcast_hdr b = V1Bcast(5, S("proc"), S("t.M"), 0);
    b.proto = 2;
    b.timeout_ms = 9;
    n = genrpc__encode_bcast_hdr(buf, sizeof buf, GENRPC__K_SBCAST, &b);
    ASSERT_EQ(n, GENRPC__LEN_PREFIX + genrpc__bcast_hdr_size(2, 4, 3, 0));
    body = Body(buf, n);
    genrpc__bcast_hdr bd;
    ASSERT_TRUE(genrpc__decode_bcast(2, body.data(), body.size(), &bd));
    EXPECT_EQ(bd.timeout_ms, 9u);
    EXPECT_EQ(std::string(bd.name.p, bd.name.len), "proc");
}

TEST(FrameV2Test, CancelGoawayAndAuthSettings) {
    uint8_t buf[512];
    size_t n = genrpc__encode_cancel(buf, sizeof buf, 12345);
    ASSERT_EQ(n, size_t(GENRPC__CANCEL_FRAME_SIZE));
    auto body = Body(buf, n);
    uint64_t id = 0;
    ASSERT_TRUE(genrpc__decode_cancel(body.data(), body.size(), &id));
    EXPECT_EQ(id, 12345u);
    EXPECT_FALSE(genrpc__decode_cancel(body.data(), body.size() - 1, &id));

    genrpc__goaway g = {GENRPC__GOAWAY_ALL, GENRPC__GOAWAY_DRAINING, S("node is draining")};
    n = genrpc__encode_goaway(buf, sizeof buf, &g);
    ASSERT_GT(n, 0u);
    ASSERT_LE(n, size_t(GENRPC__GOAWAY_FRAME_MAX));
    body = Body(buf, n);
    genrpc__goaway gd;
    ASSERT_TRUE(genrpc__decode_goaway(body.data(), body.size(), &gd));
    EXPECT_EQ(gd.last_req_id, GENRPC__GOAWAY_ALL);
    EXPECT_EQ(gd.reason, GENRPC__GOAWAY_DRAINING);
    EXPECT_EQ(std::string(gd.text.p, gd.text.len), "node is draining");
    body.push_back(0);
    EXPECT_FALSE(genrpc__decode_goaway(body.data(), body.size(), &gd));

    uint8_t mac[GENRPC__MAC_LEN];
    std::memset(mac, 7, sizeof mac);
    genrpc__auth_body a{};
    a.mac = mac;
    a.n_settings = 2;
    a.settings[0] = {1, 1};
    a.settings[1] = {200, 0xdeadbeef};  // unknown ids travel; the receiver ignores them
    n = genrpc__encode_auth(buf, sizeof buf, GENRPC__K_AUTH, &a);
    body = Body(buf, n);
    genrpc__auth_body ad;
    ASSERT_TRUE(genrpc__decode_auth(body.data(), body.size(), GENRPC__K_AUTH, &ad));
    EXPECT_EQ(0, std::memcmp(ad.mac, mac, sizeof mac));
    ASSERT_EQ(ad.n_settings, 2u);
    EXPECT_EQ(ad.settings[1].id, 200);
    EXPECT_EQ(ad.settings[1].value, 0xdeadbeefu);
    EXPECT_FALSE(genrpc__decode_auth(body.data(), body.size(), GENRPC__K_AUTH_OK, &ad));
    body[1 + GENRPC__MAC_LEN] = GENRPC__SETTINGS_MAX + 1;  // more settings than allowed
    EXPECT_FALSE(genrpc__decode_auth(body.data(), body.size(), GENRPC__K_AUTH, &ad));
    // A v1 AUTH (the proof alone) is not a v2 one, nor the reverse.
    n = genrpc__encode_mac(buf, sizeof buf, GENRPC__K_AUTH, mac);
    body = Body(buf, n);
    EXPECT_FALSE(genrpc__decode_auth(body.data(), body.size(), GENRPC__K_AUTH, &ad));
}

TEST(FrameV2Test, RelayoutTurnsAV2RequestIntoTheSameV1Request) {
    std::string md = Metadata({{"k", "v"}});
    genrpc__request_hdr h = V1Request(77, 3, S("kv.Store"), S("Put"), 5);
    h.proto = 2;
    h.timeout_ms = 100;
    h.metadata = genrpc__str{md.data(), md.size()};
    size_t hdr = GENRPC__LEN_PREFIX + genrpc__request_hdr_size(2, 8, 3, md.size());
    genrpc__out *o = genrpc__out_new(hdr + 5);
    ASSERT_NE(o, nullptr);
    ASSERT_EQ(genrpc__encode_request_hdr(o->data, hdr + 5, GENRPC__K_CALL, &h), hdr);
    std::memcpy(o->data + hdr, "hello", 5);
    o->proto = 2;
    genrpc__out *v1 = genrpc__out_relayout(o, 1);
    ASSERT_NE(v1, nullptr);
    EXPECT_EQ(v1->proto, 1);
    auto body = Body(v1->data, v1->len);
    genrpc__request_hdr d;
    ASSERT_TRUE(genrpc__decode_request(1, body.data(), body.size(), &d));
    EXPECT_EQ(d.req_id, 77u);
    EXPECT_EQ(d.version, 3u);
    EXPECT_EQ(std::string(d.module.p, d.module.len), "kv.Store");
    EXPECT_EQ(std::string(d.function.p, d.function.len), "Put");
    EXPECT_EQ(std::string(reinterpret_cast<const char *>(d.payload), d.payload_len), "hello");
    genrpc__out_free(v1);
    o->off = 1;  // partly written: too late to re-encode
    EXPECT_EQ(genrpc__out_relayout(o, 1), nullptr);
    genrpc__out_free(o);
}

}  // namespace
