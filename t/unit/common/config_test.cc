// The config loader: defaults, types, ranges, file:line in every error, and
// that the man page and the example INI document every key of the table.
#include <cppunit/extensions/HelperMacros.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "common/config.hh"
#include "common/log.hh"

using namespace causeway::common;

namespace {
const char* minimal = "[monitor]\nuser = m\n[primary]\naddress = 127.0.0.1:3306\n[users]\napp = secret\n";

std::string slurp(const char* path)
{
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}
}   // namespace

class config_test : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(config_test);
    CPPUNIT_TEST(defaults_apply);
    CPPUNIT_TEST(full_file_parses);
    CPPUNIT_TEST(errors_name_file_and_line);
    CPPUNIT_TEST(cross_checks);
    CPPUNIT_TEST(every_key_is_documented);
    CPPUNIT_TEST(logging_and_admin_keys);
    CPPUNIT_TEST(tls_and_login_limit_keys);
    CPPUNIT_TEST(log_lines_are_escaped);
    CPPUNIT_TEST(backend_tls_per_server);
    CPPUNIT_TEST(users_file_text);
    CPPUNIT_TEST(users_file_not_regular);
    CPPUNIT_TEST_SUITE_END();

public:
    void defaults_apply()
    {
        auto c = parse_config_text(minimal, "x.ini");
        CPPUNIT_ASSERT_MESSAGE(c ? "" : c.err().message, c.ok());
        CPPUNIT_ASSERT_EQUAL(2, c->workers);
        CPPUNIT_ASSERT_EQUAL(std::uint16_t(6446), c->listen.port);
        CPPUNIT_ASSERT_EQUAL(std::string("/run/causeway/causeway.pid"), c->pid_file);
        CPPUNIT_ASSERT(c->routing() == routing_mode::smartscale);
        CPPUNIT_ASSERT(c->session() == session_id_kind::connection);
        CPPUNIT_ASSERT_EQUAL(10, c->causal_wait_ms);
        CPPUNIT_ASSERT(!c->primary_in_read_pool && !c->monotonic_reads);
        CPPUNIT_ASSERT_EQUAL(std::string("/causeway-6446"), c->effective_shm_name());
        CPPUNIT_ASSERT_EQUAL(std::string("secret"), c->users["app"]);
    }

    void full_file_parses()
    {
        auto c = parse_config_text(
            "; comment\n[causeway]\nlisten = 0.0.0.0:7000\nworkers = 4\nmode = bridge\n"
            "max_connections = 50\n[primary]\naddress = 10.0.0.1:3306\n"
            "[replicas]\nr1 = 10.0.0.2:3306\nr2 = [::1]:3307\n[users]\na = x\nb =\n",
            "f.ini");
        CPPUNIT_ASSERT_MESSAGE(c ? "" : c.err().message, c.ok());
        CPPUNIT_ASSERT_EQUAL(4, c->workers);
        CPPUNIT_ASSERT_EQUAL(size_t(2), c->replicas.size());
        CPPUNIT_ASSERT_EQUAL(std::string("r2"), c->replicas[1].name);
        CPPUNIT_ASSERT_EQUAL(std::string("::1"), c->replicas[1].addr.host);
        CPPUNIT_ASSERT_EQUAL(std::string(""), c->users["b"]);
    }

    void expect_error(const std::string& text, const std::string& expected)
    {
        auto c = parse_config_text(text, "e.ini");
        CPPUNIT_ASSERT_MESSAGE("accepted: " + text, !c.ok());
        CPPUNIT_ASSERT_MESSAGE(c.err().message + " lacks " + expected,
                               c.err().message.find(expected) != std::string::npos);
    }

    void errors_name_file_and_line()
    {
        expect_error(std::string(minimal) + "[bogus]\nx = 1\n", "e.ini:8: unknown section [bogus]");
        expect_error(std::string("[causeway]\nwrkers = 2\n") + minimal, "e.ini:2: unknown key 'wrkers'");
        expect_error(std::string("[causeway]\n\nworkers = 0\n") + minimal, "e.ini:3: workers = '0'");
        expect_error(std::string("[causeway]\nworkers = two\n") + minimal, "e.ini:2:");
        expect_error(std::string("[causeway]\nmode = fast\n") + minimal, "e.ini:2: mode = 'fast': expected one of");
        expect_error(std::string("[causeway]\nlisten = 127.0.0.1\n") + minimal, "e.ini:2: listen");
        expect_error(std::string("[causeway]\nlisten = 1.2.3.4:99999\n") + minimal, "e.ini:2:");
        expect_error(std::string(minimal) + "[replicas]\nr1 = 127.0.0.1:1\nr2 = 127.0.0.1:1\n", "e.ini:9:");
        expect_error(std::string("[causeway]\nworkers = 1\nworkers = 2\n") + minimal, "e.ini:3: 'workers' set twice");
        expect_error(std::string("[causeway]\nthis line is junk\n") + minimal, "e.ini:2: syntax error");
        expect_error("orphan = 1\n" + std::string(minimal), "e.ini:1: 'orphan' is outside any section");
    }

    void cross_checks()
    {
        expect_error("[users]\na = b\n", "[primary] address is required");
        expect_error("[causeway]\nmode = direct\n[primary]\naddress = 127.0.0.1:3306\n[users]\na = b\n",
                     "needs [monitor] user");
        expect_error(std::string("[causeway]\nmonotonic_reads = maybe\n") + minimal,
                     "e.ini:2: monotonic_reads = 'maybe': expected on or off");
        expect_error(std::string("[causeway]\nsession_id = SESSION\n") + minimal, "e.ini:2: session_id");
        expect_error("[primary]\naddress = 127.0.0.1:3306\n", "no users");
        // users_from_primary loads them: an empty [users] is fine, but it
        // needs the monitor login to read them with.
        expect_error("[causeway]\nmode = bridge\nusers_from_primary = on\n[primary]\naddress = 127.0.0.1:3306\n",
                     "users_from_primary needs [monitor] user");
        {
            auto c = parse_config_text(
                "[causeway]\nusers_from_primary = on\nusers_refresh_s = 5\n"
                "[monitor]\nuser = m\npassword = p\n[primary]\naddress = 127.0.0.1:3306\n",
                "u.ini");
            CPPUNIT_ASSERT_MESSAGE(c ? "" : c.err().message, c.ok());
            CPPUNIT_ASSERT(c->users_from_primary);
            CPPUNIT_ASSERT_EQUAL(5, c->users_refresh_s);
            CPPUNIT_ASSERT_EQUAL(1024, c->users_capacity);
            CPPUNIT_ASSERT(c->users.empty());
        }
        expect_error("[causeway]\nusers_file = /nonexistent/users\n" + std::string(minimal), "not both");
        expect_error("[causeway]\nusers_file = /nonexistent/users\n[primary]\naddress = 127.0.0.1:3306\n",
                     "/nonexistent/users");
    }

    // backend_tls for all, overridden per server by name; every doubt is an
    // error at load time, never a guess at connect time.
    void backend_tls_per_server()
    {
        auto c = parse_config_text("[causeway]\nbackend_tls = on\n" + std::string(minimal) +
                                       "[replicas]\nr1 = 127.0.0.1:1\nr2 = 127.0.0.1:2\n"
                                       "[backend_tls]\nr1 = off\nprimary = verify\n"
                                       "[causeway]\nbackend_tls_ca = /etc/ssl/ca.pem\n",
                                   "b.ini");
        CPPUNIT_ASSERT_MESSAGE(c ? "" : c.err().message, c.ok());
        CPPUNIT_ASSERT(c->backend_tls_for("r1") == backend_tls_mode::off);
        CPPUNIT_ASSERT(c->backend_tls_for("r2") == backend_tls_mode::on);
        CPPUNIT_ASSERT(c->backend_tls_for("primary") == backend_tls_mode::verify);
        auto d = parse_config_text(minimal, "d.ini");
        CPPUNIT_ASSERT(d->backend_tls_for("primary") == backend_tls_mode::off);
        expect_error("[causeway]\nbackend_tls = verify\n" + std::string(minimal), "needs backend_tls_ca");
        expect_error(std::string(minimal) + "[backend_tls]\nprimary = verify\n", "needs backend_tls_ca");
        expect_error(std::string(minimal) + "[backend_tls]\nr9 = on\n", "'r9', which is no listed server");
        expect_error(std::string(minimal) + "[backend_tls]\nprimary = yes\n", "expected one of off|on|verify");
    }

    void logging_and_admin_keys()
    {
        auto d = parse_config_text(minimal, "d.ini");
        CPPUNIT_ASSERT_MESSAGE(d ? "" : d.err().message, d.ok());
        CPPUNIT_ASSERT_EQUAL(6, d->log_level);
        CPPUNIT_ASSERT_EQUAL(std::string("causeway"), d->syslog_ident);
        CPPUNIT_ASSERT_EQUAL(0, d->syslog_facility);
        CPPUNIT_ASSERT_EQUAL(std::uint16_t(0), d->admin_listen.port);   // off
        auto c = parse_config_text(std::string("[causeway]\nlog_level = warning\nsyslog_ident = cw-test\n"
                                               "syslog_facility = local3\nadmin_listen = 127.0.0.1:9446\n"
                                               "admin_user = ops\nadmin_password_hash = $6$abc$x\n") +
                                       minimal,
                                   "a.ini");
        CPPUNIT_ASSERT_MESSAGE(c ? "" : c.err().message, c.ok());
        CPPUNIT_ASSERT_EQUAL(4, c->log_level);
        CPPUNIT_ASSERT_EQUAL(std::string("cw-test"), c->syslog_ident);
        CPPUNIT_ASSERT_EQUAL(4, c->syslog_facility);
        CPPUNIT_ASSERT_EQUAL(std::uint16_t(9446), c->admin_listen.port);
        CPPUNIT_ASSERT_EQUAL(std::string("$6$abc$x"), c->admin_password_hash);
        for (auto [text, level] : {std::pair{"7", 7}, {"debug", 7}, {"err", 3}, {"error", 3}, {"0", 0}, {"emerg", 0}}) {
            auto l = parse_config_text(std::string("[causeway]\nlog_level = ") + text + "\n" + minimal, "l.ini");
            CPPUNIT_ASSERT_MESSAGE(text, l.ok() && l->log_level == level);
        }
        auto off = parse_config_text(std::string("[causeway]\nadmin_listen =\n") + minimal, "o.ini");
        CPPUNIT_ASSERT_MESSAGE(off ? "" : off.err().message, off.ok() && off->admin_listen.port == 0);
        expect_error(std::string("[causeway]\nlog_level = 8\n") + minimal,
                     "e.ini:2: log_level = '8': expected a syslog level");
        expect_error(std::string("[causeway]\nlog_level = loud\n") + minimal, "e.ini:2: log_level");
        expect_error(std::string("[causeway]\nsyslog_facility = local8\n") + minimal, "e.ini:2: syslog_facility");
        expect_error(std::string("[causeway]\nadmin_listen = 9446\n") + minimal, "e.ini:2: admin_listen");
        expect_error(std::string("[causeway]\nadmin_user = ops\n") + minimal, "admin_user and admin_password_hash");
    }

    void tls_and_login_limit_keys()
    {
        auto d = parse_config_text(minimal, "d.ini");
        CPPUNIT_ASSERT(d->tls() == tls_mode_kind::allowed && !d->tls_offered());   // no certificate
        CPPUNIT_ASSERT_EQUAL(10000, d->handshake_timeout_ms);
        CPPUNIT_ASSERT_EQUAL(5, d->auth_failures_before_delay);
        CPPUNIT_ASSERT_EQUAL(1000, d->auth_failure_delay_ms);
        auto c = parse_config_text(std::string("[causeway]\ntls_mode = required\ntls_cert = /c.pem\ntls_key = /k.pem\n"
                                               "tls_min_version = TLSv1.3\nhandshake_timeout_ms = 500\n") +
                                       minimal,
                                   "t.ini");
        CPPUNIT_ASSERT_MESSAGE(c ? "" : c.err().message, c.ok());
        CPPUNIT_ASSERT(c->tls() == tls_mode_kind::required && c->tls_offered());
        CPPUNIT_ASSERT_EQUAL(1, c->tls_min_version);
        CPPUNIT_ASSERT_EQUAL(500, c->handshake_timeout_ms);
        auto off = parse_config_text(
            std::string("[causeway]\ntls_mode = disabled\ntls_cert = /c\ntls_key = /k\n") + minimal, "o.ini");
        CPPUNIT_ASSERT(off.ok() && !off->tls_offered());
        expect_error(std::string("[causeway]\ntls_cert = /c.pem\n") + minimal, "tls_cert and tls_key go together");
        expect_error(std::string("[causeway]\ntls_mode = required\n") + minimal, "tls_mode = required needs tls_cert");
        expect_error(std::string("[causeway]\ntls_ca = /ca.pem\n") + minimal, "tls_ca");
        expect_error(std::string("[causeway]\ntls_min_version = TLSv1.1\n") + minimal, "e.ini:2: tls_min_version");
        expect_error(std::string("[causeway]\nhandshake_timeout_ms = 0\n") + minimal, "e.ini:2: handshake_timeout_ms");
    }

    void log_lines_are_escaped()
    {
        char out[64];
        escape_for_log("app\n2026-01-01 crit: \x1b[2Jx\\y", out, sizeof out);
        CPPUNIT_ASSERT_EQUAL(std::string("app\\x0a2026-01-01 crit: \\x1b[2Jx\\\\y"), std::string(out));
        char small[6];
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), escape_for_log("ab\ncd", small, sizeof small));   // never half an escape
        CPPUNIT_ASSERT_EQUAL(std::string("ab"), std::string(small, 2));
    }

    void every_key_is_documented()
    {
        std::string man = slurp("man/causeway.ini.5");
        std::string ini = slurp("etc/causeway.ini");
        CPPUNIT_ASSERT_MESSAGE("man/causeway.ini.5 missing (run from the repo root)", !man.empty());
        CPPUNIT_ASSERT_MESSAGE("etc/causeway.ini missing (run from the repo root)", !ini.empty());
        for (const auto& k : config_keys()) {
            std::string section = std::string("[") + k.section + "]";
            CPPUNIT_ASSERT_MESSAGE(section + " not in man page", man.find(section) != std::string::npos);
            CPPUNIT_ASSERT_MESSAGE(section + " not in etc/causeway.ini", ini.find(section) != std::string::npos);
            if (std::string(k.name) == "*") continue;
            CPPUNIT_ASSERT_MESSAGE(std::string(k.name) + " not in man page",
                                   man.find(std::string(".It Cm ") + k.name) != std::string::npos);
            CPPUNIT_ASSERT_MESSAGE(std::string(k.name) + " not in etc/causeway.ini",
                                   ini.find(std::string(k.name) + " =") != std::string::npos);
        }
        // And the example file itself must load (apart from its users_file).
        auto c = parse_config_text(ini, "etc/causeway.ini");
        CPPUNIT_ASSERT_MESSAGE(c ? "" : c.err().message, c.ok());
    }

    // What load_config reads from the file users_file names.
    void users_file_text()
    {
        auto u =
            parse_users_text("; comment\napp = secret\nreport = *14E65567ABDB5135D0CFD9A70B3032C179A49EE7\n", "u.txt");
        CPPUNIT_ASSERT(u.ok());
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), u->size());
        CPPUNIT_ASSERT_EQUAL(std::string("secret"), u->at("app"));
        auto bad = parse_users_text("app = a\n[users]\nb = c\n", "u.txt");
        CPPUNIT_ASSERT(!bad.ok());
        CPPUNIT_ASSERT_EQUAL(0u, unsigned(bad.err().message.find("u.txt:3: ")));
        bad = parse_users_text("app = a\napp = b\n", "u.txt");
        CPPUNIT_ASSERT(!bad.ok() && bad.err().message.find("u.txt:2: ") == 0);
        bad = parse_users_text("app = a\nno equals sign\n", "u.txt");
        CPPUNIT_ASSERT(!bad.ok() && bad.err().message.find("u.txt:2: syntax error") == 0);
    }

    // users_file must be a regular file: a FIFO is refused at once, never
    // read (a read would block the start or the reload).
    void users_file_not_regular()
    {
        char dir[] = "/tmp/cw-config-test-XXXXXX";
        CPPUNIT_ASSERT(mkdtemp(dir));
        std::string fifo = std::string(dir) + "/users";
        CPPUNIT_ASSERT_EQUAL(0, mkfifo(fifo.c_str(), 0600));
        for (const std::string& path : {fifo, std::string(dir)})
            expect_error("[causeway]\nusers_file = " + path + "\n[primary]\naddress = 127.0.0.1:3306\n",
                         "e.ini: users_file " + path + ": not a regular file");
        unlink(fifo.c_str());
        rmdir(dir);
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(config_test);
