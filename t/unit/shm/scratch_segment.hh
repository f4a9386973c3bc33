// Test helper: a config naming a unique segment (/causeway-test-PID-N) and a
// guard that removes the name whatever happens to the test, so runs never
// collide with each other or leave /dev/shm litter.
#pragma once

#include <cppunit/extensions/HelperMacros.h>
#include <unistd.h>

#include <string>

#include "common/config.hh"
#include "shm/segment.hh"

namespace causeway::shm::test {

inline std::string unique_shm_name()
{
    static int n = 0;
    return "/causeway-test-" + std::to_string(getpid()) + "-" + std::to_string(++n);
}

struct scratch_segment {
    common::config cfg;

    explicit scratch_segment(int table_entries = 1024)
    {
        cfg.shm_name = unique_shm_name();
        cfg.session_table_size = table_entries;
        cfg.primary = common::backend_config{"primary", common::address{"127.0.0.1", 3306}};
        cfg.replicas.push_back(common::backend_config{"r1", common::address{"127.0.0.1", 3307}});
        cfg.replicas.push_back(common::backend_config{"r2", common::address{"::1", 3308}});
    }
    ~scratch_segment() { (void)segment::remove(cfg.shm_name); }
    scratch_segment(const scratch_segment&) = delete;
    scratch_segment& operator=(const scratch_segment&) = delete;

    const std::string& name() const { return cfg.shm_name; }
};

// The segment of a result that must have succeeded (the error message otherwise).
inline segment must(common::result<segment> r)
{
    CPPUNIT_ASSERT_MESSAGE(r ? "" : r.err().message, r.ok());
    return std::move(*r);
}

}   // namespace causeway::shm::test
