// The connection phase against captured bytes: the MariaDB greeting, our own
// and libmariadb's HandshakeResponse41, the auth switch, COM_CHANGE_USER; then
// build->parse round trips over capability combinations, SSLRequest
// detection, and truncated or malformed input.
#include <cppunit/extensions/HelperMacros.h>

#include "protocol/auth.hh"
#include "protocol/constants.hh"
#include "protocol/handshake.hh"
#include "t/unit/protocol/captured.hh"
#include "t/unit/protocol/wire.hh"

using namespace causeway::protocol;
using namespace std::literals;
using causeway::protocol::test::exact_copy;
using causeway::protocol::test::hex;
using causeway::protocol::test::payload;

namespace {

const std::string capture_attrs =
    "\x04_pid\x04"
    "1234\x0c_client_name\x0a"
    "capture.py";

void assert_same(const handshake_response& a, const handshake_response& b, const std::string& what)
{
    CPPUNIT_ASSERT_EQUAL_MESSAGE(what, a.capabilities, b.capabilities);
    CPPUNIT_ASSERT_EQUAL_MESSAGE(what, a.max_packet, b.max_packet);
    CPPUNIT_ASSERT_EQUAL_MESSAGE(what, int(a.charset), int(b.charset));
    CPPUNIT_ASSERT_EQUAL_MESSAGE(what, a.mariadb_capabilities, b.mariadb_capabilities);
    CPPUNIT_ASSERT_EQUAL_MESSAGE(what, a.user, b.user);
    CPPUNIT_ASSERT_EQUAL_MESSAGE(what, hex(a.auth_response), hex(b.auth_response));
    CPPUNIT_ASSERT_EQUAL_MESSAGE(what, a.database, b.database);
    CPPUNIT_ASSERT_EQUAL_MESSAGE(what, a.auth_plugin, b.auth_plugin);
    CPPUNIT_ASSERT_EQUAL_MESSAGE(what, hex(a.connect_attrs), hex(b.connect_attrs));
    CPPUNIT_ASSERT_EQUAL_MESSAGE(what, a.ssl_request, b.ssl_request);
}

bool has(std::uint32_t caps, std::uint32_t bit)
{
    return (caps & bit) == bit;
}

}   // namespace

class handshake_test : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(handshake_test);
    CPPUNIT_TEST(captured_greeting);
    CPPUNIT_TEST(captured_greeting_rebuilds_byte_for_byte);
    CPPUNIT_TEST(greeting_round_trip);
    CPPUNIT_TEST(greeting_truncated);
    CPPUNIT_TEST(greeting_wrong_protocol);
    CPPUNIT_TEST(captured_response_of_capture_py);
    CPPUNIT_TEST(captured_response_of_libmariadb);
    CPPUNIT_TEST(captured_responses_rebuild_byte_for_byte);
    CPPUNIT_TEST(response_round_trip_capability_combinations);
    CPPUNIT_TEST(response_ssl_request);
    CPPUNIT_TEST(response_truncated_and_malformed);
    CPPUNIT_TEST(captured_auth_switch);
    CPPUNIT_TEST(auth_switch_malformed);
    CPPUNIT_TEST(captured_change_user);
    CPPUNIT_TEST(change_user_optional_tail_and_truncation);
    CPPUNIT_TEST_SUITE_END();

