// SHA-1 against the FIPS 180 vectors and padding edges, and the
// mysql_native_password token against tokens computed independently (Python's
// hashlib in capture.py, libmariadb in the mariadb client) and accepted by a
// real MariaDB server.
#include <cppunit/extensions/HelperMacros.h>

#include <set>

#include "protocol/auth.hh"
#include "protocol/handshake.hh"
#include "t/unit/protocol/captured.hh"
#include "t/unit/protocol/wire.hh"

using namespace causeway::protocol;
using namespace std::literals;
using causeway::protocol::test::hex;
using causeway::protocol::test::payload;

namespace {

std::string hex_digest(const sha1_digest& d)
{
    std::string out;
    for (std::uint8_t b : d) {
        static const char digits[] = "0123456789abcdef";
        out += digits[b >> 4];
        out += digits[b & 15];
    }
    return out;
}

std::string unhex(std::string_view s)
{
    std::string out;
    for (std::size_t i = 0; i + 1 < s.size(); i += 2) out += char(std::stoi(std::string(s.substr(i, 2)), nullptr, 16));
    return out;
}

// The auth data of a captured HandshakeResponse41 or COM_CHANGE_USER.
std::string auth_of(const captured::exchange& e)
{
    auto r = parse_handshake_response(payload(e.request));
    CPPUNIT_ASSERT_MESSAGE(e.name, r.ok());
    return r->auth_response;
}

std::string scramble_of(std::string_view greeting_wire)
{
    auto g = parse_greeting(payload(greeting_wire));
    CPPUNIT_ASSERT(g.ok());
    return g->scramble;
}

}   // namespace

class auth_test : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(auth_test);
    CPPUNIT_TEST(sha1_fips_vectors);
    CPPUNIT_TEST(sha1_padding_edges);
    CPPUNIT_TEST(sha1_two_parts_equal_the_concatenation);
    CPPUNIT_TEST(token_matches_independent_vectors);
    CPPUNIT_TEST(token_matches_what_the_server_accepted);
    CPPUNIT_TEST(token_matches_libmariadb);
    CPPUNIT_TEST(empty_password_empty_token);
    CPPUNIT_TEST(matches_accepts_only_the_right_token);
    CPPUNIT_TEST(random_scramble_is_printable_and_varies);
    CPPUNIT_TEST(hashed_credentials);
    CPPUNIT_TEST_SUITE_END();

