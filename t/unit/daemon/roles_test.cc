// The role decision (daemon::decide_roles) as a table: which server is the
// primary, or why there is none, from what the poller saw of each server.
#include <cppunit/extensions/HelperMacros.h>

#include <string>
#include <vector>

#include "daemon/roles.hh"
#include "shm/roles.hh"

using namespace causeway;
using daemon::server_facts;
using ps = shm::primary_state;

namespace {

// Shorthands for one server's facts.
const server_facts writable{true, false, false, false};
const server_facts read_only{true, false, true, false};
const server_facts replica{true, false, true, true};
const server_facts writable_replica{true, false, false, true};   // read_only = 0, but replicating
const server_facts down{false, true, true, false};
const server_facts unheard{false, false, true, false};

struct row {
    const char* what;
    std::vector<server_facts> servers;   // read slots 1..
    std::size_t last_primary;
    std::size_t want_slot;
    ps want_state;
};

const std::vector<row> rows = {
    {"one writable, the rest replicas", {replica, replica, writable}, 3, 3, ps::up},
    {"the primary moved (switchover done)", {writable, replica, read_only}, 3, 1, ps::up},
    {"promoted, old primary not yet re-pointed", {writable, replica, read_only}, 3, 1, ps::up},
    {"writable but replicating from a listed server is a replica", {writable_replica, replica, writable}, 3, 3, ps::up},
    {"old primary read-only, none promoted yet: switching", {replica, replica, read_only}, 3, 0, ps::read_only},
    {"promoted but still names its old master: not yet", {writable_replica, replica, read_only}, 3, 0, ps::read_only},
    {"primary down, no promotion: down", {replica, replica, down}, 3, 0, ps::down},
    {"primary down, one promoted: up", {writable, replica, down}, 3, 1, ps::up},
    {"two writable: split brain", {writable, replica, writable}, 3, 0, ps::split_brain},
    {"three writable: split brain", {writable, writable, writable}, 3, 0, ps::split_brain},
    {"a down server's stale read_only = 0 does not count", {replica, down, writable}, 3, 3, ps::up},
    {"not heard from yet: unknown", {unheard, unheard, unheard}, 3, 0, ps::unknown},
    {"one heard, read-only, the rest not yet: unknown", {replica, unheard, unheard}, 3, 0, ps::unknown},
    {"an unpolled writable server is not the primary yet", {unheard, replica, writable}, 3, 3, ps::up},
    {"everything down, no last primary: down", {down, down}, 0, 0, ps::down},
    {"all read-only, no last primary: read_only", {replica, read_only}, 0, 0, ps::read_only},
    {"no servers", {}, 0, 0, ps::unknown},
};

}   // namespace

class roles_test : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(roles_test);
    CPPUNIT_TEST(decisions);
    CPPUNIT_TEST(writable_bits);
    CPPUNIT_TEST(same_server);
    CPPUNIT_TEST_SUITE_END();

public:
    void decisions()
    {
        std::string failures;
        for (const auto& r : rows) {
            auto d = daemon::decide_roles(r.servers, r.last_primary);
            if (d.primary_slot != r.want_slot || d.state != r.want_state)
                failures += std::string("\n  ") + r.what + ": got " + std::to_string(d.primary_slot) + " " +
                    shm::primary_state_name(d.state) + ", want " + std::to_string(r.want_slot) + " " +
                    shm::primary_state_name(r.want_state);
        }
        CPPUNIT_ASSERT_MESSAGE("roles:" + failures, failures.empty());
    }

    void writable_bits()
    {
        std::vector<server_facts> s = {writable, replica, writable};
        auto d = daemon::decide_roles(s, 3);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t((1u << 1) | (1u << 3)), d.writable_slots);
    }

    void same_server()
    {
        common::address a{"127.0.0.1", 3307};
        CPPUNIT_ASSERT(daemon::same_server("127.0.0.1", 3307, a));
        CPPUNIT_ASSERT(daemon::same_server("localhost", 3307, a));
        CPPUNIT_ASSERT(!daemon::same_server("127.0.0.1", 3308, a));
        CPPUNIT_ASSERT(!daemon::same_server("10.0.0.1", 3307, a));
        CPPUNIT_ASSERT(daemon::same_server("db1", 3306, common::address{"db1", 3306}));
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(roles_test);
