// Which credential a login is checked against and what each refusal says, as
// a table over a real segment: [users] before the loaded accounts, the
// server's order among those, the server's own error for each refusal
// (observed on MariaDB 10.11.19: 1045, 4151 after a right password only), and the rows of mysql.global_priv the poller turns into accounts.
#include <cppunit/extensions/HelperMacros.h>

#include "daemon/users_loader.hh"
#include "protocol/auth.hh"
#include "t/unit/shm/scratch_segment.hh"
#include "worker/credentials.hh"

using namespace causeway;
using namespace causeway::worker;
using causeway::shm::test::must;
using causeway::shm::test::scratch_segment;

namespace {

std::string hash_of(const std::string& password)
{
    auto stage1 = protocol::sha1(password);
    auto stage2 = protocol::sha1(std::string_view(reinterpret_cast<const char*>(stage1.data()), stage1.size()));
    std::string out = "*";
    for (std::uint8_t b : stage2) {
        static const char digits[] = "0123456789ABCDEF";
        out += digits[b >> 4];
        out += digits[b & 15];
    }
    return out;
}

}   // namespace

class credentials_test : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(credentials_test);
    CPPUNIT_TEST(outcomes);
    CPPUNIT_TEST(not_loaded_is_temporary);
    CPPUNIT_TEST(errors_have_the_server_text);
    CPPUNIT_TEST(rows_become_accounts);
    CPPUNIT_TEST_SUITE_END();

