// The option decoder on raw bytes: what protoc would send, what it never
// should, and garbage. Malformed input must be an error, never a crash.
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

extern "C" {
#include "options.h"
}

namespace {

using Bytes = std::vector<uint8_t>;

void
put_varint(Bytes &b, uint64_t v)
{
    while (v >= 0x80) {
        b.push_back(static_cast<uint8_t>(v | 0x80));
        v >>= 7;
    }
    b.push_back(static_cast<uint8_t>(v));
}

void
put_key(Bytes &b, uint32_t field, uint32_t wire_type)
{
    put_varint(b, (uint64_t{field} << 3) | wire_type);
}

void
put_uint(Bytes &b, uint32_t field, uint64_t v)
{
    put_key(b, field, 0);
    put_varint(b, v);
}

void
put_string(Bytes &b, uint32_t field, const std::string &s)
{
    put_key(b, field, 2);
    put_varint(b, s.size());
    b.insert(b.end(), s.begin(), s.end());
}

struct ServiceParse {
    int rc;
    cg_service_options opts;
    std::string err;
};

ServiceParse
parse_service(const Bytes &b)
{
    ServiceParse p{};
    char err[CG_OPT_ERR_MAX] = "";
    p.rc = cg_service_options_parse(b.data(), b.size(), &p.opts, err);
    p.err = err;
    return p;
}

TEST(OptionDecoder, EmptyOptionsHaveNoVersionAndDefaults)
{
    ServiceParse p = parse_service({});
    ASSERT_EQ(p.rc, 0);
    EXPECT_FALSE(p.opts.has_version);
    EXPECT_FALSE(p.opts.has_module);
    EXPECT_FALSE(p.opts.internal_module);
}

TEST(OptionDecoder, ReadsVersionVarint)
{
    Bytes b;
    put_uint(b, CG_OPT_VERSION, 300);
    ServiceParse p = parse_service(b);
    ASSERT_EQ(p.rc, 0) << p.err;
    EXPECT_TRUE(p.opts.has_version);
    EXPECT_EQ(p.opts.version, 300u);
}

TEST(OptionDecoder, VersionZeroIsPresentButZero)
{
    Bytes b;
    put_uint(b, CG_OPT_VERSION, 0);
    ServiceParse p = parse_service(b);
    ASSERT_EQ(p.rc, 0) << p.err;
    EXPECT_TRUE(p.opts.has_version);
    EXPECT_EQ(p.opts.version, 0u);
}

TEST(OptionDecoder, RepeatedScalarTagLastOneWins)
{
    Bytes b;
    put_uint(b, CG_OPT_VERSION, 2);
    put_string(b, CG_OPT_MODULE, "first.Name");
    put_uint(b, CG_OPT_VERSION, 5);
    put_string(b, CG_OPT_MODULE, "b.c");
    ServiceParse p = parse_service(b);
    ASSERT_EQ(p.rc, 0) << p.err;
    EXPECT_EQ(p.opts.version, 5u);
    EXPECT_EQ(std::string(p.opts.module, p.opts.module_len), "b.c");
}

TEST(OptionDecoder, ModuleStringSkipsTheLengthPrefix)
{
    Bytes b;
    put_string(b, CG_OPT_MODULE, "kv.Store");
    ServiceParse p = parse_service(b);
    ASSERT_EQ(p.rc, 0) << p.err;
    ASSERT_TRUE(p.opts.has_module);
    EXPECT_EQ(p.opts.module_len, 8u);
    EXPECT_STREQ(p.opts.module, "kv.Store");
}

TEST(OptionDecoder, ReadsInternalModuleAndIgnoresOtherFields)
{
    Bytes b;
    put_uint(b, 33, 1);               // ServiceOptions.deprecated
    put_uint(b, 60000, 9);            // someone else's extension
    put_string(b, 60001, "whatever"); // another one, length-delimited
    put_uint(b, CG_OPT_INTERNAL_MODULE, 1);
    ServiceParse p = parse_service(b);
    ASSERT_EQ(p.rc, 0) << p.err;
    EXPECT_TRUE(p.opts.internal_module);
    EXPECT_FALSE(p.opts.has_version);
}

TEST(OptionDecoder, ReadsMethodInternal)
{
    Bytes b;
    put_uint(b, CG_OPT_INTERNAL, 1);
    cg_method_options opts;
    char err[CG_OPT_ERR_MAX] = "";
    ASSERT_EQ(cg_method_options_parse(b.data(), b.size(), &opts, err), 0) << err;
    EXPECT_TRUE(opts.internal);
}

TEST(OptionDecoder, VersionAboveUint32IsAnError)
{
    Bytes b;
    put_uint(b, CG_OPT_VERSION, uint64_t{1} << 33);
    ServiceParse p = parse_service(b);
    EXPECT_EQ(p.rc, -1);
    EXPECT_NE(p.err.find("genrpc.version"), std::string::npos) << p.err;
}

TEST(OptionDecoder, VersionWithWrongWireTypeIsAnError)
{
    Bytes b;
    put_string(b, CG_OPT_VERSION, "2");
    EXPECT_EQ(parse_service(b).rc, -1);
}

TEST(OptionDecoder, OverlongModuleIsAnError)
{
    Bytes b;
    put_string(b, CG_OPT_MODULE, std::string(CG_MODULE_NAME_MAX + 1, 'a'));
    ServiceParse p = parse_service(b);
    EXPECT_EQ(p.rc, -1);
    EXPECT_NE(p.err.find("limit"), std::string::npos) << p.err;
}

TEST(OptionDecoder, TruncatedStringIsAnError)
{
    Bytes b;
    put_key(b, CG_OPT_MODULE, 2);
    put_varint(b, 8);
    b.push_back('k');
    b.push_back('v');
    EXPECT_EQ(parse_service(b).rc, -1);
}

TEST(OptionDecoder, TruncatedVarintIsAnError)
{
    Bytes b;
    put_key(b, CG_OPT_VERSION, 0);
    b.push_back(0x80);
    EXPECT_EQ(parse_service(b).rc, -1);
}

// protobuf-c validates framing before we see a field, so these build
// unknown fields by hand to test the field readers' own bounds checks.
TEST(FieldReader, VarintLongerThanTenBytesIsRejected)
{
    uint8_t data[11];
    std::fill(data, data + 10, 0x80);
    data[10] = 0x01;
    ProtobufCMessageUnknownField f{CG_OPT_VERSION, PROTOBUF_C_WIRE_TYPE_VARINT, sizeof data, data};
    uint64_t v;
    EXPECT_EQ(cg_field_varint(&f, &v), -1);
}

TEST(FieldReader, VarintWithTrailingBytesIsRejected)
{
    uint8_t data[] = {0x05, 0x06};
    ProtobufCMessageUnknownField f{CG_OPT_VERSION, PROTOBUF_C_WIRE_TYPE_VARINT, sizeof data, data};
    uint64_t v;
    EXPECT_EQ(cg_field_varint(&f, &v), -1);
}

TEST(FieldReader, LengthPrefixLargerThanDataIsRejected)
{
    uint8_t data[] = {0x7f, 'a', 'b'};
    ProtobufCMessageUnknownField f{CG_OPT_MODULE, PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED,
                                   sizeof data, data};
    const uint8_t *s;
    size_t n;
    EXPECT_EQ(cg_field_bytes(&f, &s, &n), -1);
}

TEST(FieldReader, LengthPrefixSmallerThanDataIsRejected)
{
    uint8_t data[] = {0x01, 'a', 'b'};
    ProtobufCMessageUnknownField f{CG_OPT_MODULE, PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED,
                                   sizeof data, data};
    const uint8_t *s;
    size_t n;
    EXPECT_EQ(cg_field_bytes(&f, &s, &n), -1);
}

TEST(FieldReader, EmptyLengthDelimitedFieldIsRejected)
{
    ProtobufCMessageUnknownField f{CG_OPT_MODULE, PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED, 0,
                                   nullptr};
    const uint8_t *s;
    size_t n;
    EXPECT_EQ(cg_field_bytes(&f, &s, &n), -1);
}

// Not a fuzzer, but cheap insurance (run it under ASan): random bytes,
// and random mutations of a valid message, never crash the decoder.
TEST(OptionDecoder, RandomBytesNeverCrash)
{
    std::mt19937 rng(12345);
    Bytes valid;
    put_uint(valid, CG_OPT_VERSION, 7);
    put_string(valid, CG_OPT_MODULE, "kv.Store");
    put_uint(valid, CG_OPT_INTERNAL_MODULE, 1);
    for (int i = 0; i < 20000; i++) {
        Bytes b = valid;
        if (i % 2) {
            b.resize(rng() % 24);
            for (auto &c : b)
                c = static_cast<uint8_t>(rng());
        } else {
            b[rng() % b.size()] = static_cast<uint8_t>(rng());
            b.resize(rng() % (b.size() + 1));
        }
        ServiceParse p = parse_service(b);
        if (p.rc == 0 && p.opts.has_module) {
            ASSERT_LE(p.opts.module_len, static_cast<size_t>(CG_MODULE_NAME_MAX));
        }
    }
}

} // namespace
