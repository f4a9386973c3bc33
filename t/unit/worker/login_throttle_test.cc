// worker::login_throttle: per-address windows, the threshold, expiry, a scan
// from many addresses, and two workers sharing one table (as in the segment).
#include <cppunit/extensions/HelperMacros.h>

#include <memory>
#include <string>

#include "worker/login_throttle.hh"

using causeway::worker::login_throttle;
namespace shm = causeway::shm;

namespace {
// A table as the segment holds it, zeroed, and a throttle over it.
struct table_fixture {
    std::unique_ptr<shm::login_table> table = std::make_unique<shm::login_table>();
    login_throttle view(std::uint64_t seed = 42) { return login_throttle(table.get(), seed); }
};
}   // namespace

class login_throttle_test : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(login_throttle_test);
    CPPUNIT_TEST(delays_after_threshold);
    CPPUNIT_TEST(window_expires);
    CPPUNIT_TEST(zero_threshold_and_zero_delay);
    CPPUNIT_TEST(scan_from_many_addresses);
    CPPUNIT_TEST(shared_between_workers);
    CPPUNIT_TEST(no_table_no_delay);
    CPPUNIT_TEST_SUITE_END();

public:
    void delays_after_threshold()
    {
        table_fixture f;
        login_throttle t = f.view();
        for (int i = 0; i < 5; ++i) {
            CPPUNIT_ASSERT_EQUAL(0, t.delay_for("10.0.0.1", 1000, 5, 700));
            t.failed("10.0.0.1", 1000 + std::uint64_t(i));
        }
        CPPUNIT_ASSERT_EQUAL(700, t.delay_for("10.0.0.1", 2000, 5, 700));   // after 5 failures: the 6th waits
        CPPUNIT_ASSERT_EQUAL(0, t.delay_for("10.0.0.2", 2001, 5, 700));   // per address
    }

    void window_expires()
    {
        table_fixture f;
        login_throttle t = f.view();
        for (int i = 0; i < 10; ++i) t.failed("h", 1000);
        CPPUNIT_ASSERT_EQUAL(300, t.delay_for("h", 1000 + login_throttle::window_ms - 1, 5, 300));
        CPPUNIT_ASSERT_EQUAL(0, t.delay_for("h", 1000 + login_throttle::window_ms, 5, 300));
        t.failed("h", 1000 + login_throttle::window_ms);   // a new window starts at 1
        CPPUNIT_ASSERT_EQUAL(0, t.delay_for("h", 1000 + login_throttle::window_ms, 5, 300));
    }

    void zero_threshold_and_zero_delay()
    {
        table_fixture f;
        login_throttle t = f.view();
        CPPUNIT_ASSERT_EQUAL(50, t.delay_for("h", 0, 0, 50));
        for (int i = 0; i < 10; ++i) t.failed("h", 5);
        CPPUNIT_ASSERT_EQUAL(0, t.delay_for("h", 5, 5, 0));
    }

    // More addresses than slots: the table never grows, the latest addresses
    // are still tracked once the old windows are over, and an address whose
    // slots are all taken by live windows is simply not slowed.
    void scan_from_many_addresses()
    {
        table_fixture f;
        login_throttle t = f.view();
        for (std::size_t i = 0; i < 3 * shm::login_slots; ++i) t.failed("10." + std::to_string(i), 1000);
        CPPUNIT_ASSERT(t.hosts(1000) <= shm::login_slots);
        std::uint64_t later = 1000 + login_throttle::window_ms;
        for (int i = 0; i < 5; ++i) t.failed("192.0.2.7", later);
        CPPUNIT_ASSERT_EQUAL(900, t.delay_for("192.0.2.7", later, 5, 900));
    }

    // The failures of one address add up whichever worker saw them.
    void shared_between_workers()
    {
        table_fixture f;
        login_throttle w0 = f.view(), w1 = f.view();
        for (int i = 0; i < 3; ++i) w0.failed("10.0.0.9", 5000);
        for (int i = 0; i < 2; ++i) w1.failed("10.0.0.9", 5001);
        CPPUNIT_ASSERT_EQUAL(400, w0.delay_for("10.0.0.9", 5002, 5, 400));
        CPPUNIT_ASSERT_EQUAL(400, w1.delay_for("10.0.0.9", 5002, 5, 400));
        CPPUNIT_ASSERT_EQUAL(0, w1.delay_for("10.0.0.9", 5002, 6, 400));
    }

    void no_table_no_delay()
    {
        login_throttle t;
        t.failed("h", 1);
        CPPUNIT_ASSERT_EQUAL(0, t.delay_for("h", 1, 1, 300));
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(login_throttle_test);