public:
    void outcomes()
    {
        scratch_segment s;
        s.cfg.users_from_primary = true;
        s.cfg.users["monitor"] = "monitorpass";   // clear, in [users]
        s.cfg.users["shadow"] = hash_of("ini");   // [users] wins over the primary's shadow@%
        shm::segment seg = must(shm::segment::create(s.cfg));
        seg.accounts().publish({{"app", "%", hash_of("secret"), 0},
                                {"app", "127.0.0.1", hash_of("local"), 0},
                                {"shadow", "%", hash_of("primary"), 0},
                                {"locked", "%", hash_of("pw"), shm::account_locked},
                                {"expired", "%", hash_of("pw"), shm::account_expired},
                                {"ed", "%", "", shm::account_other_plugin},
                                {"invalid", "%", "", shm::account_bad_hash},
                                {"nopass", "%", "", 0},
                                {"far", "10.%", hash_of("pw"), 0}},
                               1);
        const std::string scramble = protocol::random_scramble();
        struct row {
            const char* user;
            const char* ip;
            const char* password;
            credential_outcome expect;
        } rows[] = {
            {"monitor", "127.0.0.1", "monitorpass", credential_outcome::ok},
            {"monitor", "127.0.0.1", "x", credential_outcome::denied},
            {"shadow", "127.0.0.1", "ini", credential_outcome::ok},
            {"shadow", "127.0.0.1", "primary", credential_outcome::denied},
            {"app", "10.1.1.1", "secret", credential_outcome::ok},
            {"app", "127.0.0.1", "secret", credential_outcome::denied},   // app@127.0.0.1 is picked
            {"app", "127.0.0.1", "local", credential_outcome::ok},
            {"app", "10.1.1.1", "", credential_outcome::denied},
            {"locked", "127.0.0.1", "pw", credential_outcome::locked},
            {"locked", "127.0.0.1", "bad", credential_outcome::denied},
            {"expired", "127.0.0.1", "pw", credential_outcome::expired},
            {"ed", "127.0.0.1", "", credential_outcome::denied},   // never an empty-password pass
            {"ed", "127.0.0.1", "pw", credential_outcome::denied},
            {"invalid", "127.0.0.1", "", credential_outcome::denied},
            {"nopass", "127.0.0.1", "", credential_outcome::ok},
            {"nopass", "127.0.0.1", "x", credential_outcome::denied},
            {"far", "127.0.0.1", "pw", credential_outcome::denied},
            {"far", "10.0.0.9", "pw", credential_outcome::ok},
            {"nobody", "127.0.0.1", "x", credential_outcome::denied},
        };
        for (const auto& r : rows) {
            auto c = check_credentials(s.cfg, seg.accounts(), r.user, r.ip,
                                       protocol::native_password_token(r.password, scramble), scramble);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(std::string(r.user) + "@" + r.ip + " with '" + r.password + "'", int(r.expect),
                                         int(c.outcome));
            if (c.outcome == credential_outcome::ok && *r.password) {
                auto sha = protocol::sha1(r.password);
                CPPUNIT_ASSERT_EQUAL(std::string(reinterpret_cast<const char*>(sha.data()), sha.size()),
                                     c.password_sha1);
            } else {
                CPPUNIT_ASSERT(c.password_sha1.empty());
            }
        }
        // users_from_primary off: only [users] counts.
        s.cfg.users_from_primary = false;
        auto c = check_credentials(s.cfg, seg.accounts(), "app", "10.1.1.1",
                                   protocol::native_password_token("secret", scramble), scramble);
        CPPUNIT_ASSERT(c.outcome == credential_outcome::denied);
    }

    void not_loaded_is_temporary()
    {
        scratch_segment s;
        s.cfg.users_from_primary = true;
        s.cfg.users["monitor"] = "monitorpass";
        shm::segment seg = must(shm::segment::create(s.cfg));
        const std::string scramble = protocol::random_scramble();
        auto c = check_credentials(s.cfg, seg.accounts(), "app", "127.0.0.1",
                                   protocol::native_password_token("secret", scramble), scramble);
        CPPUNIT_ASSERT(c.outcome == credential_outcome::not_loaded);
        // [users] works before any load.
        c = check_credentials(s.cfg, seg.accounts(), "monitor", "127.0.0.1",
                              protocol::native_password_token("monitorpass", scramble), scramble);
        CPPUNIT_ASSERT(c.outcome == credential_outcome::ok);
    }

    void errors_have_the_server_text()
    {
        auto e = credential_error(credential_outcome::denied, "u", "127.0.0.1", true);
        CPPUNIT_ASSERT_EQUAL(std::uint16_t(1045), e.code);
        CPPUNIT_ASSERT_EQUAL(std::string("Access denied for user 'u'@'127.0.0.1' (using password: YES)"), e.message);
        e = credential_error(credential_outcome::denied, "u", "127.0.0.1", false);
        CPPUNIT_ASSERT_EQUAL(std::string("Access denied for user 'u'@'127.0.0.1' (using password: NO)"), e.message);
        CPPUNIT_ASSERT_EQUAL(std::string("28000"), std::string(e.sql_state));
        e = credential_error(credential_outcome::locked, "u4", "127.0.0.1", true);
        CPPUNIT_ASSERT_EQUAL(std::uint16_t(4151), e.code);
        CPPUNIT_ASSERT_EQUAL(std::string("HY000"), std::string(e.sql_state));
        CPPUNIT_ASSERT_EQUAL(std::string("Access denied, this account is locked"), e.message);
        e = credential_error(credential_outcome::not_loaded, "u", "127.0.0.1", true);
        CPPUNIT_ASSERT_EQUAL(std::uint16_t(9001), e.code);
    }

    void rows_become_accounts()
    {
        // Rows as mysql.global_priv gave them on 10.11 (accounts_query).
        protocol::small_result a;
        auto row = [&](std::optional<std::string> u, std::optional<std::string> h, std::optional<std::string> plugin,
                       std::optional<std::string> auth, std::optional<std::string> locked,
                       std::optional<std::string> changed, std::optional<std::string> role) {
            a.rows.push_back({u, h, plugin, auth, locked, changed, role});
        };
        const std::string h = "*9F75CEF7FD0C75DC40611DD8F86B6FFF569BF56D";
        row("u1", "%", "mysql_native_password", h, std::nullopt, "1796590253", std::nullopt);
        row("u4", "%", "mysql_native_password", h, "true", "1796590253", std::nullopt);
        row("r1", "", std::nullopt, std::nullopt, std::nullopt, std::nullopt, "true");   // a role
        row("root", "localhost", "mysql_native_password", "invalid", std::nullopt, std::nullopt, std::nullopt);
        row("u5", "%", "ed25519", "abcdef", std::nullopt, "1796590253", std::nullopt);
        row("u7", "%", "mysql_native_password", "", std::nullopt, "1796590253", std::nullopt);
        row("old", "%", std::nullopt, h, std::nullopt, std::nullopt, std::nullopt);   // before 10.4: native
        row("exp", "%", "mysql_native_password", h, std::nullopt, "0", std::nullopt);
        row(std::nullopt, "%", "mysql_native_password", h, std::nullopt, std::nullopt, std::nullopt);
        a.rows.push_back({std::string("short")});   // malformed: skipped
        auto accounts = daemon::parse_accounts(a);
        CPPUNIT_ASSERT_EQUAL(std::size_t(7), accounts.size());
        CPPUNIT_ASSERT_EQUAL(std::string("u1"), accounts[0].user);
        CPPUNIT_ASSERT_EQUAL(h, accounts[0].hash);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(0), accounts[0].flags);
        CPPUNIT_ASSERT_EQUAL(shm::account_locked, accounts[1].flags);
        CPPUNIT_ASSERT_EQUAL(std::string("root"), accounts[2].user);
        CPPUNIT_ASSERT_EQUAL(shm::account_bad_hash, accounts[2].flags);
        CPPUNIT_ASSERT(accounts[2].hash.empty());
        CPPUNIT_ASSERT_EQUAL(shm::account_other_plugin, accounts[3].flags);
        CPPUNIT_ASSERT(accounts[3].hash.empty());
        CPPUNIT_ASSERT_EQUAL(std::string("u7"), accounts[4].user);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(0), accounts[4].flags);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(0), accounts[5].flags);
        CPPUNIT_ASSERT_EQUAL(shm::account_expired, accounts[6].flags);
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(credentials_test);
