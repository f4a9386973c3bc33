// worker::login_throttle: per-address windows, the threshold, expiry, and a
// bounded table under a scan from many addresses.
#include <cppunit/extensions/HelperMacros.h>

#include <string>

#include "worker/login_throttle.hh"

using causeway::worker::login_throttle;

class login_throttle_test : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(login_throttle_test);
    CPPUNIT_TEST(delays_after_threshold);
    CPPUNIT_TEST(window_expires);
    CPPUNIT_TEST(zero_threshold_and_zero_delay);
    CPPUNIT_TEST(table_stays_bounded);
    CPPUNIT_TEST_SUITE_END();

public:
    void delays_after_threshold()
    {
        login_throttle t;
        for (int i = 0; i < 5; ++i) {
            CPPUNIT_ASSERT_EQUAL(0, t.delay_for("10.0.0.1", 1000, 5, 700));
            t.failed("10.0.0.1", 1000 + std::uint64_t(i));
        }
        CPPUNIT_ASSERT_EQUAL(700, t.delay_for("10.0.0.1", 2000, 5, 700));   // after 5 failures: the 6th waits
        CPPUNIT_ASSERT_EQUAL(0, t.delay_for("10.0.0.2", 2001, 5, 700));   // per address
    }

    void window_expires()
    {
        login_throttle t;
        for (int i = 0; i < 10; ++i) t.failed("h", 1000);
        CPPUNIT_ASSERT_EQUAL(300, t.delay_for("h", 1000 + login_throttle::window_ms - 1, 5, 300));
        CPPUNIT_ASSERT_EQUAL(0, t.delay_for("h", 1000 + login_throttle::window_ms, 5, 300));
        t.failed("h", 1000 + login_throttle::window_ms);   // a new window starts at 1
        CPPUNIT_ASSERT_EQUAL(0, t.delay_for("h", 1000 + login_throttle::window_ms, 5, 300));
    }

    void zero_threshold_and_zero_delay()
    {
        login_throttle t;
        CPPUNIT_ASSERT_EQUAL(50, t.delay_for("h", 0, 0, 50));
        for (int i = 0; i < 10; ++i) t.failed("h", 5);
        CPPUNIT_ASSERT_EQUAL(0, t.delay_for("h", 5, 5, 0));
    }

    void table_stays_bounded()
    {
        login_throttle t;
        for (std::size_t i = 0; i < 3 * login_throttle::max_hosts; ++i) t.failed("10." + std::to_string(i), 1000);
        CPPUNIT_ASSERT(t.hosts() <= login_throttle::max_hosts);
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(login_throttle_test);
