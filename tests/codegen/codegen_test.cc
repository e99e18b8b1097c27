// protoc-gen-genrpc run through protoc, as users run it: golden output,
// IDL mistakes, parameters.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;

struct ProtocRun {
    int status; // protoc's exit status
    std::string output; // stdout + stderr
};

// Runs protoc with our plugin on `protos` (names relative to protos/),
// writing into a fresh directory `out`.
ProtocRun
run_protoc(const std::string &protos, const fs::path &out, const std::string &extra = "")
{
    fs::remove_all(out);
    fs::create_directories(out);
    std::string cmd = std::string(GENRPC_TEST_PROTOC) +
                      " --plugin=protoc-gen-genrpc=" GENRPC_TEST_PLUGIN
                      " -I" GENRPC_TEST_PROTOS_DIR " -I" GENRPC_TEST_IDL_DIR
                      " --genrpc_out=" + out.string() + " " + extra + " " + protos + " 2>&1";
    ProtocRun r{-1, ""};
    FILE *p = popen(cmd.c_str(), "r");
    if (p == nullptr)
        return r;
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0)
        r.output.append(buf, n);
    int st = pclose(p);
    r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return r;
}

std::string
slurp(const fs::path &path)
{
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

fs::path
out_dir(const std::string &name)
{
    return fs::path(GENRPC_TEST_OUT_DIR) / name;
}

TEST(Golden, GeneratedFilesMatchCommittedGoldenFilesByteForByte)
{
    fs::path out = out_dir("golden");
    ProtocRun r = run_protoc("shop/shop.proto shop/common.proto", out);
    ASSERT_EQ(r.status, 0) << r.output;
    for (const char *name : {"shop/shop.genrpc.h", "shop/shop.genrpc.c", "shop/common.genrpc.h",
                             "shop/common.genrpc.c"}) {
        fs::path golden = fs::path(GENRPC_TEST_GOLDEN_DIR) / name;
        ASSERT_TRUE(fs::exists(out / name)) << name << " was not generated";
        EXPECT_EQ(slurp(out / name), slurp(golden))
            << name << " differs from " << golden
            << "; if the change is intended, run the codegen_update_golden target";
    }
}

TEST(Golden, Proto3OptionalFieldsAreAccepted)
{
    ProtocRun r = run_protoc("optional/optional.proto", out_dir("optional"));
    EXPECT_EQ(r.status, 0) << r.output;
    EXPECT_TRUE(fs::exists(out_dir("optional") / "optional/optional.genrpc.h"));
}

struct BadIdl {
    const char *proto;
    const char *expected; // must appear in protoc's output
};

class BadIdlTest : public testing::TestWithParam<BadIdl> {};

TEST_P(BadIdlTest, FailsNamingFileLineServiceAndFixWithoutWritingFiles)
{
    const BadIdl &c = GetParam();
    /* one directory per case: ctest -j runs the cases in parallel, and
     * run_protoc empties its directory first */
    fs::path out = out_dir("bad_" + fs::path(c.proto).stem().string());
    ProtocRun r = run_protoc(c.proto, out);
    EXPECT_NE(r.status, 0) << r.output;
    EXPECT_NE(r.output.find(c.expected), std::string::npos)
        << "expected \"" << c.expected << "\" in:\n" << r.output;
    EXPECT_TRUE(fs::is_empty(out)) << "files were written for bad IDL";
}

INSTANTIATE_TEST_SUITE_P(
    Codegen, BadIdlTest,
    testing::Values(
        BadIdl{"bad/missing_version.proto",
               "bad/missing_version.proto:6: service Store: missing option (genrpc.version)"},
        BadIdl{"bad/version_zero.proto",
               "bad/version_zero.proto:6: service Store: option (genrpc.version) is 0"},
        BadIdl{"bad/version_any.proto",
               "bad/version_any.proto:6: service Store: option (genrpc.version) is 4294967295, "
               "which is GENRPC_ANY_VERSION"},
        BadIdl{"bad/collision_case.proto",
               "bad/collision_case.proto:9: service Store: rpc get and rpc Get both generate "
               "the C identifier"},
        BadIdl{"bad/collision_cast.proto",
               "bad/collision_cast.proto:8: service Store: rpc Get (in genrpc's code) and rpc "
               "GetCast (in protobuf-c's code) both generate the C identifier "
               "kv__store__get_cast"},
        BadIdl{"bad/collision_multicall.proto",
               "bad/collision_multicall.proto:8: service Store: rpc Get (in genrpc's code) "
               "and rpc GetMulticall (in protobuf-c's code) both generate the C identifier "
               "kv__store__get_multicall"},
        BadIdl{"bad/collision_protobuf_c.proto",
               "bad/collision_protobuf_c.proto:8: service Store: rpc Get (in genrpc's code) "
               "and rpc GetCall (in protobuf-c's code) both generate the C identifier "
               "kv__store__get_call"},
        BadIdl{"bad/collision_broadcast.proto",
               "bad/collision_broadcast.proto:8: service note: message kv.Note (broadcast) (in "
               "genrpc's code) and rpc Abcast of service note (in protobuf-c's code) both "
               "generate the C identifier kv__note__abcast"},
        BadIdl{"bad/client_streaming.proto",
               "bad/client_streaming.proto:8: service Store: rpc Upload: client streaming is "
               "not supported"},
        BadIdl{"bad/server_streaming.proto",
               "bad/server_streaming.proto:8: service Store: rpc Watch: server streaming is "
               "not supported"},
        BadIdl{"bad/module_empty.proto",
               "bad/module_empty.proto:8: service Store: option (genrpc.module) is empty"},
        BadIdl{"bad/module_bad_char.proto",
               "bad/module_bad_char.proto:8: service Store: option (genrpc.module) contains "
               "the character 0x2f"},
        BadIdl{"bad/keyword.proto",
               "bad/keyword.proto:8: service Store: rpc Int: its C member name `int` is a C "
               "keyword"}),
    [](const testing::TestParamInfo<BadIdl> &info) {
        std::string name = fs::path(info.param.proto).stem().string();
        return name;
    });

TEST(Parameters, UnknownKeyIsAnErrorNamingTheKey)
{
    ProtocRun r = run_protoc("shop/shop.proto shop/common.proto", out_dir("param_unknown"),
                       "--genrpc_opt=colour=red");
    EXPECT_NE(r.status, 0);
    EXPECT_NE(r.output.find("unknown parameter \"colour\""), std::string::npos) << r.output;
}

TEST(Parameters, NonBooleanValueIsAnErrorNamingTheKey)
{
    ProtocRun r = run_protoc("shop/shop.proto shop/common.proto", out_dir("param_nonbool"),
                       "--genrpc_opt=client=maybe");
    EXPECT_NE(r.status, 0);
    EXPECT_NE(r.output.find("parameter \"client\" must be true or false"), std::string::npos)
        << r.output;
}

TEST(Parameters, ClientFalseDropsStubsButKeepsServerSide)
{
    fs::path out = out_dir("server_only");
    ProtocRun r = run_protoc("shop/shop.proto", out, "--genrpc_opt=client=false");
    ASSERT_EQ(r.status, 0) << r.output;
    std::string h = slurp(out / "shop/shop.genrpc.h");
    EXPECT_EQ(h.find("a__b__shop__get_price_call"), std::string::npos);
    EXPECT_NE(h.find("A__B__Shop__Impl"), std::string::npos);
    EXPECT_NE(h.find("a__b__shop__register"), std::string::npos);
}

TEST(Parameters, ServerFalseDropsImplAndRegisterButKeepsStubs)
{
    fs::path out = out_dir("client_only");
    ProtocRun r = run_protoc("shop/shop.proto", out, "--genrpc_opt=server=false,client=true");
    ASSERT_EQ(r.status, 0) << r.output;
    std::string h = slurp(out / "shop/shop.genrpc.h");
    std::string c = slurp(out / "shop/shop.genrpc.c");
    EXPECT_EQ(h.find("A__B__Shop__Impl"), std::string::npos);
    EXPECT_EQ(h.find("a__b__shop__register"), std::string::npos);
    EXPECT_EQ(c.find("__invoke"), std::string::npos);
    EXPECT_NE(h.find("a__b__shop__get_price_call"), std::string::npos);
}

// ---- embedded mode (--genrpc_opt=embedded): nanopb stubs, docs/embedded.md ----

const std::string kEmbOpts = "--genrpc_opt=embedded,nanopb_options_dir=" GENRPC_TEST_PROTOS_DIR;

TEST(CodegenEmbedded, GeneratedFilesMatchCommittedGoldenFilesByteForByte)
{
    fs::path out = out_dir("embedded_golden");
    ProtocRun r = run_protoc("embedded/sensor.proto embedded/units.proto", out, kEmbOpts);
    ASSERT_EQ(r.status, 0) << r.output;
    for (const char *name : {"embedded/sensor.genrpc_emb.h", "embedded/sensor.genrpc_emb.c",
                             "embedded/units.genrpc_emb.h", "embedded/units.genrpc_emb.c"}) {
        fs::path golden = fs::path(GENRPC_TEST_GOLDEN_DIR) / name;
        ASSERT_TRUE(fs::exists(out / name)) << name << " was not generated";
        EXPECT_EQ(slurp(out / name), slurp(golden))
            << name << " differs from " << golden
            << "; if the change is intended, run the codegen_update_golden target";
    }
    // Nothing of the full runtime or protobuf-c.
    EXPECT_FALSE(fs::exists(out / "embedded/sensor.genrpc.h"));
    std::string h = slurp(out / "embedded/sensor.genrpc_emb.h");
    EXPECT_EQ(h.find("genrpc/genrpc.h"), std::string::npos);
    EXPECT_EQ(h.find("pb-c.h"), std::string::npos);
    // The wire name and version as the full stubs have them; no stub for
    // the internal rpc.
    EXPECT_NE(h.find("#define EMB__SENSOR__HUB__MODULE_NAME \"emb.SensorHub\""), std::string::npos);
    EXPECT_NE(h.find("#define EMB__SENSOR__HUB__VERSION 3u"), std::string::npos);
    EXPECT_EQ(h.find("reset_emb_call"), std::string::npos);
}

TEST(CodegenEmbedded, BareEmbeddedParameterMeansTrue)
{
    ProtocRun r = run_protoc("embedded/sensor.proto", out_dir("embedded_bare"),
                             "--genrpc_opt=embedded --genrpc_opt=nanopb_options_dir="
                             GENRPC_TEST_PROTOS_DIR);
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_TRUE(fs::exists(out_dir("embedded_bare") / "embedded/sensor.genrpc_emb.c"));
}

struct BadEmbedded {
    const char *proto;
    std::vector<std::string> expected; // each must appear in protoc's output
};

class EmbeddedOptions : public testing::TestWithParam<BadEmbedded> {};

TEST_P(EmbeddedOptions, AreRefusedWithAClearMessageAndNoOutput)
{
    // One output folder per case: ctest runs the cases in parallel.
    fs::path out = out_dir("embedded_bad_" + fs::path(GetParam().proto).stem().string());
    ProtocRun r = run_protoc(GetParam().proto, out, kEmbOpts);
    EXPECT_NE(r.status, 0) << r.output;
    for (const std::string &e : GetParam().expected)
        EXPECT_NE(r.output.find(e), std::string::npos) << "missing: " << e << "\nin:\n" << r.output;
    EXPECT_TRUE(fs::is_empty(out)) << "files were written despite the error";
}

INSTANTIATE_TEST_SUITE_P(
    CodegenEmbedded, EmbeddedOptions,
    testing::Values(
        BadEmbedded{"embedded_bad/missing.proto",
                    {"embedded_bad/missing.proto: embedded mode: field bad.Req.name is a string "
                     "without max_size or max_length; add a line \"bad.Req.name max_size:<n>\" "
                     "to embedded_bad/missing.options (none found)",
                     "field bad.Req.ids is repeated and has no max_count",
                     "field bad.Req.blob is bytes without max_size"}},
        BadEmbedded{"embedded_bad/syntax.proto",
                    {"embedded_bad/syntax.options:2: option max_size:lots must be an integer"}},
        BadEmbedded{"embedded_bad/pointer.proto",
                    {"field bad.Req.name is type:FT_POINTER, which needs malloc"}},
        BadEmbedded{"embedded_bad/recursive.proto",
                    {"field bad.Node.next makes its message recursive"}},
        BadEmbedded{"embedded_bad/noopts.proto",
                    {"embedded_bad/noopts.options:1: \"bad.Req.name\" has no options"}}),
    [](const testing::TestParamInfo<BadEmbedded> &info) {
        return fs::path(info.param.proto).stem().string();
    });

TEST(CodegenEmbedded, InlineNanopbOptionsCountAsSizes)
{
    const std::string dir = GENRPC_TEST_NANOPB_PROTO_DIR;
    if (dir.empty())
        GTEST_SKIP() << "nanopb.proto not found (Debian: nanopb)";
    fs::path out = out_dir("embedded_inline");
    ProtocRun r = run_protoc("embedded_inline/inline.proto", out, kEmbOpts + " -I" + dir);
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_TRUE(fs::exists(out / "embedded_inline/inline.genrpc_emb.h"));
    // Without the .options line for `unsized` the check names that field only.
    fs::path tmp = out_dir("embedded_inline_src");
    fs::remove_all(tmp);
    fs::create_directories(tmp / "embedded_inline");
    fs::copy_file(fs::path(GENRPC_TEST_PROTOS_DIR) / "embedded_inline/inline.proto",
                  tmp / "embedded_inline/inline.proto");
    std::string cmd = std::string(GENRPC_TEST_PROTOC) +
                      " --plugin=protoc-gen-genrpc=" GENRPC_TEST_PLUGIN " -I" + tmp.string() +
                      " -I" GENRPC_TEST_IDL_DIR " -I" + dir + " --genrpc_out=" + tmp.string() +
                      " --genrpc_opt=embedded,nanopb_options_dir=" + tmp.string() +
                      " embedded_inline/inline.proto 2>&1";
    FILE *p = popen(cmd.c_str(), "r");
    ASSERT_NE(p, nullptr);
    std::string output;
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0)
        output.append(buf, n);
    EXPECT_NE(pclose(p), 0);
    EXPECT_NE(output.find("field inl.Req.unsized is a string"), std::string::npos) << output;
    EXPECT_EQ(output.find("inl.Req.name"), std::string::npos) << output;
    EXPECT_EQ(output.find("inl.Req.blob"), std::string::npos) << output;
}

TEST(CodegenEmbedded, OptionsDirParameterNeedsAValue)
{
    ProtocRun r = run_protoc("embedded/sensor.proto", out_dir("embedded_param"),
                             "--genrpc_opt=embedded,nanopb_options_dir=");
    EXPECT_NE(r.status, 0);
    EXPECT_NE(r.output.find("nanopb_options_dir needs a directory"), std::string::npos)
        << r.output;
}

} // namespace