public:
    void captured_greeting()
    {
        auto g = parse_greeting(payload(captured::greeting.answer));
        CPPUNIT_ASSERT_MESSAGE(g ? "" : g.err().message, g.ok());
        CPPUNIT_ASSERT_EQUAL(10, int(g->protocol_version));
        // MariaDB prefixes its version so that old MySQL clients accept it.
        CPPUNIT_ASSERT_EQUAL("5.5.5-"s + captured::server_version, g->server_version);
        CPPUNIT_ASSERT(g->connection_id != 0);
        CPPUNIT_ASSERT_EQUAL(scramble_size, g->scramble.size());
        CPPUNIT_ASSERT(g->scramble.find('\0') == std::string::npos);
        for (std::uint32_t bit : {cap::protocol_41, cap::secure_connection, cap::plugin_auth, cap::connect_attrs,
                                  cap::plugin_auth_lenenc_data, cap::session_track, cap::deprecate_eof,
                                  cap::multi_statements, cap::multi_results, cap::ps_multi_results, cap::transactions})
            CPPUNIT_ASSERT(has(g->capabilities, bit));
        // MariaDB clears CLIENT_MYSQL and announces its extended capabilities.
        CPPUNIT_ASSERT(!has(g->capabilities, cap::long_password));
        CPPUNIT_ASSERT(g->mariadb_capabilities != 0);
        CPPUNIT_ASSERT_EQUAL(server_status::autocommit, g->status);
        CPPUNIT_ASSERT(g->charset != 0);
        CPPUNIT_ASSERT_EQUAL(std::string(native_password_plugin), g->auth_plugin);
        // The libmariadb connection's greeting came from the same server.
        auto g2 = parse_greeting(payload(captured::mariadb_cli.answer));
        CPPUNIT_ASSERT(g2.ok());
        CPPUNIT_ASSERT(g2->connection_id != g->connection_id);
        CPPUNIT_ASSERT(g2->scramble != g->scramble);
        CPPUNIT_ASSERT_EQUAL(g->capabilities, g2->capabilities);
    }

    void captured_greeting_rebuilds_byte_for_byte()
    {
        for (std::string_view wire : {captured::greeting.answer, captured::mariadb_cli.answer}) {
            auto g = parse_greeting(payload(wire));
            CPPUNIT_ASSERT(g.ok());
            CPPUNIT_ASSERT_EQUAL(hex(payload(wire)), hex(build_greeting(*g)));
        }
    }

    void greeting_round_trip()
    {
        server_greeting g;
        g.server_version = "10.11.0-causeway";
        g.connection_id = 0x01020304;
        g.scramble = "abcdefghijklmnopqrst";
        g.charset = 45;
        g.status = server_status::autocommit;
        g.auth_plugin = native_password_plugin;
        for (std::uint32_t caps : {cap::proxy_offers, cap::proxy_offers & ~cap::long_password,
                                   cap::protocol_41 | cap::secure_connection | cap::plugin_auth | cap::long_password}) {
            g.capabilities = caps;
            g.mariadb_capabilities = (caps & cap::long_password) ? 0 : 0x1d;
            auto back = parse_greeting(build_greeting(g));
            CPPUNIT_ASSERT(back.ok());
            CPPUNIT_ASSERT_EQUAL(g.server_version, back->server_version);
            CPPUNIT_ASSERT_EQUAL(g.connection_id, back->connection_id);
            CPPUNIT_ASSERT_EQUAL(g.scramble, back->scramble);
            CPPUNIT_ASSERT_EQUAL(g.capabilities, back->capabilities);
            CPPUNIT_ASSERT_EQUAL(int(g.charset), int(back->charset));
            CPPUNIT_ASSERT_EQUAL(g.status, back->status);
            CPPUNIT_ASSERT_EQUAL(g.mariadb_capabilities, back->mariadb_capabilities);
            CPPUNIT_ASSERT_EQUAL(g.auth_plugin, back->auth_plugin);
        }
        // A random scramble as the proxy sends it survives too.
        g.capabilities = cap::proxy_offers;
        g.scramble = random_scramble();
        auto back = parse_greeting(build_greeting(g));
        CPPUNIT_ASSERT(back.ok());
        CPPUNIT_ASSERT_EQUAL(g.scramble, back->scramble);
    }

    void greeting_truncated()
    {
        std::string_view whole = payload(captured::greeting.answer);
        auto full = parse_greeting(whole);
        CPPUNIT_ASSERT(full.ok());
        // Version NUL, id, 8 bytes of scramble, filler, low capabilities.
        std::size_t short_form = full->server_version.size() + 2 + 4 + 8 + 1 + 2;
        std::size_t scramble_end = whole.size() - full->auth_plugin.size() - 1;
        for (std::size_t n = 0; n < whole.size(); ++n) {
            exact_copy copy(whole.substr(0, n));
            auto g = parse_greeting(copy.view());
            std::string at = "prefix " + std::to_string(n);
            if (n == short_form) {
                // A pre-4.1 greeting ends here: its scramble is the first 8 bytes.
                CPPUNIT_ASSERT_MESSAGE(at, g.ok());
                CPPUNIT_ASSERT_EQUAL_MESSAGE(at, full->scramble.substr(0, 8), g->scramble);
            } else if (n < scramble_end) {
                CPPUNIT_ASSERT_MESSAGE(at, !g.ok());
            } else {
                // Lenient on the plugin name (some servers omit its NUL).
                CPPUNIT_ASSERT_MESSAGE(at, g.ok());
                CPPUNIT_ASSERT_EQUAL_MESSAGE(at, full->scramble, g->scramble);
                CPPUNIT_ASSERT_MESSAGE(at, full->auth_plugin.starts_with(g->auth_plugin));
            }
        }
    }

    void greeting_wrong_protocol()
    {
        std::string p(payload(captured::greeting.answer));
        p[0] = 9;
        CPPUNIT_ASSERT(!parse_greeting(p).ok());
        // An ERR instead of a greeting (too many connections) is not a greeting.
        CPPUNIT_ASSERT(!parse_greeting("\xff\x10\x04Too many connections"sv).ok());
        CPPUNIT_ASSERT(!parse_greeting(""sv).ok());
    }

    void captured_response_of_capture_py()
    {
        auto r = parse_handshake_response(payload(captured::login.request));
        CPPUNIT_ASSERT_MESSAGE(r ? "" : r.err().message, r.ok());
        CPPUNIT_ASSERT(has(r->capabilities, cap::long_password | cap::session_track | cap::plugin_auth_lenenc_data));
        CPPUNIT_ASSERT(!has(r->capabilities, cap::deprecate_eof));
        CPPUNIT_ASSERT_EQUAL(std::uint32_t(1) << 24, r->max_packet);
        CPPUNIT_ASSERT_EQUAL(45, int(r->charset));
        CPPUNIT_ASSERT_EQUAL(std::uint32_t(0), r->mariadb_capabilities);
        CPPUNIT_ASSERT_EQUAL(std::string(captured::user), r->user);
        CPPUNIT_ASSERT_EQUAL(std::size_t(20), r->auth_response.size());
        CPPUNIT_ASSERT_EQUAL(std::string(captured::database), r->database);
        CPPUNIT_ASSERT_EQUAL(std::string(native_password_plugin), r->auth_plugin);
        CPPUNIT_ASSERT_EQUAL(hex(capture_attrs), hex(r->connect_attrs));
        CPPUNIT_ASSERT(!r->ssl_request);

        auto d = parse_handshake_response(payload(captured::login_deprecate_eof.request));
        CPPUNIT_ASSERT(d.ok() && has(d->capabilities, cap::deprecate_eof));
        auto u = parse_handshake_response(payload(captured::login_untracked.request));
        CPPUNIT_ASSERT(u.ok() && !has(u->capabilities, cap::session_track));
        auto ed = parse_handshake_response(payload(captured::auth_switch.request));
        CPPUNIT_ASSERT(ed.ok());
        CPPUNIT_ASSERT_EQUAL(std::string("client_ed25519"), ed->auth_plugin);
        CPPUNIT_ASSERT(ed->auth_response.empty());
    }

    void captured_response_of_libmariadb()
    {
        auto r = parse_handshake_response(payload(captured::mariadb_cli.request));
        CPPUNIT_ASSERT_MESSAGE(r ? "" : r.err().message, r.ok());
        // libmariadb talks MariaDB: CLIENT_MYSQL clear, extended capabilities in the filler.
        CPPUNIT_ASSERT(!has(r->capabilities, cap::long_password));
        CPPUNIT_ASSERT(r->mariadb_capabilities != 0);
        CPPUNIT_ASSERT(has(
            r->capabilities,
            cap::protocol_41 | cap::secure_connection | cap::plugin_auth | cap::connect_with_db | cap::connect_attrs));
        CPPUNIT_ASSERT_EQUAL(std::string(captured::user), r->user);
        CPPUNIT_ASSERT_EQUAL(std::size_t(20), r->auth_response.size());
        CPPUNIT_ASSERT_EQUAL(std::string(captured::database), r->database);
        CPPUNIT_ASSERT_EQUAL(std::string(native_password_plugin), r->auth_plugin);
        CPPUNIT_ASSERT(r->connect_attrs.find("_client_name") != std::string::npos);
        CPPUNIT_ASSERT(r->connect_attrs.find("libmariadb") != std::string::npos);
    }

    void captured_responses_rebuild_byte_for_byte()
    {
        for (const auto* e : {&captured::login, &captured::login_deprecate_eof, &captured::login_untracked,
                              &captured::auth_switch, &captured::access_denied, &captured::mariadb_cli}) {
            auto r = parse_handshake_response(payload(e->request));
            CPPUNIT_ASSERT_MESSAGE(e->name, r.ok());
            CPPUNIT_ASSERT_EQUAL_MESSAGE(e->name, hex(payload(e->request)), hex(build_handshake_response(*r)));
        }
    }

    void response_round_trip_capability_combinations()
    {
        const std::uint32_t base = cap::protocol_41 | cap::transactions;
        const std::string tokens[] = {"", native_password_token("pw", "abcdefghijklmnopqrst"),
                                      std::string("a\0b\xff", 4), std::string(250, 'x'), std::string(300, 'y')};
        int combinations = 0;
        for (std::uint32_t auth_caps :
             {0u, cap::secure_connection, cap::secure_connection | cap::plugin_auth_lenenc_data})
            for (std::uint32_t db : {0u, cap::connect_with_db})
                for (std::uint32_t plugin : {0u, cap::plugin_auth})
                    for (std::uint32_t attrs : {0u, cap::connect_attrs})
                        for (std::uint32_t mysql : {0u, cap::long_password})
                            for (const std::string& token : tokens) {
                                // Without SECURE_CONNECTION the token is NUL-terminated;
                                // without lenenc it has a one-byte length.
                                if (auth_caps == 0 && token.find('\0') != std::string::npos) continue;
                                if (auth_caps == cap::secure_connection && token.size() > 255) continue;
                                handshake_response h;
                                h.capabilities = base | auth_caps | db | plugin | attrs | mysql;
                                h.max_packet = 0x40000000;
                                h.charset = 224;
                                h.mariadb_capabilities = mysql ? 0 : 0x1d;
                                h.user = "app";
                                h.auth_response = token;
                                if (db) h.database = "shop?sessionId=42";
                                if (plugin) h.auth_plugin = native_password_plugin;
                                if (attrs) h.connect_attrs = capture_attrs;
                                std::string built = build_handshake_response(h);
                                exact_copy copy(built);
                                auto back = parse_handshake_response(copy.view());
                                std::string what =
                                    "caps " + std::to_string(h.capabilities) + " token " + std::to_string(token.size());
                                CPPUNIT_ASSERT_MESSAGE(what + (back ? "" : ": " + back.err().message), back.ok());
                                assert_same(h, *back, what);
                                ++combinations;
                            }
        CPPUNIT_ASSERT(combinations > 150);
    }

    void response_ssl_request()
    {
        // The 32-byte SSLRequest: the fixed part only.
        handshake_response h;
        h.capabilities = cap::protocol_41 | cap::ssl | cap::secure_connection;
        h.max_packet = 1 << 24;
        h.charset = 33;
        std::string ssl = build_handshake_response(h).substr(0, 32);
        // What backend_conn sends (backend_tls): the builder stops there itself.
        h.user = "app";
        h.ssl_request = true;
        CPPUNIT_ASSERT(build_handshake_response(h) == ssl);
        exact_copy copy(ssl);
        auto r = parse_handshake_response(copy.view());
        CPPUNIT_ASSERT(r.ok());
        CPPUNIT_ASSERT(r->ssl_request);
        CPPUNIT_ASSERT(has(r->capabilities, cap::ssl));
        CPPUNIT_ASSERT_EQUAL(33, int(r->charset));
        // The fixed part of a real response followed by a user is not one.
        auto full = parse_handshake_response(payload(captured::login.request));
        CPPUNIT_ASSERT(full.ok() && !full->ssl_request);
        // One byte short of the fixed part is an error, not an SSLRequest.
        exact_copy shorter(ssl.substr(0, 31));
        CPPUNIT_ASSERT(!parse_handshake_response(shorter.view()).ok());
    }

    void response_truncated_and_malformed()
    {
        for (const auto* e : {&captured::login, &captured::mariadb_cli, &captured::auth_switch}) {
            std::string_view whole = payload(e->request);
            auto full = parse_handshake_response(whole);
            CPPUNIT_ASSERT(full.ok());
            for (std::size_t n = 0; n < whole.size(); ++n) {
                exact_copy copy(whole.substr(0, n));
                auto r = parse_handshake_response(copy.view());
                std::string at = std::string(e->name) + " prefix " + std::to_string(n);
                if (n < 32) {
                    CPPUNIT_ASSERT_MESSAGE(at, !r.ok());
                } else if (n == 32) {
                    CPPUNIT_ASSERT_MESSAGE(at, r.ok() && r->ssl_request);
                } else if (r.ok()) {
                    // Only at a field boundary, and then the fields present are whole.
                    CPPUNIT_ASSERT_EQUAL_MESSAGE(at, full->user, r->user);
                    CPPUNIT_ASSERT_EQUAL_MESSAGE(at, hex(full->auth_response), hex(r->auth_response));
                    CPPUNIT_ASSERT_MESSAGE(at, r->database.empty() || r->database == full->database);
                    CPPUNIT_ASSERT_MESSAGE(at, r->auth_plugin.empty() || r->auth_plugin == full->auth_plugin);
                    CPPUNIT_ASSERT_MESSAGE(at, r->connect_attrs.empty());
                }
            }
        }
        // Pre-4.1 clients (no CLIENT_PROTOCOL_41) are refused.
        std::string old(payload(captured::login.request));
        old[1] = char(old[1] & ~0x02);
        CPPUNIT_ASSERT(!parse_handshake_response(old).ok());
        // A lenenc auth length past the end.
        handshake_response h;
        h.capabilities = cap::protocol_41 | cap::secure_connection | cap::plugin_auth_lenenc_data;
        h.user = "u";
        h.auth_response = "0123456789";
        std::string bad = build_handshake_response(h);
        bad[32 + 2] = '\x7f';
        CPPUNIT_ASSERT(!parse_handshake_response(bad).ok());
        bad[32 + 2] = '\xfb';   // NULL is not a length
        CPPUNIT_ASSERT(!parse_handshake_response(bad).ok());
    }

    void captured_auth_switch()
    {
        auto s = parse_auth_switch(payload(captured::auth_switch.answer));
        CPPUNIT_ASSERT(s.ok());
        CPPUNIT_ASSERT_EQUAL(std::string(native_password_plugin), s->plugin);
        CPPUNIT_ASSERT_EQUAL(scramble_size, s->data.size());
        CPPUNIT_ASSERT_EQUAL(hex(payload(captured::auth_switch.answer)), hex(build_auth_switch(s->plugin, s->data)));
        auto c = parse_auth_switch(payload(captured::change_user.answer));
        CPPUNIT_ASSERT(c.ok());
        CPPUNIT_ASSERT_EQUAL(std::string(native_password_plugin), c->plugin);
        CPPUNIT_ASSERT_EQUAL(scramble_size, c->data.size());
    }

    void auth_switch_malformed()
    {
        CPPUNIT_ASSERT(!parse_auth_switch(payload(captured::login.answer)).ok());   // an OK
        CPPUNIT_ASSERT(!parse_auth_switch(""sv).ok());
        CPPUNIT_ASSERT(!parse_auth_switch("\xfe"
                                          "mysql_native"sv)
                            .ok());   // no NUL after the name
        auto bare = parse_auth_switch(
            "\xfe"
            "p\0"sv);   // no data
        CPPUNIT_ASSERT(bare.ok());
        CPPUNIT_ASSERT_EQUAL(std::string("p"), bare->plugin);
        CPPUNIT_ASSERT(bare->data.empty());
    }

    void captured_change_user()
    {
        std::uint32_t caps = captured::change_user.capabilities;
        auto c = parse_change_user(payload(captured::change_user.request), caps);
        CPPUNIT_ASSERT_MESSAGE(c ? "" : c.err().message, c.ok());
        CPPUNIT_ASSERT_EQUAL(std::string(captured::user), c->user);
        CPPUNIT_ASSERT_EQUAL(std::size_t(20), c->auth_response.size());
        CPPUNIT_ASSERT_EQUAL(std::string(captured::database), c->database);
        CPPUNIT_ASSERT_EQUAL(std::uint16_t(45), c->charset);
        CPPUNIT_ASSERT_EQUAL(std::string(native_password_plugin), c->auth_plugin);
        CPPUNIT_ASSERT_EQUAL(hex("\x04_pid\x03"
                                 "777"),
                             hex(c->connect_attrs));
        // (MariaDB answers it with an auth switch; auth_test checks the token.)
        CPPUNIT_ASSERT(!parse_change_user(payload(captured::login.request), caps).ok());   // not 0x11
    }

    void change_user_optional_tail_and_truncation()
    {
        std::uint32_t caps = captured::change_user.capabilities;
        std::string_view whole = payload(captured::change_user.request);
        auto full = parse_change_user(whole, caps);
        CPPUNIT_ASSERT(full.ok());
        std::size_t db_end = 1 + full->user.size() + 1 + 1 + 20 + full->database.size() + 1;
        for (std::size_t n = 0; n < whole.size(); ++n) {
            exact_copy copy(whole.substr(0, n));
            auto c = parse_change_user(copy.view(), caps);
            std::string at = "prefix " + std::to_string(n);
            if (n < db_end) CPPUNIT_ASSERT_MESSAGE(at, !c.ok());
            if (n == db_end) {
                // Old clients stop after the database.
                CPPUNIT_ASSERT_MESSAGE(at, c.ok());
                CPPUNIT_ASSERT_EQUAL(std::uint16_t(0), c->charset);
                CPPUNIT_ASSERT(c->auth_plugin.empty());
            }
        }
        // Without CLIENT_SECURE_CONNECTION the token is NUL-terminated.
        std::string plain =
            "\x11"
            "bob\0"
            "tok\0"
            "db\0"s;
        auto p = parse_change_user(plain, cap::protocol_41);
        CPPUNIT_ASSERT(p.ok());
        CPPUNIT_ASSERT_EQUAL(std::string("tok"), p->auth_response);
        CPPUNIT_ASSERT_EQUAL(std::string("db"), p->database);
        // A one-byte auth length past the end.
        CPPUNIT_ASSERT(!parse_change_user("\x11"
                                          "bob\0\x30"
                                          "abc"s,
                                          cap::secure_connection)
                            .ok());
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(handshake_test);
