// Name mangling must match protobuf-c's (protoc-c/c_helpers.cc) exactly,
// or generated code would name types that do not exist.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

extern "C" {
#include "names.h"
}

namespace {

std::string
take(char *s)
{
    std::string out(s);
    free(s);
    return out;
}

TEST(Names, CamelToLowerSplitsWordsButKeepsCapitalRunsTogether)
{
    EXPECT_EQ(take(cg_camel_to_lower("GetValue")), "get_value");
    EXPECT_EQ(take(cg_camel_to_lower("HTTPHealth")), "httphealth");
    EXPECT_EQ(take(cg_camel_to_lower("GetURL")), "get_url");
    EXPECT_EQ(take(cg_camel_to_lower("check_line")), "check_line");
}

TEST(Names, FullNamesJoinPackagePiecesWithDoubleUnderscore)
{
    EXPECT_EQ(take(cg_full_name_to_c("a.b.Order.Line")), "A__B__Order__Line");
    EXPECT_EQ(take(cg_full_name_to_lower("a.b.ShopV4")), "a__b__shop_v4");
    EXPECT_EQ(take(cg_full_name_to_upper("a.b.ShopV4")), "A__B__SHOP_V4");
    EXPECT_EQ(take(cg_full_name_to_c(".kv.get_request")), "Kv__GetRequest");
}

TEST(Names, FilenameIdentifierHexEncodesNonAlphanumerics)
{
    EXPECT_EQ(take(cg_filename_identifier("dir/kv.proto")), "dir_2fkv_2eproto");
    EXPECT_EQ(take(cg_strip_proto("dir/kv.proto")), "dir/kv");
}

} // namespace
