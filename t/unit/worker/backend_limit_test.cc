// worker::backend_limit: max_backend_connections_per_server counted across
// worker slots of one segment, leases that give their place back however they
// end, a dead worker's slot zeroed, and waiters woken in order or at their
// deadline.
#include <cppunit/extensions/HelperMacros.h>
#include <event2/event.h>

#include <string>
#include <vector>

#include "common/clock.hh"
#include "t/unit/shm/scratch_segment.hh"
#include "worker/backend_limit.hh"

using causeway::shm::test::must;
using causeway::shm::test::scratch_segment;
using namespace causeway;

namespace {
// Takes the place when woken, as a client session does (open_backend).
struct recorder final : worker::limit_waiter {
    std::string name;
    std::vector<std::string>* log;
    worker::backend_limit* limit;
    worker::server_lease lease;
    recorder(std::string n, std::vector<std::string>* l, worker::backend_limit* b)
        : name(std::move(n)), log(l), limit(b)
    {
    }
    void connection_free() override
    {
        lease = limit->acquire(1);
        log->push_back(name + (lease ? " free" : " raced"));
    }
    void connection_wait_expired() override { log->push_back(name + " expired"); }
};
}   // namespace

class backend_limit_test : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(backend_limit_test);
    CPPUNIT_TEST(counts_across_workers);
    CPPUNIT_TEST(no_limit_still_counts);
    CPPUNIT_TEST(waiters_in_order_then_deadline);
    CPPUNIT_TEST_SUITE_END();

public:
    void counts_across_workers()
    {
        scratch_segment s;
        shm::segment seg = must(shm::segment::create(s.cfg));
        event_base* base = event_base_new();
        {
            worker::backend_limit a, b;
            a.configure(base, &seg, seg.usage(0), 3);
            b.configure(base, &seg, seg.usage(5), 3);
            worker::server_lease a1 = a.acquire(2), a2 = a.acquire(2);
            worker::server_lease b1 = b.acquire(2);
            CPPUNIT_ASSERT(a1 && a2 && b1);
            CPPUNIT_ASSERT(!a.acquire(2));   // 3 open in two workers: full
            CPPUNIT_ASSERT(!b.acquire(2));
            CPPUNIT_ASSERT(a.acquire(1));   // per server
            CPPUNIT_ASSERT_EQUAL(std::uint64_t(3), a.open_total(2));
            worker::server_lease moved = std::move(a1);   // a move keeps one count
            CPPUNIT_ASSERT(!a1 && moved);
            CPPUNIT_ASSERT_EQUAL(std::uint64_t(3), b.open_total(2));
            moved.reset();
            CPPUNIT_ASSERT_EQUAL(std::uint64_t(2), b.open_total(2));
            worker::server_lease b2 = b.acquire(2);
            CPPUNIT_ASSERT(b2);
            b2.reset();
            // A worker that died holding connections (its sockets closed with
            // it): full until the supervisor zeroes its slot when it reaps it.
            seg.usage(9)->open[2].store(1);
            CPPUNIT_ASSERT(!b.acquire(2));
            for (auto& w : seg.usage(9)->open) w.store(0);
            CPPUNIT_ASSERT(b.acquire(2));
        }
        event_base_free(base);
    }

    void no_limit_still_counts()
    {
        scratch_segment s;
        shm::segment seg = must(shm::segment::create(s.cfg));
        event_base* base = event_base_new();
        {
            worker::backend_limit a;
            a.configure(base, &seg, seg.usage(1), 0);
            std::vector<worker::server_lease> held;
            for (int i = 0; i < 100; ++i) held.push_back(a.acquire(1));
            for (auto& l : held) CPPUNIT_ASSERT(l);
            CPPUNIT_ASSERT_EQUAL(std::uint64_t(100), a.open_total(1));
            held.clear();
            CPPUNIT_ASSERT_EQUAL(std::uint64_t(0), a.open_total(1));
        }
        event_base_free(base);
    }

    void waiters_in_order_then_deadline()
    {
        scratch_segment s;
        shm::segment seg = must(shm::segment::create(s.cfg));
        event_base* base = event_base_new();
        std::vector<std::string> log;
        {
            worker::backend_limit a, other;
            a.configure(base, &seg, seg.usage(0), 1);
            other.configure(base, &seg, seg.usage(1), 1);
            worker::server_lease held = other.acquire(1);   // another worker holds the only place
            CPPUNIT_ASSERT(held && !a.acquire(1));
            recorder first("first", &log, &a), second("second", &log, &a), late("late", &log, &a);
            std::uint64_t now = common::monotonic_ns();
            a.wait(first, 1, now + 2'000'000'000u);
            a.wait(second, 1, now + 2'000'000'000u);
            a.wait(late, 1, now + 30'000'000u);   // 30 ms
            // The other worker's place is seen by polling; nothing frees it yet.
            while (log.empty()) event_base_loop(base, EVLOOP_ONCE);
            CPPUNIT_ASSERT_EQUAL(std::string("late expired"), log.at(0));
            held.reset();
            // Only the first is woken: it takes the place.
            while (log.size() < 2) event_base_loop(base, EVLOOP_ONCE);
            CPPUNIT_ASSERT_EQUAL(std::string("first free"), log.at(1));
            CPPUNIT_ASSERT_EQUAL(std::size_t(1), a.waiting());
            // Its release in this worker wakes the second at once.
            std::uint64_t freed = common::monotonic_ns();
            first.lease.reset();
            while (log.size() < 3) event_base_loop(base, EVLOOP_ONCE);
            CPPUNIT_ASSERT_EQUAL(std::string("second free"), log.at(2));
            CPPUNIT_ASSERT(common::monotonic_ns() - freed < 4'000'000u);   // before the 5 ms poll
            CPPUNIT_ASSERT_EQUAL(std::size_t(0), a.waiting());
            a.wait(first, 1, now + 2'000'000'000u);
            a.cancel(first);
            CPPUNIT_ASSERT_EQUAL(std::size_t(0), a.waiting());
        }
        event_base_free(base);
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(backend_limit_test);
