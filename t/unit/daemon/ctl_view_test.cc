// causewayctl's reading of a segment and its derived numbers: transactions
// behind the primary, ages against a fixed clock, which backends count as
// usable (SQL thread stopped: yes; below the floor, stale, old heartbeat: no),
// torn entries retried then reported, worker counters with their totals, and
// the sessions furthest ahead of the watermark, paged out of a real table.
#include <cppunit/extensions/HelperMacros.h>

#include "daemon/ctl_view.hh"
#include "shm/counters.hh"
#include "t/unit/daemon/ctl_test_support.hh"
#include "t/unit/shm/scratch_segment.hh"

using namespace causeway;
using namespace causeway::daemon;
using causeway::daemon::test::fake_env;
using causeway::shm::test::must;
using causeway::shm::test::scratch_segment;

namespace {
constexpr std::uint64_t ms = 1000000;
constexpr std::uint64_t now = 10000 * ms;   // the fake monotonic clock
constexpr int max_age_ms = 500;

protocol::gtid_position pos(const char* text)
{
    return *protocol::parse_gtid_position(text);
}

shm::progress_snapshot entry(const common::backend_config& b, shm::backend_state st, const char* gtid,
                             std::uint64_t polled_ago, std::uint64_t advanced_ago)
{
    shm::progress_snapshot s;
    s.backend_id = shm::backend_identity(b);
    s.state = st;
    s.io_running = s.sql_running = true;
    s.read_only = true;
    s.position = pos(gtid);
    s.last_good_poll_ns = now - polled_ago;
    s.poll_rtt_ns = 45678;
    s.advanced_ns = now - advanced_ago;
    s.polls = 100;
    s.poll_errors = 2;
    return s;
}

// primary at 0-1-120, r1 up at 118, r2 with its SQL thread stopped at 105; floor 100.
void publish_healthy(const scratch_segment& s, const shm::segment& seg)
{
    shm::progress_block pb = seg.progress();
    auto p = entry(s.cfg.primary, shm::backend_state::up, "0-1-120", 2 * ms, 5 * ms);
    p.read_only = false;
    pb.publish(0, p);
    pb.publish(1, entry(s.cfg.replicas[0], shm::backend_state::up, "0-1-118", 4 * ms, 1 * ms));
    auto r2 = entry(s.cfg.replicas[1], shm::backend_state::replication_stopped, "0-1-105", 3 * ms, 2000 * ms);
    r2.sql_running = false;
    pb.publish(2, r2);
    pb.heartbeat(now - 3 * ms);
    (void)seg.sessions().init_floor(pos("0-1-100"));   // false when already set
}

shm::progress_entry& raw_entry(const shm::segment& seg, std::size_t i)
{
    auto* base = reinterpret_cast<std::byte*>(&seg.header());
    return reinterpret_cast<shm::progress_entry*>(base + seg.header().progress_offset)[i];
}
}   // namespace

class ctl_view_test : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(ctl_view_test);
    CPPUNIT_TEST(computations);
    CPPUNIT_TEST(furthest_behind_orders);
    CPPUNIT_TEST(replicas_healthy);
    CPPUNIT_TEST(replicas_not_usable);
    CPPUNIT_TEST(replicas_unknown_before_first_poll);
    CPPUNIT_TEST(torn_entry_is_retried_then_reported);
    CPPUNIT_TEST(identity_mismatch);
    CPPUNIT_TEST(counters_and_totals);
    CPPUNIT_TEST(status_reads_instance_and_table);
    CPPUNIT_TEST(sessions_listed_furthest_ahead);
    CPPUNIT_TEST_SUITE_END();

