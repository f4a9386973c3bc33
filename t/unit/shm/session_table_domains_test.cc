// More GTID domains than the session table tracks one by one
// (max_gtid_domains): the domains past it are covered by the epoch, per
// session and only until a replica has applied a primary position read after
// the write (shm/layout.hh session_state). Table-driven where the cases are
// alike; threads on one mapping for the concurrent claims.
#include <cppunit/extensions/HelperMacros.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "shm/segment.hh"
#include "shm/session_table.hh"
#include "t/unit/shm/scratch_segment.hh"

using namespace causeway;
using namespace causeway::shm;
using causeway::shm::test::must;
using causeway::shm::test::scratch_segment;

namespace {

protocol::gtid_position pos(const std::string& text)
{
    auto p = protocol::parse_gtid_position(text);
    CPPUNIT_ASSERT_MESSAGE(text, p.ok());
    return *p;
}

std::string known(const session_table& t, std::uint64_t key)
{
    lookup_result r = t.lookup(key);
    CPPUNIT_ASSERT_MESSAGE("status " + std::to_string(int(r.status)), r.known());
    return r.position.to_string();
}

const std::string epoch = std::to_string(epoch_domain);   // how the epoch shows in positions

// A segment whose directory holds `capacity` domains.
struct small_directory {
    scratch_segment s;
    segment seg;
    session_table t;
    explicit small_directory(int capacity) : seg(make(s, capacity)), t(seg.sessions()) {}
    static segment make(scratch_segment& s, int capacity)
    {
        s.cfg.max_gtid_domains = capacity;
        return must(segment::create(s.cfg));
    }
    std::uint64_t key(const std::string& name) const { return t.key(session_kind::user, name); }
    // Claims domains 0 .. n-1 from sessions of their own ("d0", "d1", ...).
    void claim(int n)
    {
        for (int d = 0; d < n; ++d)
            CPPUNIT_ASSERT(t.update(key("d" + std::to_string(d)), pos(std::to_string(d) + "-1-5")) ==
                           update_status::stored);
    }
};

// A replica's progress as the poller publishes it: the tracked domains and the epoch it covers.
bool replica_serves(const session_table& t, std::uint64_t key, const std::string& replica)
{
    lookup_result r = t.lookup(key);
    return r.known() && pos(replica).covers(r.position);
}

}   // namespace

class session_table_domains_test : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(session_table_domains_test);
    CPPUNIT_TEST(domain_past_the_capacity_needs_the_next_epoch);
    CPPUNIT_TEST(capacity_cases);
    CPPUNIT_TEST(only_that_session_waits_and_not_for_good);
    CPPUNIT_TEST(untracked_then_tracked_write);
    CPPUNIT_TEST(reclaim_raises_the_epoch_floor);
    CPPUNIT_TEST(floor_with_more_domains_than_the_capacity);
    CPPUNIT_TEST(progress_positions_carry_an_epoch);
    CPPUNIT_TEST(concurrent_claims);
    CPPUNIT_TEST(lookup_scans_claimed_domains_only);
    CPPUNIT_TEST_SUITE_END();

