// auth_test - HMAC-SHA256 challenge/response proofs (runtime/src/auth.c).
#include <gtest/gtest.h>

#include <cstring>
#include <string>

extern "C" {
#include "wire/auth.h"
}

namespace {

struct Transcript {
    uint8_t cn[GENRPC__NONCE_LEN], sn[GENRPC__NONCE_LEN];
    std::string client = "a@127.0.0.1", server = "b@127.0.0.1";
    Transcript() {
        EXPECT_TRUE(genrpc__auth_nonce(cn));
        EXPECT_TRUE(genrpc__auth_nonce(sn));
    }
    bool Mac(const std::string &cookie, genrpc__auth_role role, uint8_t *out) const {
        return genrpc__auth_mac(cookie.data(), cookie.size(), role, cn, sn, client.data(),
                                client.size(), server.data(), server.size(), out);
    }
    bool Check(const std::string &cookie, genrpc__auth_role role, const uint8_t *mac) const {
        return genrpc__auth_check(cookie.data(), cookie.size(), role, cn, sn, client.data(),
                                  client.size(), server.data(), server.size(), mac);
    }
};

TEST(AuthTest, SameCookieVerifies) {
    Transcript t;
    uint8_t mac[GENRPC__MAC_LEN];
    ASSERT_TRUE(t.Mac("secret", GENRPC__AUTH_CLIENT, mac));
    EXPECT_TRUE(t.Check("secret", GENRPC__AUTH_CLIENT, mac));
}

TEST(AuthTest, WrongCookieFails) {
    Transcript t;
    uint8_t mac[GENRPC__MAC_LEN];
    ASSERT_TRUE(t.Mac("secret", GENRPC__AUTH_CLIENT, mac));
    EXPECT_FALSE(t.Check("Secret", GENRPC__AUTH_CLIENT, mac));
}

TEST(AuthTest, ServerProofCannotBeReflectedAsClientProof) {
    Transcript t;
    uint8_t mac[GENRPC__MAC_LEN];
    ASSERT_TRUE(t.Mac("secret", GENRPC__AUTH_SERVER, mac));
    EXPECT_FALSE(t.Check("secret", GENRPC__AUTH_CLIENT, mac));
}

TEST(AuthTest, ProofIsBoundToNoncesAndNames) {
    Transcript t;
    uint8_t mac[GENRPC__MAC_LEN];
    ASSERT_TRUE(t.Mac("secret", GENRPC__AUTH_CLIENT, mac));
    Transcript other = t;
    other.sn[0] ^= 1;  // a replay against a new server nonce
    EXPECT_FALSE(other.Check("secret", GENRPC__AUTH_CLIENT, mac));
    other = t;
    other.client = "evil@127.0.0.1";
    EXPECT_FALSE(other.Check("secret", GENRPC__AUTH_CLIENT, mac));
}

TEST(AuthTest, ProofDoesNotContainTheCookie) {
    Transcript t;
    uint8_t mac[GENRPC__MAC_LEN];
    std::string cookie = "cookie-cookie-cookie";
    ASSERT_TRUE(t.Mac(cookie, GENRPC__AUTH_CLIENT, mac));
    std::string bytes(reinterpret_cast<char *>(mac), sizeof mac);
    EXPECT_EQ(bytes.find("cookie"), std::string::npos);
}

TEST(AuthTest, NoncesDiffer) {
    uint8_t a[GENRPC__NONCE_LEN], b[GENRPC__NONCE_LEN];
    ASSERT_TRUE(genrpc__auth_nonce(a));
    ASSERT_TRUE(genrpc__auth_nonce(b));
    EXPECT_NE(0, std::memcmp(a, b, sizeof a));
}

TEST(AuthTest, OverlongNamesAreRefused) {
    Transcript t;
    t.client = std::string(300, 'x');
    uint8_t mac[GENRPC__MAC_LEN];
    EXPECT_FALSE(t.Mac("secret", GENRPC__AUTH_CLIENT, mac));
}

}  // namespace