public:
    void computations()
    {
        CPPUNIT_ASSERT(!age_ns(now, 0));
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(3 * ms), *age_ns(now, now - 3 * ms));
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(0), *age_ns(now, now + 1));   // stamped after our clock read

        CPPUNIT_ASSERT_EQUAL(std::uint64_t(0), transactions_behind(pos(""), pos("0-1-5")));
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(5), transactions_behind(pos("0-1-5"), pos("")));
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(2), transactions_behind(pos("0-1-120"), pos("0-2-118")));
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(0), transactions_behind(pos("0-1-120"), pos("0-1-130")));   // ahead: 0
        // Per domain, summed; a domain only the replica has does not count.
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(3), transactions_behind(pos("0-1-10,1-1-20"), pos("0-1-7,1-1-25,2-1-3")));
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(30), transactions_behind(pos("0-1-10,1-1-20"), pos("")));
        CPPUNIT_ASSERT_EQUAL(UINT64_MAX,
                             transactions_behind(pos("0-1-18446744073709551615,1-1-18446744073709551615"), pos("")));

        CPPUNIT_ASSERT_EQUAL(0.0, fill_percent(5, 0));
        CPPUNIT_ASSERT_DOUBLES_EQUAL(25.0, fill_percent(1, 4), 1e-9);
        CPPUNIT_ASSERT_EQUAL(std::string("replication_stopped"),
                             std::string(state_name(shm::backend_state::replication_stopped)));
        CPPUNIT_ASSERT_EQUAL(std::string("unknown"), std::string(state_name(shm::backend_state(77))));
    }

    void furthest_behind_orders()
    {
        std::vector<session_row> rows = {
            {0x10, false, pos("0-0-105")},
            {0x20, false, pos("0-0-120,1-0-3")},
            {0x05, false, pos("0-0-105")},
            {0x30, true, pos("0-0-90")},
        };
        auto top = furthest_behind(rows, pos("0-0-100"), 3);
        CPPUNIT_ASSERT_EQUAL(std::size_t(3), top.size());
        CPPUNIT_ASSERT_EQUAL(std::uint32_t(0x20), top[0].tag);   // 20 + 3 ahead
        CPPUNIT_ASSERT_EQUAL(std::uint32_t(0x05), top[1].tag);   // 5 ahead, lower tag first
        CPPUNIT_ASSERT_EQUAL(std::uint32_t(0x10), top[2].tag);
        CPPUNIT_ASSERT_EQUAL(std::size_t(4), furthest_behind(rows, pos("0-0-100"), 10).size());
        CPPUNIT_ASSERT(furthest_behind(rows, pos(""), 0).empty());
    }

    void replicas_healthy()
    {
        scratch_segment s;
        shm::segment seg = must(shm::segment::create(s.cfg));
        publish_healthy(s, seg);
        shm::segment ro = must(shm::segment::attach(s.name(), true));
        ctl_env env = fake_env::reset(now, 0);
        replicas_view v = read_replicas(ro, env, max_age_ms);

        // The primary role, r1, r2, and the [primary] server's own read slot.
        CPPUNIT_ASSERT_EQUAL(std::size_t(4), v.backends.size());
        CPPUNIT_ASSERT(!v.any_torn());
        CPPUNIT_ASSERT(v.heartbeat_fresh);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(3 * ms), *v.heartbeat_age_ns);
        CPPUNIT_ASSERT(v.floor_set);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(100), v.floor.seqno(0));

        const backend_view& p = v.backends[0];
        CPPUNIT_ASSERT(p.is_primary());
        CPPUNIT_ASSERT_EQUAL(std::string("primary"), p.name);
        CPPUNIT_ASSERT_EQUAL(std::string("127.0.0.1:3306"), p.address);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(0), *p.behind);
        CPPUNIT_ASSERT(p.usable);
        CPPUNIT_ASSERT(!p.identity_mismatch);

        const backend_view& r1 = v.backends[1];
        CPPUNIT_ASSERT_EQUAL(std::string("r1"), r1.name);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(2), *r1.behind);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(1 * ms), *r1.advanced_age_ns);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(4 * ms), *r1.poll_age_ns);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(45678), *r1.rtt_ns);
        CPPUNIT_ASSERT(r1.usable);

        // SQL thread stopped: frozen, behind, but still serves what it has applied.
        const backend_view& r2 = v.backends[2];
        CPPUNIT_ASSERT_EQUAL(std::string("[::1]:3308"), r2.address);
        CPPUNIT_ASSERT(r2.progress.state == shm::backend_state::replication_stopped);
        CPPUNIT_ASSERT(!r2.progress.sql_running && r2.progress.io_running);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(15), *r2.behind);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(2000 * ms), *r2.advanced_age_ns);
        CPPUNIT_ASSERT(r2.usable);
        CPPUNIT_ASSERT_EQUAL(0, fake_env::pauses);
    }

    void replicas_not_usable()
    {
        scratch_segment s;
        shm::segment seg = must(shm::segment::create(s.cfg));
        publish_healthy(s, seg);
        shm::progress_block pb = seg.progress();
        ctl_env env = fake_env::reset(now, 0);

        // Below the floor; polled longer ago than progress_max_age_ms.
        pb.publish(1, entry(s.cfg.replicas[0], shm::backend_state::up, "0-1-99", 4 * ms, 1 * ms));
        pb.publish(2, entry(s.cfg.replicas[1], shm::backend_state::up, "0-1-119", 501 * ms, 1 * ms));
        replicas_view v = read_replicas(seg, env, max_age_ms);
        CPPUNIT_ASSERT(!v.backends[1].usable);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(21), *v.backends[1].behind);
        CPPUNIT_ASSERT(!v.backends[2].usable);
        CPPUNIT_ASSERT(v.backends[0].usable);

        // Down (its last position is still shown, and how far behind it was).
        pb.publish(1, entry(s.cfg.replicas[0], shm::backend_state::down, "0-1-118", 4 * ms, 1 * ms));
        v = read_replicas(seg, env, max_age_ms);
        CPPUNIT_ASSERT(!v.backends[1].usable);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(2), *v.backends[1].behind);

        // An old poller heartbeat: nothing is usable, whatever the entries say.
        publish_healthy(s, seg);
        pb.heartbeat(now - 600 * ms);
        v = read_replicas(seg, env, max_age_ms);
        CPPUNIT_ASSERT(!v.heartbeat_fresh);
        for (const auto& b : v.backends) CPPUNIT_ASSERT_MESSAGE(b.name, !b.usable);
    }

    void replicas_unknown_before_first_poll()
    {
        scratch_segment s;
        shm::segment seg = must(shm::segment::create(s.cfg));
        ctl_env env = fake_env::reset(now, 0);
        replicas_view v = read_replicas(seg, env, max_age_ms);
        // The primary role, r1, r2, and the [primary] server's own read slot.
        CPPUNIT_ASSERT_EQUAL(std::size_t(4), v.backends.size());
        CPPUNIT_ASSERT(!v.heartbeat_age_ns);
        CPPUNIT_ASSERT(!v.floor_set);
        for (const auto& b : v.backends) {
            CPPUNIT_ASSERT(!b.torn);
            CPPUNIT_ASSERT(b.progress.state == shm::backend_state::unknown);
            CPPUNIT_ASSERT(!b.behind && !b.advanced_age_ns && !b.poll_age_ns && !b.rtt_ns);
            CPPUNIT_ASSERT(!b.usable);
        }
        // A healthy poll but no floor yet: replicas cannot serve anything.
        publish_healthy(s, seg);
        scratch_segment s2;
        shm::segment seg2 = must(shm::segment::create(s2.cfg));
        shm::progress_block pb2 = seg2.progress();
        pb2.publish(0, entry(s2.cfg.primary, shm::backend_state::up, "0-1-120", 2 * ms, 5 * ms));
        pb2.publish(1, entry(s2.cfg.replicas[0], shm::backend_state::up, "0-1-120", 2 * ms, 5 * ms));
        pb2.heartbeat(now);
        v = read_replicas(seg2, env, max_age_ms);
        CPPUNIT_ASSERT(v.backends[0].usable);
        CPPUNIT_ASSERT(!v.backends[1].usable);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(0), *v.backends[1].behind);
    }

    void torn_entry_is_retried_then_reported()
    {
        scratch_segment s;
        shm::segment seg = must(shm::segment::create(s.cfg));
        publish_healthy(s, seg);
        // A poller that died between seqlock_write_begin and _end.
        shm::progress_entry& e = raw_entry(seg, 1);
        e.seq.store(e.seq.load() + 1);
        ctl_env env = fake_env::reset(now, 0);
        replicas_view v = read_replicas(seg, env, max_age_ms);
        CPPUNIT_ASSERT(v.any_torn());
        CPPUNIT_ASSERT(v.backends[1].torn);
        CPPUNIT_ASSERT(!v.backends[1].usable);
        CPPUNIT_ASSERT_EQUAL(std::string("r1"), v.backends[1].name);   // the label is still clean
        CPPUNIT_ASSERT_EQUAL(env.torn_retries, fake_env::pauses);
        CPPUNIT_ASSERT(!v.backends[0].torn && !v.backends[2].torn);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(15), *v.backends[2].behind);
        // The next write completes the sequence (seqlock_write_begin), and reads are clean again.
        seg.progress().publish(1, entry(s.cfg.replicas[0], shm::backend_state::up, "0-1-118", 4 * ms, 1 * ms));
        v = read_replicas(seg, env, max_age_ms);
        CPPUNIT_ASSERT(!v.any_torn());
    }

    void identity_mismatch()
    {
        scratch_segment s;
        shm::segment seg = must(shm::segment::create(s.cfg));
        publish_healthy(s, seg);
        // Entry 1 still describes r2 (a reload swapped the replicas).
        seg.progress().publish(1, entry(s.cfg.replicas[1], shm::backend_state::up, "0-1-118", 4 * ms, 1 * ms));
        ctl_env env = fake_env::reset(now, 0);
        replicas_view v = read_replicas(seg, env, max_age_ms);
        CPPUNIT_ASSERT(v.backends[1].identity_mismatch);
        CPPUNIT_ASSERT(!v.backends[1].usable);
        CPPUNIT_ASSERT(!v.backends[2].identity_mismatch);   // [::1]:3308 round-trips through the label
    }

    void counters_and_totals()
    {
        scratch_segment s;
        shm::segment seg = must(shm::segment::create(s.cfg));
        shm::worker_counters& w0 = *seg.worker(0);
        shm::worker_counters& w3 = *seg.worker(3);
        shm::worker_counters& freed = *seg.worker(5);   // a reaped worker: pid 0, counts kept
        w0.pid = 111;
        w0.generation = 2;
        w0.started_ns = now - 2000 * ms;
        shm::add(w0.connections_accepted, 10);
        shm::add(w0.connections_active, 3);
        shm::add(w0.queries_forwarded, 200);
        shm::count_route(w0, shm::route_reason::primary_write);
        w3.pid = 222;
        shm::add(w3.queries_forwarded, 5);
        shm::count_route(w3, shm::route_reason::primary_bridge);
        shm::count_route(w3, shm::route_reason::primary_write);
        shm::add(freed.queries_forwarded, 1000);
        shm::add(freed.routed[0], 7);
        seg.poller().pid = 333;
        shm::add(seg.poller().polls, 42);

        ctl_env env = fake_env::reset(now, 0);
        fake_env::running = {111, 333};
        counters_view v = read_counters(seg, env, max_age_ms);
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), v.workers.size());
        CPPUNIT_ASSERT_EQUAL(std::size_t(0), v.workers[0].slot);
        CPPUNIT_ASSERT(v.workers[0].running);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(2), v.workers[0].generation);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(2000 * ms), *v.workers[0].uptime_ns);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(200), v.workers[0].counters.get("queries_forwarded"));
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(3), v.workers[0].counters.get("connections_active"));
        CPPUNIT_ASSERT_EQUAL(std::size_t(3), v.workers[1].slot);
        CPPUNIT_ASSERT(!v.workers[1].running);
        CPPUNIT_ASSERT(!v.workers[1].uptime_ns);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(1205), v.total.get("queries_forwarded"));
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(2), v.total.get("primary_write"));
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(1), v.total.get("primary_bridge"));
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(7), v.total.get("replica_caught_up"));
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(0), v.total.get("no_such_counter"));
        CPPUNIT_ASSERT(v.poller.running);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(42), v.poller.polls);
        CPPUNIT_ASSERT(!v.poller.heartbeat_age_ns);
        CPPUNIT_ASSERT(!v.poller.heartbeat_fresh);
    }

    void status_reads_instance_and_table()
    {
        scratch_segment s;
        shm::segment seg = must(shm::segment::create(s.cfg));
        shm::session_table t = seg.sessions();
        CPPUNIT_ASSERT(t.init_floor(pos("0-1-100")));
        CPPUNIT_ASSERT(t.update(t.key(shm::session_kind::connection, std::uint64_t(1)), pos("0-1-101")) ==
                       shm::update_status::stored);
        CPPUNIT_ASSERT(t.update(t.key(shm::session_kind::connection, std::uint64_t(2)), pos("0-1-102")) ==
                       shm::update_status::stored);
        t.publish_watermark(pos("0-1-101"));
        seg.header().config_generation.store(4);
        seg.worker(1)->pid = 4242;
        seg.progress().heartbeat(now - 7 * ms);

        const std::uint64_t created = seg.header().created_realtime_ns;
        ctl_env env = fake_env::reset(now, created + 3600ull * 1000 * ms);
        status_view v = read_status(seg, env, max_age_ms);
        CPPUNIT_ASSERT_EQUAL(s.name(), v.instance.shm_name);
        CPPUNIT_ASSERT_EQUAL(pid_t(getpid()), v.instance.supervisor_pid);
        CPPUNIT_ASSERT(v.instance.supervisor_running);   // the real probe: this process
        CPPUNIT_ASSERT_EQUAL(shm::layout_version, v.instance.layout_version);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(4), v.instance.config_generation);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(3600ull * 1000 * ms), *v.instance.uptime_ns);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(seg.size()), v.instance.segment_bytes);
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), v.workers.size());
        CPPUNIT_ASSERT_EQUAL(pid_t(4242), v.workers[0].pid);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(7 * ms), *v.poller.heartbeat_age_ns);
        CPPUNIT_ASSERT(v.poller.heartbeat_fresh);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(2), v.table.occupied);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(t.capacity()), v.table.capacity);
        CPPUNIT_ASSERT_DOUBLES_EQUAL(200.0 / double(t.capacity()), v.table.fill, 1e-9);
        CPPUNIT_ASSERT(v.table.floor_set);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(100), v.table.floor.seqno(0));
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(101), v.table.watermark.seqno(0));

        sessions_view sv = read_sessions(seg, 5);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(2), sv.table.occupied);
        CPPUNIT_ASSERT_EQUAL(std::size_t(5), sv.limit);
    }

    void sessions_listed_furthest_ahead()
    {
        scratch_segment s(4096);
        shm::segment seg = must(shm::segment::create(s.cfg));
        shm::session_table t = seg.sessions();
        CPPUNIT_ASSERT(t.init_floor(pos("0-1-100")));
        // Session i wrote 0-1-(100 + i); session 7 also in domain 3; 200 sessions.
        for (std::uint64_t i = 1; i <= 200; ++i) {
            std::string gtid = "0-1-" + std::to_string(100 + i) + (i == 7 ? ",3-1-500" : "");
            CPPUNIT_ASSERT(t.update(t.key(shm::session_kind::connection, i), pos(gtid.c_str())) ==
                           shm::update_status::stored);
        }
        t.publish_watermark(pos("0-1-150,3-1-200"));
        auto tag = [&](std::uint64_t i) {
            std::uint64_t k = t.key(shm::session_kind::connection, i);
            return std::uint32_t(k >> 32 ? k >> 32 : 1);
        };

        shm::segment ro = must(shm::segment::attach(s.name(), true));
        sessions_view v = read_sessions(ro, 4);
        CPPUNIT_ASSERT(v.entries_listed);
        CPPUNIT_ASSERT_EQUAL(std::size_t(4), v.limit);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(200), v.table.occupied);
        CPPUNIT_ASSERT_EQUAL(std::size_t(0), v.spilled_buckets);
        CPPUNIT_ASSERT_EQUAL(std::size_t(4), v.entries.size());
        // 7: 0 ahead in domain 0, 300 in domain 3; then 200, 199, 198 (150, 149, 148 ahead).
        CPPUNIT_ASSERT_EQUAL(tag(7), v.entries[0].tag);
        CPPUNIT_ASSERT_EQUAL(std::string("0-0-107,3-0-500"), v.entries[0].position.to_string());
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(300), transactions_behind(v.entries[0].position, v.table.watermark));
        for (std::uint64_t j = 1; j < 4; ++j) {
            CPPUNIT_ASSERT_EQUAL(tag(201 - j), v.entries[j].tag);
            CPPUNIT_ASSERT_EQUAL(std::uint64_t(151 - j), transactions_behind(v.entries[j].position, v.table.watermark));
        }

        // Paging does not change the answer: one bucket at a time, or all at once,
        // equals ranking every entry copied in one go.
        std::vector<session_row> every;
        ro.sessions().copy_entries(0, ro.sessions().buckets(), every);
        CPPUNIT_ASSERT_EQUAL(std::size_t(200), every.size());
        const auto wm = v.table.watermark;
        auto tags = [](const std::vector<session_row>& rows) {
            std::vector<std::uint32_t> out;
            for (const auto& r : rows) out.push_back(r.tag);
            return out;
        };
        for (std::size_t n : {std::size_t(1), std::size_t(4), std::size_t(37), std::size_t(200), std::size_t(1000)}) {
            auto want = tags(furthest_behind(every, wm, n));
            CPPUNIT_ASSERT_EQUAL(std::min<std::size_t>(n, 200), want.size());
            for (std::size_t chunk : {std::size_t(1), std::size_t(3), std::size_t(4096), std::size_t(1) << 20})
                CPPUNIT_ASSERT_MESSAGE("n " + std::to_string(n) + ", chunk " + std::to_string(chunk),
                                       want == tags(furthest_behind(ro.sessions(), wm, n, chunk)));
        }
        CPPUNIT_ASSERT(furthest_behind(ro.sessions(), wm, 0).empty());

        // Entries at or below the watermark are still listed (0 ahead) until the
        // poller reclaims them; after the reclaim only those ahead remain.
        CPPUNIT_ASSERT_EQUAL(std::size_t(200), read_sessions(ro, 1000).entries.size());
        t.reclaim(0, t.buckets());
        v = read_sessions(ro, 1000);
        CPPUNIT_ASSERT_EQUAL(std::size_t(151), v.entries.size());   // 51..200 and 7
        for (const auto& r : v.entries) CPPUNIT_ASSERT(transactions_behind(r.position, v.table.watermark) > 0);
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(ctl_view_test);
