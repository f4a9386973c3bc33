// daemon::open_files_needed / plan_open_files: the limit max_connections
// needs, raised within the hard limit, past it only when privileged and
// within fs.nr_open, else an error that names what to change.
#include <cppunit/extensions/HelperMacros.h>

#include "daemon/open_files.hh"

using namespace causeway;

class open_files_test : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(open_files_test);
    CPPUNIT_TEST(needed_counts_servers_and_pool);
    CPPUNIT_TEST(plans);
    CPPUNIT_TEST_SUITE_END();

    static rlimit lim(rlim_t soft, rlim_t hard) { return rlimit{soft, hard}; }

public:
    void needed_counts_servers_and_pool()
    {
        common::config cfg;
        cfg.max_connections = 1000;
        cfg.pool_max_idle_per_server = 16;
        cfg.primary = common::backend_config{"p", common::address{"127.0.0.1", 3306}};
        cfg.replicas.push_back(common::backend_config{"r1", common::address{"127.0.0.1", 3307}});
        cfg.replicas.push_back(common::backend_config{"r2", common::address{"127.0.0.1", 3308}});
        std::uint64_t servers = 1 + cfg.read_slots().size();
        CPPUNIT_ASSERT_EQUAL(1000 * (1 + servers) + 16 * servers + daemon::open_files_margin,
                             daemon::open_files_needed(cfg));
    }

    void plans()
    {
        // Enough already: unchanged.
        auto same = daemon::plan_open_files(500, lim(1024, 4096), false, 1 << 20);
        CPPUNIT_ASSERT(same && same->rlim_cur == 1024 && same->rlim_max == 4096);
        // Within the hard limit: the soft one is raised, by anyone.
        auto soft = daemon::plan_open_files(3000, lim(1024, 4096), false, 1 << 20);
        CPPUNIT_ASSERT(soft && soft->rlim_cur == 3000 && soft->rlim_max == 4096);
        auto unlimited = daemon::plan_open_files(3000, lim(1024, RLIM_INFINITY), false, 1 << 20);
        CPPUNIT_ASSERT(unlimited && unlimited->rlim_cur == 3000 && unlimited->rlim_max == RLIM_INFINITY);
        // Past it: root raises both, up to fs.nr_open; others get the reason.
        auto root = daemon::plan_open_files(50000, lim(1024, 4096), true, 1 << 20);
        CPPUNIT_ASSERT(root && root->rlim_cur == 50000 && root->rlim_max == 50000);
        auto user = daemon::plan_open_files(50000, lim(1024, 4096), false, 1 << 20);
        CPPUNIT_ASSERT(!user);
        CPPUNIT_ASSERT(user.err().message.find("hard limit is 4096") != std::string::npos);
        CPPUNIT_ASSERT(user.err().message.find("LimitNOFILE") != std::string::npos);
        auto kernel = daemon::plan_open_files(5000000, lim(1024, 4096), true, 1 << 20);
        CPPUNIT_ASSERT(!kernel);
        CPPUNIT_ASSERT(kernel.err().message.find("fs.nr_open") != std::string::npos);
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(open_files_test);
