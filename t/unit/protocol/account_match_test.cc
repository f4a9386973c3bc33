// Host patterns and the choice of account, as tables. The expectations
// marked "server" were observed on MariaDB 10.11.19 (skip_name_resolve, a
// client on 127.0.0.1): which account CURRENT_USER() named after the login.
#include <cppunit/extensions/HelperMacros.h>

#include <string>
#include <vector>

#include "protocol/account_match.hh"

using namespace causeway::protocol;

class account_match_test : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(account_match_test);
    CPPUNIT_TEST(host_patterns);
    CPPUNIT_TEST(ranks);
    CPPUNIT_TEST(picks_like_the_server);
    CPPUNIT_TEST(hostile_patterns_are_cheap);
    CPPUNIT_TEST_SUITE_END();

public:
    void host_patterns()
    {
        struct row {
            const char* pattern;
            const char* ip;
            bool matches;
        } rows[] = {
            {"%", "127.0.0.1", true},
            {"", "10.1.2.3", true},   // an empty Host is '%'
            {"127.0.0.1", "127.0.0.1", true},
            {"127.0.0.1", "127.0.0.10", false},
            {"127.0.0.%", "127.0.0.1", true},   // server
            {"10.%", "127.0.0.1", false},   // server
            {"127.0.0._", "127.0.0.1", true},   // server
            {"127.0.0._", "127.0.0.12", false},
            {"127.%.1", "127.0.0.1", true},
            {"%.0.%", "127.0.0.1", true},
            {"127\\.0.0.1", "127.0.0.1", true},   // an escaped literal
            {"127.0.0.\\%", "127.0.0.1", false},   // '\%' is a literal '%'
            {"127.0.0.\\_", "127.0.0.1", false},
            {"127.0.0.0/255.255.255.0", "127.0.0.1", true},   // server
            {"127.0.0.0/255.255.255.0", "127.0.1.1", false},
            {"127.0.0.1/255.255.255.0", "127.0.0.1", false},   // server: the network is compared unmasked
            {"10.0.0.0/255.0.0.0", "10.200.3.4", true},
            {"10.0.0.0/255.0.0.0", "::1", false},
            {"localhost", "127.0.0.1", true},   // a loopback client is local
            {"localhost", "::1", true},
            {"localhost", "127.1.2.3", true},
            {"localhost", "10.0.0.1", false},
            {"::1", "::1", true},
            {"%", "::1", true},
            {"fe80::%", "fe80::1", true},
            {"192.168.1.1", "192.168.1.1x", false},
            {"a%", "", false},
        };
        for (const auto& r : rows)
            CPPUNIT_ASSERT_EQUAL_MESSAGE(std::string(r.pattern) + " vs " + r.ip, r.matches,
                                         host_matches(r.pattern, r.ip));
    }

    void ranks()
    {
        // Each more specific than the next.
        const char* order[] = {"127.0.0.1", "127.0.0._", "127.0.0.%", "127.0.%", "127.%", "%"};
        for (std::size_t i = 0; i + 1 < std::size(order); ++i)
            CPPUNIT_ASSERT_MESSAGE(std::string(order[i]) + " > " + order[i + 1],
                                   account_rank(order[i], false) > account_rank(order[i + 1], false));
        // The same host: a named account before an anonymous one; an anonymous
        // account with a more specific host before a named one.
        CPPUNIT_ASSERT(account_rank("%", false) > account_rank("%", true));
        CPPUNIT_ASSERT(account_rank("127.0.0.1", true) > account_rank("%", false));
        CPPUNIT_ASSERT_EQUAL(account_rank("", false), account_rank("%", false));
    }

    void picks_like_the_server()
    {
        struct row {
            std::vector<account_key> accounts;
            const char* user;
            const char* ip;
            long expect;
        } rows[] = {
            {{{"app", "%"}}, "app", "127.0.0.1", 0},
            {{{"app", "10.%"}}, "app", "127.0.0.1", -1},
            {{{"other", "%"}}, "app", "127.0.0.1", -1},
            // server: ''@'127.0.0.1' takes bob and u3 from bob@'%' and u3@'127.0.0.%'...
            {{{"bob", "%"}, {"", "127.0.0.1"}}, "bob", "127.0.0.1", 1},
            {{{"u3", "127.0.0.%"}, {"", "127.0.0.1"}}, "u3", "127.0.0.1", 1},
            // ...but not u6 from an exact ip/mask account (no wildcard: as specific)
            {{{"u6", "127.0.0.0/255.255.255.0"}, {"", "127.0.0.1"}}, "u6", "127.0.0.1", 0},
            // anyone else from 127.0.0.1 is the anonymous account (server)
            {{{"bob", "%"}, {"", "127.0.0.1"}}, "zed", "127.0.0.1", 1},
            {{{"bob", "%"}, {"", "10.%"}}, "zed", "127.0.0.1", -1},
            // a named account beats an anonymous one with the same host
            {{{"", "%"}, {"bob", "%"}}, "bob", "127.0.0.1", 1},
            // server: '127.0.0._' before '127.0.%'
            {{{"u9", "127.0.%"}, {"u9", "127.0.0._"}}, "u9", "127.0.0.1", 1},
            {{{"u9", "%"}, {"u9", "127.0.0.1"}, {"u9", "127.%"}}, "u9", "127.0.0.1", 1},
            {{{"u9", "%"}, {"u9", "127.0.0.1"}, {"u9", "127.%"}}, "u9", "127.9.9.9", 2},
            {{{"u9", "%"}, {"u9", "127.0.0.1"}, {"u9", "127.%"}}, "u9", "10.0.0.1", 0},
            // equally specific: "localhost" before "127.0.0.1", as the server sorts
            {{{"dave", "127.0.0.1"}, {"dave", "localhost"}}, "dave", "127.0.0.1", 1},
            {{{"dave", "127.0.0.1"}, {"dave", "localhost"}}, "dave", "::1", 1},
            // the case of the user name counts
            {{{"App", "%"}}, "app", "127.0.0.1", -1},
            {{}, "app", "127.0.0.1", -1},
        };
        for (const auto& r : rows)
            CPPUNIT_ASSERT_EQUAL_MESSAGE(std::string(r.user) + " from " + r.ip, r.expect,
                                         pick_account(r.accounts, r.user, r.ip));
    }

    void hostile_patterns_are_cheap()
    {
        // Backtracking matchers take exponential time on these; this one
        // answers at once.
        std::string pattern;
        for (int i = 0; i < 120; ++i) pattern += "%_";
        pattern += "x";
        std::string ip(200, '1');
        CPPUNIT_ASSERT(!host_matches(pattern, ip));
        CPPUNIT_ASSERT(host_matches(pattern.substr(0, pattern.size() - 1), ip));
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(account_match_test);