public:
    void domain_past_the_capacity_needs_the_next_epoch()
    {
        small_directory x(8);
        CPPUNIT_ASSERT(x.t.init_floor(pos("0-1-1")));
        x.claim(8);   // domains 0..7: the directory is full
        CPPUNIT_ASSERT_EQUAL(std::size_t(8), x.t.tracked_domains().size());
        // The 9th domain: stored, as "the poll after the last one numbered".
        CPPUNIT_ASSERT(x.t.update(x.key("ninth"), pos("8-1-42")) == update_status::stored);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(1), x.t.stats().updates_untracked.load());
        CPPUNIT_ASSERT_EQUAL("0-0-1," + epoch + "-0-1", known(x.t, x.key("ninth")));
        // Three polls numbered, then another write there: it needs the 4th.
        for (int i = 0; i < 3; ++i) x.t.next_epoch();
        CPPUNIT_ASSERT(x.t.update(x.key("ninth"), pos("8-1-43")) == update_status::stored);
        CPPUNIT_ASSERT_EQUAL("0-0-1," + epoch + "-0-4", known(x.t, x.key("ninth")));
        // The tracked domains' sessions carry no epoch.
        CPPUNIT_ASSERT_EQUAL(std::string("0-0-1,3-0-5"), known(x.t, x.key("d3")));
        CPPUNIT_ASSERT(x.t.epoch_used());
    }

    void capacity_cases()
    {
        struct row {
            int capacity;   // max_gtid_domains
            int claimed;   // domains 0 .. claimed-1 written first
            std::uint32_t domain;   // then a write in this one
            bool tracked;   // tracked on its own (else: the epoch)
        };
        const row rows[] = {
            {8, 8, 8, false},   // the 9th
            {8, 8, 19, false},   // the 20th
            {8, 7, 19, true},   // room left: any id fits
            {32, 19, 19, true},   // the 20th, default capacity
            {32, 32, 32, false},   // the 33rd
            {1, 1, 1, false},    {8, 0, epoch_domain, false},   // the epoch's own id is never tracked
        };
        for (const row& r : rows) {
            small_directory x(r.capacity);
            CPPUNIT_ASSERT(x.t.init_floor(protocol::gtid_position{}));
            x.claim(r.claimed);
            const std::string what = "capacity " + std::to_string(r.capacity) + ", domain " + std::to_string(r.domain);
            CPPUNIT_ASSERT_MESSAGE(
                what, x.t.update(x.key("s"), pos(std::to_string(r.domain) + "-1-9")) == update_status::stored);
            const std::string want = r.tracked ? std::to_string(r.domain) + "-0-9" : epoch + "-0-1";
            CPPUNIT_ASSERT_EQUAL_MESSAGE(what, want, known(x.t, x.key("s")));
            CPPUNIT_ASSERT_EQUAL_MESSAGE(what, std::uint64_t(r.tracked ? 0 : 1), x.t.stats().updates_untracked.load());
        }
    }

    // The session that wrote in the untracked domain reads from the primary
    // until a replica covers the epoch; the others keep their replicas.
    void only_that_session_waits_and_not_for_good()
    {
        small_directory x(2);
        CPPUNIT_ASSERT(x.t.init_floor(pos("0-1-10,1-1-10")));
        CPPUNIT_ASSERT(x.t.update(x.key("other"), pos("1-1-11")) == update_status::stored);
        const std::uint64_t e = x.t.next_epoch();   // a poll out before the write: not enough
        CPPUNIT_ASSERT(x.t.update(x.key("multi"), pos("5-1-3")) == update_status::stored);
        const std::string replica_old = "0-1-10,1-1-11," + epoch + "-0-" + std::to_string(e);
        CPPUNIT_ASSERT(replica_serves(x.t, x.key("other"), replica_old));
        CPPUNIT_ASSERT(replica_serves(x.t, x.key("never-wrote"), replica_old));
        CPPUNIT_ASSERT(!replica_serves(x.t, x.key("multi"), replica_old));
        CPPUNIT_ASSERT(!replica_serves(x.t, x.key("multi"), "0-1-10,1-1-11"));   // no epoch at all
        // The next poll was sent after the write; a replica that applied its
        // answer serves the session again.
        const std::uint64_t after = x.t.next_epoch();
        CPPUNIT_ASSERT(replica_serves(x.t, x.key("multi"), "0-1-10,1-1-11," + epoch + "-0-" + std::to_string(after)));
    }

    void untracked_then_tracked_write()
    {
        small_directory x(1);
        CPPUNIT_ASSERT(x.t.init_floor(pos("0-1-1")));
        const std::uint64_t k = x.key("s");
        CPPUNIT_ASSERT(x.t.update(k, pos("9-1-5")) == update_status::stored);   // overflow domain
        CPPUNIT_ASSERT(x.t.update(k, pos("0-1-7")) == update_status::stored);   // then a normal one
        CPPUNIT_ASSERT_EQUAL("0-0-7," + epoch + "-0-1", known(x.t, k));
        // Both are required: the epoch alone or the domain alone is not enough.
        CPPUNIT_ASSERT(!replica_serves(x.t, k, "0-1-7"));
        CPPUNIT_ASSERT(!replica_serves(x.t, k, "0-1-6," + epoch + "-0-1"));
        CPPUNIT_ASSERT(replica_serves(x.t, k, "0-1-7," + epoch + "-0-1"));
        // A third domain (the entry holds two slots): overflow, reclaimed once
        // the epoch and both domains are applied everywhere.
        small_directory y(2);
        CPPUNIT_ASSERT(y.t.init_floor(pos("0-1-1")));
        const std::uint64_t k2 = y.key("s");
        CPPUNIT_ASSERT(y.t.update(k2, pos("0-1-2,1-1-2")) == update_status::stored);
        CPPUNIT_ASSERT(y.t.update(k2, pos("7-1-2")) == update_status::overflow);
        // Overflow answers a bound (the spill position): usable at once,
        // without waiting for the reclaim sweep.
        lookup_result l = y.t.lookup(k2);
        CPPUNIT_ASSERT(l.status == lookup_status::overflow && l.usable() && !l.known());
        CPPUNIT_ASSERT_EQUAL("0-0-2,1-0-2," + epoch + "-0-1", l.position.to_string());
        y.t.publish_watermark(pos("0-1-2,1-1-2"));
        CPPUNIT_ASSERT_EQUAL(std::size_t(0), y.t.reclaim(0, y.t.buckets()).reclaimed);   // epoch not applied yet
        y.t.publish_watermark(pos("0-1-2,1-1-2," + epoch + "-0-1"));
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), y.t.reclaim(0, y.t.buckets()).reclaimed);
        CPPUNIT_ASSERT_EQUAL("0-0-2,1-0-2," + epoch + "-0-1", known(y.t, k2));
    }

    void reclaim_raises_the_epoch_floor()
    {
        small_directory x(1);
        CPPUNIT_ASSERT(x.t.init_floor(pos("0-1-1")));
        for (int i = 0; i < 4; ++i) x.t.next_epoch();
        const std::uint64_t k = x.key("s");
        CPPUNIT_ASSERT(x.t.update(k, pos("3-1-1")) == update_status::stored);   // needs epoch 5
        x.t.publish_watermark(pos("0-1-1," + epoch + "-0-4"));
        CPPUNIT_ASSERT_EQUAL(std::size_t(0), x.t.reclaim(0, x.t.buckets()).reclaimed);
        x.t.publish_watermark(pos("0-1-1," + epoch + "-0-5"));
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), x.t.reclaim(0, x.t.buckets()).reclaimed);
        CPPUNIT_ASSERT_EQUAL(std::size_t(0), x.t.occupied());
        // Forgotten only after the floor took it: a replica that was down
        // (left out of the watermark) must pass epoch 5 before any read.
        CPPUNIT_ASSERT_EQUAL("0-0-1," + epoch + "-0-5", x.t.floor().to_string());
        CPPUNIT_ASSERT(!replica_serves(x.t, x.key("anyone"), "0-1-1," + epoch + "-0-4"));
        CPPUNIT_ASSERT(replica_serves(x.t, x.key("anyone"), "0-1-1," + epoch + "-0-5"));
    }

    void floor_with_more_domains_than_the_capacity()
    {
        small_directory x(2);
        // The primary's position at start names 3 domains: the third can only
        // be required as "the primary's whole position of poll 7".
        CPPUNIT_ASSERT(x.t.init_floor(pos("0-1-5,1-1-6,2-1-7"), 7));
        CPPUNIT_ASSERT_EQUAL("0-0-5,1-0-6," + epoch + "-0-7", x.t.floor().to_string());
        CPPUNIT_ASSERT(x.t.epoch_used());
        small_directory y(3);
        CPPUNIT_ASSERT(y.t.init_floor(pos("0-1-5,1-1-6,2-1-7"), 7));
        CPPUNIT_ASSERT_EQUAL(std::string("0-0-5,1-0-6,2-0-7"), y.t.floor().to_string());
        CPPUNIT_ASSERT(!y.t.epoch_used());
    }

    // Monotonic reads record a replica's published position: its epoch
    // domain is an epoch there, not a write in domain 4294967295.
    void progress_positions_carry_an_epoch()
    {
        small_directory x(2);
        CPPUNIT_ASSERT(x.t.init_floor(pos("0-1-1")));
        for (int i = 0; i < 9; ++i) x.t.next_epoch();
        const std::uint64_t k = x.key("s");
        const protocol::gtid_position replica = pos("0-1-3," + epoch + "-0-6");
        CPPUNIT_ASSERT(x.t.update(k, replica, position_source::progress) == update_status::stored);
        CPPUNIT_ASSERT_EQUAL("0-0-3," + epoch + "-0-6", known(x.t, k));
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(0), x.t.stats().updates_untracked.load());
        // From a server the same id is a real, untracked domain: the next epoch.
        const std::uint64_t k2 = x.key("t");
        CPPUNIT_ASSERT(x.t.update(k2, replica) == update_status::stored);
        CPPUNIT_ASSERT_EQUAL("0-0-3," + epoch + "-0-10", known(x.t, k2));
    }

    // Writers racing for the last directory places: exactly `capacity`
    // domains are claimed, every write is either tracked or on the epoch,
    // and no lookup loses its write.
    void concurrent_claims()
    {
        for (int round = 0; round < 20; ++round) {
            small_directory x(8);
            CPPUNIT_ASSERT(x.t.init_floor(protocol::gtid_position{}));
            constexpr int writers = 16;
            std::atomic<int> go{0};
            std::vector<std::thread> threads;
            for (int w = 0; w < writers; ++w)
                threads.emplace_back([&, w] {
                    session_table t = x.seg.sessions();
                    while (!go.load()) {
                    }
                    for (int i = 1; i <= 50; ++i)
                        (void)t.update(t.key(session_kind::user, "w" + std::to_string(w)),
                                       pos(std::to_string(100 + w) + "-1-" + std::to_string(i)));
                });
            go = 1;
            for (auto& th : threads) th.join();
            const auto ids = x.t.tracked_domains();
            CPPUNIT_ASSERT_EQUAL(std::size_t(8), ids.size());
            int on_epoch = 0;
            for (int w = 0; w < writers; ++w) {
                const std::string got = known(x.t, x.key("w" + std::to_string(w)));
                const bool tracked = std::find(ids.begin(), ids.end(), std::uint32_t(100 + w)) != ids.end();
                if (tracked) {
                    CPPUNIT_ASSERT_EQUAL(std::to_string(100 + w) + "-0-50", got);
                } else {
                    CPPUNIT_ASSERT_EQUAL(epoch + "-0-1", got);
                    ++on_epoch;
                }
            }
            CPPUNIT_ASSERT_EQUAL(writers - 8, on_epoch);
            CPPUNIT_ASSERT_EQUAL(std::uint64_t((writers - 8) * 50), x.t.stats().updates_untracked.load());
        }
    }

    // The lookup reads only the claimed part of the directory: the same
    // answer whether 1 or 32 domains can be tracked.
    void lookup_scans_claimed_domains_only()
    {
        for (int capacity : {1, 32}) {
            small_directory x(capacity);
            CPPUNIT_ASSERT(x.t.init_floor(pos("0-1-3")));
            CPPUNIT_ASSERT(x.t.update(x.key("s"), pos("0-1-4")) == update_status::stored);
            CPPUNIT_ASSERT_EQUAL(std::string("0-0-4"), known(x.t, x.key("s")));
            CPPUNIT_ASSERT_EQUAL(std::string("0-0-3"), known(x.t, x.key("none")));
        }
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(session_table_domains_test);
