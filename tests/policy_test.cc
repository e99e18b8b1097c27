// policy_test - the module whitelist/blacklist decision (runtime/src/policy.c)
// and the error texts/classes (runtime/src/error.c).
#include <gtest/gtest.h>

#include <cstring>

extern "C" {
#include "genrpc/error.h"
#include "rpc/policy.h"
}

namespace {

const char *const kList[] = {"test.Clock", "test.NodeInfo"};

bool Allows(genrpc_module_control c, const char *module) {
    return genrpc__policy_allows(c, kList, 2, module, std::strlen(module));
}

TEST(PolicyTest, DisabledAllowsEverything) {
    EXPECT_TRUE(Allows(GENRPC_CONTROL_DISABLED, "test.Clock"));
    EXPECT_TRUE(Allows(GENRPC_CONTROL_DISABLED, "anything.Else"));
}

TEST(PolicyTest, WhitelistAllowsOnlyListedModules) {
    EXPECT_TRUE(Allows(GENRPC_CONTROL_WHITELIST, "test.Clock"));
    EXPECT_TRUE(Allows(GENRPC_CONTROL_WHITELIST, "test.NodeInfo"));
    EXPECT_FALSE(Allows(GENRPC_CONTROL_WHITELIST, "test.Test"));
}

TEST(PolicyTest, BlacklistRefusesOnlyListedModules) {
    EXPECT_FALSE(Allows(GENRPC_CONTROL_BLACKLIST, "test.Clock"));
    EXPECT_TRUE(Allows(GENRPC_CONTROL_BLACKLIST, "test.Test"));
}

TEST(PolicyTest, ComparesWholeNamesNotPrefixes) {
    EXPECT_FALSE(Allows(GENRPC_CONTROL_WHITELIST, "test.Cloc"));
    EXPECT_FALSE(Allows(GENRPC_CONTROL_WHITELIST, "test.ClockX"));
    // Names from the wire are not NUL-terminated: only `len` bytes count.
    EXPECT_TRUE(genrpc__policy_allows(GENRPC_CONTROL_WHITELIST, kList, 2, "test.ClockGARBAGE", 10));
}

TEST(PolicyTest, EmptyWhitelistRefusesEverything) {
    EXPECT_FALSE(genrpc__policy_allows(GENRPC_CONTROL_WHITELIST, nullptr, 0, "a.B", 3));
}

TEST(ErrorTest, EveryCodeHasANameTextAndClass) {
    EXPECT_STREQ(genrpc_err_name(GENRPC_E_TIMEOUT), "TIMEOUT");
    EXPECT_STREQ(genrpc_strerror(GENRPC_OK), "success");
    EXPECT_EQ(genrpc_err_class_of(GENRPC_E_TIMEOUT), GENRPC_CLASS_BADRPC);
    EXPECT_EQ(genrpc_err_class_of(GENRPC_E_CLOSED), GENRPC_CLASS_BADTCP);
    EXPECT_EQ(genrpc_err_class_of(GENRPC_E_NOT_READY), GENRPC_CLASS_LOCAL);
    EXPECT_EQ(genrpc_err_class_of(GENRPC_OK), GENRPC_CLASS_NONE);
    EXPECT_STREQ(genrpc_err_name(12345), "UNKNOWN");
    EXPECT_STREQ(genrpc_strerror(12345), "unknown error");
    EXPECT_STREQ(genrpc_err_class_name(GENRPC_CLASS_BADTCP), "badtcp");
}

}  // namespace