public:
    void sha1_fips_vectors()
    {
        CPPUNIT_ASSERT_EQUAL(std::string("a9993e364706816aba3e25717850c26c9cd0d89d"), hex_digest(sha1("abc")));
        CPPUNIT_ASSERT_EQUAL(std::string("da39a3ee5e6b4b0d3255bfef95601890afd80709"), hex_digest(sha1("")));
        CPPUNIT_ASSERT_EQUAL(std::string("84983e441c3bd26ebaae4aa1f95129e5e54670f1"),
                             hex_digest(sha1("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")));
        CPPUNIT_ASSERT_EQUAL(std::string("a49b2446a02c645bf419f995b67091253a04a259"),
                             hex_digest(sha1("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmno"
                                             "ijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu")));
        CPPUNIT_ASSERT_EQUAL(std::string("34aa973cd4c4daa4f61eeb2bdbad27316534016f"),
                             hex_digest(sha1(std::string(1000000, 'a'))));
    }

    void sha1_padding_edges()
    {
        // Lengths around the 55/56/64-byte padding boundaries (hashlib).
        struct {
            std::size_t n;
            const char* digest;
        } const cases[] = {
            {55, "8ae2d46729cfe68ff927af5eec9c7d1b66d65ac2"},  {56, "636e2ec698dac903498e648bd2f3af641d3c88cb"},
            {63, "6d942da0c4392b123528f2905c713a3ce28364bd"},  {64, "c6138d514ffa2135bfce0ed0b8fac65669917ec7"},
            {65, "69bd728ad6e13cd76ff19751fde427b00e395746"},  {119, "41c89d06001bab4ab78736b44efe7ce18ce6ae08"},
            {120, "d3dbd653bd8597b7475321b60a36891278e6a04a"}, {128, "e6434bc401f98603d7eda504790c98c67385d535"}};
        for (const auto& c : cases) {
            std::string m;
            for (std::size_t i = 0; i < c.n; ++i) m += char(i % 251);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(std::to_string(c.n), std::string(c.digest), hex_digest(sha1(m)));
        }
    }

    void sha1_two_parts_equal_the_concatenation()
    {
        std::string m;
        for (int i = 0; i < 200; ++i) m += char(i * 7);
        for (std::size_t cut : {0, 1, 20, 55, 56, 63, 64, 65, 128, 200})
            CPPUNIT_ASSERT(sha1(m) == sha1(std::string_view(m).substr(0, cut), std::string_view(m).substr(cut)));
    }

    void token_matches_independent_vectors()
    {
        // SHA1(pw) XOR SHA1(scramble + SHA1(SHA1(pw))), computed with hashlib.
        std::string s1;
        for (int i = 1; i <= 20; ++i) s1 += char(i);
        CPPUNIT_ASSERT_EQUAL(unhex("b32bb3a583e1340c0a1108d58b1be49781ad8c2f"), native_password_token("secret", s1));
        CPPUNIT_ASSERT_EQUAL(unhex("4cb2f72be423c50ba0dcd1e8f8f0579a54912525"),
                             native_password_token("cwpass", "abcdefghijklmnopqrst"));
        std::string s3;
        for (int i = 0x30; i < 0x44; ++i) s3 += char(i);
        CPPUNIT_ASSERT_EQUAL(unhex("ef660d6c2844dc62acf918fb3caebe8beee2ce9a"),
                             native_password_token("p\xc3\xa4ss w\0rd"sv, s3));
        // A scramble as read from a greeting with its NUL: only 20 bytes count.
        CPPUNIT_ASSERT_EQUAL(native_password_token("secret", s1), native_password_token("secret", s1 + '\0'));
    }

    void token_matches_what_the_server_accepted()
    {
        // capture.py computed these with hashlib and the server answered OK.
        for (const auto* e : {&captured::login, &captured::login_deprecate_eof, &captured::login_untracked}) {
            CPPUNIT_ASSERT_EQUAL_MESSAGE(e->name, std::uint8_t(0), std::uint8_t(payload(e->answer)[0]));
            CPPUNIT_ASSERT_EQUAL_MESSAGE(e->name, std::size_t(20), auth_of(*e).size());
        }
        // The greeting recorded is the one `login` answered.
        std::string scramble = scramble_of(captured::greeting.answer);
        CPPUNIT_ASSERT_EQUAL(auth_of(captured::login), native_password_token(captured::password, scramble));
        CPPUNIT_ASSERT(native_password_matches(auth_of(captured::login), captured::password, scramble));

        auto sw = parse_auth_switch(payload(captured::auth_switch.answer));
        CPPUNIT_ASSERT(sw.ok());
        std::string token = native_password_token(captured::password, sw->data);
        CPPUNIT_ASSERT_EQUAL(std::string(captured::auth_switch_token), token);
        CPPUNIT_ASSERT_EQUAL(std::string(payload(captured::auth_switch_ok.request)), token);
        CPPUNIT_ASSERT_EQUAL(std::uint8_t(0), std::uint8_t(payload(captured::auth_switch_ok.answer)[0]));

        // COM_CHANGE_USER: the token for the switch scramble, then OK.
        auto cu = parse_auth_switch(payload(captured::change_user.answer));
        CPPUNIT_ASSERT(cu.ok());
        CPPUNIT_ASSERT_EQUAL(std::string(payload(captured::change_user_ok.request)),
                             native_password_token(captured::password, cu->data));
    }

    void token_matches_libmariadb()
    {
        std::string scramble = scramble_of(captured::mariadb_cli.answer);
        CPPUNIT_ASSERT_EQUAL(std::size_t(20), scramble.size());
        CPPUNIT_ASSERT_EQUAL(hex(native_password_token(captured::password, scramble)),
                             hex(auth_of(captured::mariadb_cli)));
    }

    void empty_password_empty_token()
    {
        CPPUNIT_ASSERT(native_password_token("", "abcdefghijklmnopqrst").empty());
        CPPUNIT_ASSERT(native_password_matches("", "", "abcdefghijklmnopqrst"));
        CPPUNIT_ASSERT(!native_password_matches(std::string(20, 'x'), "", "abcdefghijklmnopqrst"));
    }

    void matches_accepts_only_the_right_token()
    {
        std::string scramble = "abcdefghijklmnopqrst";
        std::string good = native_password_token("pw", scramble);
        CPPUNIT_ASSERT(native_password_matches(good, "pw", scramble));
        CPPUNIT_ASSERT(!native_password_matches(good, "pW", scramble));
        CPPUNIT_ASSERT(!native_password_matches(good, "pw", "abcdefghijklmnopqrsX"));
        CPPUNIT_ASSERT(!native_password_matches(good.substr(0, 19), "pw", scramble));
        CPPUNIT_ASSERT(!native_password_matches(good + 'x', "pw", scramble));
        CPPUNIT_ASSERT(!native_password_matches("", "pw", scramble));
        for (std::size_t i = 0; i < good.size(); ++i) {
            std::string bad = good;
            bad[i] = char(bad[i] ^ 1);
            CPPUNIT_ASSERT(!native_password_matches(bad, "pw", scramble));
        }
    }

    void random_scramble_is_printable_and_varies()
    {
        std::set<std::string> seen;
        for (int i = 0; i < 50; ++i) {
            std::string s = random_scramble();
            CPPUNIT_ASSERT_EQUAL(scramble_size, s.size());
            for (char c : s) CPPUNIT_ASSERT(c > 0x20 && c < 0x7f);
            seen.insert(s);
        }
        CPPUNIT_ASSERT_EQUAL(std::size_t(50), seen.size());
    }

    // A [users] entry may hold PASSWORD('secret') instead of 'secret': the
    // client's token proves SHA1(password), which answers any other scramble.
    void hashed_credentials()
    {
        const std::string hash = "*14E65567ABDB5135D0CFD9A70B3032C179A49EE7";   // PASSWORD('secret')
        CPPUNIT_ASSERT(is_native_password_hash(hash));
        CPPUNIT_ASSERT(is_native_password_hash("*14e65567abdb5135d0cfd9a70b3032c179a49ee7"));
        CPPUNIT_ASSERT(!is_native_password_hash("secret"));
        CPPUNIT_ASSERT(!is_native_password_hash("*14E65567ABDB5135D0CFD9A70B3032C179A49EEX"));
        CPPUNIT_ASSERT(!is_native_password_hash(hash.substr(0, 40)));
        const std::string s1 = "abcdefghijklmnopqrst", s2 = "ABCDEFGHIJKLMNOPQRST";
        std::string sha1_pw;
        CPPUNIT_ASSERT(native_password_verify(native_password_token("secret", s1), hash, s1, sha1_pw));
        sha1_digest expected = sha1("secret");
        CPPUNIT_ASSERT(sha1_pw == std::string(reinterpret_cast<const char*>(expected.data()), 20));
        CPPUNIT_ASSERT_EQUAL(native_password_token("secret", s2), native_password_token_from_sha1(sha1_pw, s2));
        CPPUNIT_ASSERT(!native_password_verify(native_password_token("wrong", s1), hash, s1, sha1_pw));
        CPPUNIT_ASSERT(sha1_pw.empty());
        CPPUNIT_ASSERT(!native_password_verify("", hash, s1, sha1_pw));
        CPPUNIT_ASSERT(!native_password_verify(native_password_token("secret", s2), hash, s1, sha1_pw));
        // Clear passwords give the same SHA1; an empty one gives none.
        CPPUNIT_ASSERT(native_password_verify(native_password_token("secret", s1), "secret", s1, sha1_pw));
        CPPUNIT_ASSERT_EQUAL(native_password_token("secret", s2), native_password_token_from_sha1(sha1_pw, s2));
        CPPUNIT_ASSERT(native_password_verify("", "", s1, sha1_pw) && sha1_pw.empty());
        CPPUNIT_ASSERT(native_password_token_from_sha1("", s1).empty());
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(auth_test);
