// The per-client log limiter as tables of (time, class, address) -> let
// through or not, and the summaries each window's end yields.
#include <cppunit/extensions/HelperMacros.h>

#include "common/log_limiter.hh"

using causeway::common::log_limiter;

namespace {
struct step {
    std::uint64_t at_ms;
    const char* message_class;
    const char* address;
    bool log;
    std::uint64_t ended_suppressed;
};

void run(log_limiter& l, std::initializer_list<step> steps)
{
    int i = 0;
    for (const step& s : steps) {
        auto a = l.admit(s.message_class, s.address, s.at_ms);
        std::string where = "step " + std::to_string(i++) + " at " + std::to_string(s.at_ms) + " ms";
        CPPUNIT_ASSERT_EQUAL_MESSAGE(where, s.log, a.log);
        CPPUNIT_ASSERT_EQUAL_MESSAGE(where, s.ended_suppressed, a.ended_suppressed);
    }
}
}   // namespace

class log_limiter_test : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(log_limiter_test);
    CPPUNIT_TEST(burst_then_suppressed_then_summary);
    CPPUNIT_TEST(keys_are_class_and_address);
    CPPUNIT_TEST(a_new_window_reports_the_old_one);
    CPPUNIT_TEST(quiet_windows_need_no_summary);
    CPPUNIT_TEST(too_many_addresses_share_one_key);
    CPPUNIT_TEST_SUITE_END();

public:
    void burst_then_suppressed_then_summary()
    {
        log_limiter l({2, 1000, 16});
        run(l,
            {{0, "auth", "10.0.0.1", true, 0},
             {10, "auth", "10.0.0.1", true, 0},
             {20, "auth", "10.0.0.1", false, 0},
             {999, "auth", "10.0.0.1", false, 0}});
        CPPUNIT_ASSERT(l.expire(999).empty());   // the window is not over yet
        auto s = l.expire(1000);
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), s.size());
        CPPUNIT_ASSERT_EQUAL(std::string("auth"), s[0].message_class);
        CPPUNIT_ASSERT_EQUAL(std::string("10.0.0.1"), s[0].address);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(2), s[0].suppressed);
        CPPUNIT_ASSERT_EQUAL(std::size_t(0), l.keys());
        CPPUNIT_ASSERT(l.expire(5000).empty());   // reported once
        run(l, {{5000, "auth", "10.0.0.1", true, 0}});   // a fresh window
    }

    void keys_are_class_and_address()
    {
        log_limiter l({1, 1000, 16});
        run(l,
            {{0, "auth", "10.0.0.1", true, 0},
             {1, "auth", "10.0.0.2", true, 0},
             {2, "tls", "10.0.0.1", true, 0},
             {3, "auth", "10.0.0.1", false, 0},
             {4, "auth", "10.0.0.2", false, 0},
             {5, "auth", "10.0.0.2", false, 0}});
        auto s = l.expire(2000);
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), s.size());
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(1), s[0].suppressed);
        CPPUNIT_ASSERT_EQUAL(std::string("10.0.0.2"), s[1].address);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(2), s[1].suppressed);
    }

    void a_new_window_reports_the_old_one()
    {
        // No expire() between the windows: the first line of the next window
        // carries the count, so it is never lost.
        log_limiter l({1, 100, 16});
        run(l,
            {{0, "c", "a", true, 0},
             {50, "c", "a", false, 0},
             {60, "c", "a", false, 0},
             {100, "c", "a", true, 2},
             {150, "c", "a", false, 0}});
        auto s = l.expire(200);
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), s.size());
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(1), s[0].suppressed);
    }

    void quiet_windows_need_no_summary()
    {
        log_limiter l({3, 100, 16});
        run(l, {{0, "c", "a", true, 0}, {10, "c", "a", true, 0}, {100, "c", "a", true, 0}});
        CPPUNIT_ASSERT(l.expire(1000).empty());
        CPPUNIT_ASSERT_EQUAL(std::size_t(0), l.keys());
    }

    void too_many_addresses_share_one_key()
    {
        log_limiter l({1, 100, 2});
        run(l,
            {{0, "c", "a", true, 0},
             {0, "c", "b", true, 0},
             {0, "c", "x", true, 0},   // the shared "*" key's first line
             {0, "c", "y", false, 0},   // suppressed under "*"
             {0, "c", "a", false, 0}});
        CPPUNIT_ASSERT_EQUAL(std::size_t(3), l.keys());
        auto s = l.expire(100);
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), s.size());
        CPPUNIT_ASSERT_EQUAL(std::string("a"), s[0].address);
        CPPUNIT_ASSERT_EQUAL(std::string("*"), s[1].address);
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(log_limiter_test);
