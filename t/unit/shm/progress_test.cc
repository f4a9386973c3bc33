// The replica-progress block: publish/read round trip, freshness and
// caught-up rules, the poller heartbeat, and the seqlock: a writer process
// hammering an entry while readers check every clean copy is consistent, and
// a writer that died mid-write making readers fail instead of read garbage.
#include <cppunit/extensions/HelperMacros.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "common/clock.hh"
#include "shm/progress.hh"
#include "shm/segment.hh"
#include "t/unit/shm/scratch_segment.hh"

using namespace causeway;
using namespace causeway::shm;
using causeway::shm::test::must;
using causeway::shm::test::scratch_segment;

namespace {
constexpr std::uint64_t ms = 1000000;

protocol::gtid_position pos(const char* text)
{
    return *protocol::parse_gtid_position(text);
}

// Every field derived from v, so a copy mixing two writes is detectable.
progress_snapshot pattern(std::uint64_t v)
{
    progress_snapshot s;
    s.backend_id = v;
    s.state = backend_state((v % 3) + 1);
    s.io_running = v & 1;
    s.last_error = std::uint32_t(v);
    for (std::uint32_t d = 0; d < max_domains; ++d) (void)s.position.set(protocol::gtid{d, std::uint32_t(v), v + d});
    s.last_good_poll_ns = v;
    s.poll_rtt_ns = v;
    s.advanced_ns = v;
    s.polls = v;
    s.poll_errors = v;
    return s;
}

bool consistent(const progress_snapshot& s)
{
    std::uint64_t v = s.backend_id;
    if (s.state != backend_state((v % 3) + 1) || s.io_running != bool(v & 1) || s.last_error != std::uint32_t(v))
        return false;
    if (s.position.size() != max_domains) return false;
    for (std::uint32_t d = 0; d < max_domains; ++d)
        if (s.position[d].domain != d || s.position[d].server != std::uint32_t(v) || s.position[d].seqno != v + d)
            return false;
    return s.last_good_poll_ns == v && s.poll_rtt_ns == v && s.advanced_ns == v && s.polls == v && s.poll_errors == v;
}
}   // namespace

class progress_test : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(progress_test);
    CPPUNIT_TEST(round_trip);
    CPPUNIT_TEST(caught_up_rules);
    CPPUNIT_TEST(heartbeat);
    CPPUNIT_TEST(torn_reads_are_detected);
    CPPUNIT_TEST(dead_writer_mid_write);
    CPPUNIT_TEST_SUITE_END();

public:
    void round_trip()
    {
        scratch_segment s;
        segment seg = must(segment::create(s.cfg));
        progress_block pb = seg.progress();
        progress_snapshot none = pb.read(1);
        CPPUNIT_ASSERT(none.ok);   // never written: clean but unknown and never fresh
        CPPUNIT_ASSERT(none.state == backend_state::unknown);
        CPPUNIT_ASSERT(!none.fresh(common::monotonic_ns(), 1000 * ms));
        CPPUNIT_ASSERT(!pb.read(max_backends).ok);

        progress_snapshot w;
        w.backend_id = backend_identity(s.cfg.replicas[0]);
        w.state = backend_state::replication_stopped;
        w.io_running = true;
        w.sql_running = false;
        w.read_only = true;
        w.sql_mode_known = true;
        w.no_backslash_escapes = true;
        w.last_error = 1236;
        w.position = pos("0-1-22,1-2-7");
        w.last_good_poll_ns = 123;
        w.poll_rtt_ns = 45;
        w.advanced_ns = 100;
        w.polls = 9;
        w.poll_errors = 1;
        pb.publish(1, w);
        segment ro = must(segment::attach(s.name(), true));
        progress_snapshot r = ro.progress().read(1);
        CPPUNIT_ASSERT(r.ok);
        CPPUNIT_ASSERT_EQUAL(w.backend_id, r.backend_id);
        CPPUNIT_ASSERT(r.state == backend_state::replication_stopped);
        CPPUNIT_ASSERT(r.io_running && !r.sql_running && r.read_only);
        CPPUNIT_ASSERT(r.sql_mode_known && r.no_backslash_escapes && !r.ansi_quotes);
        CPPUNIT_ASSERT_EQUAL(std::uint32_t(1236), r.last_error);
        CPPUNIT_ASSERT_EQUAL(std::string("0-1-22,1-2-7"), r.position.to_string());
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(123), r.last_good_poll_ns);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(45), r.poll_rtt_ns);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(100), r.advanced_ns);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(9), r.polls);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(1), r.poll_errors);
        CPPUNIT_ASSERT(backend_identity(s.cfg.replicas[0]) != backend_identity(s.cfg.replicas[1]));
        CPPUNIT_ASSERT(backend_identity(s.cfg.replicas[0]) != 0);
    }

    void caught_up_rules()
    {
        progress_snapshot s;
        s.ok = true;
        s.state = backend_state::up;
        s.position = pos("0-1-10");
        s.last_good_poll_ns = 1000 * ms;
        const std::uint64_t now = 1100 * ms, age = 500 * ms;
        CPPUNIT_ASSERT(s.caught_up(pos("0-1-10"), now, age));
        CPPUNIT_ASSERT(s.caught_up(pos(""), now, age));
        CPPUNIT_ASSERT(!s.caught_up(pos("0-1-11"), now, age));
        CPPUNIT_ASSERT(!s.caught_up(pos("1-1-1"), now, age));
        CPPUNIT_ASSERT(!s.caught_up(pos("0-1-1"), 1600 * ms, age));   // too old: unknown
        CPPUNIT_ASSERT(s.caught_up(pos("0-1-1"), 999 * ms, age));   // stamped by a later clock read
        s.state = backend_state::replication_stopped;   // applied data is still there
        CPPUNIT_ASSERT(s.caught_up(pos("0-1-10"), now, age));
        for (auto st : {backend_state::down, backend_state::unknown}) {
            s.state = st;
            CPPUNIT_ASSERT(!s.caught_up(pos(""), now, age));
        }
        s.state = backend_state::up;
        s.ok = false;   // torn
        CPPUNIT_ASSERT(!s.caught_up(pos(""), now, age));
    }

    void heartbeat()
    {
        scratch_segment s;
        segment seg = must(segment::create(s.cfg));
        progress_block pb = seg.progress();
        const std::uint64_t now = common::monotonic_ns();
        CPPUNIT_ASSERT(!pb.heartbeat_fresh(now, 500));   // no poller yet
        pb.heartbeat(now);
        CPPUNIT_ASSERT_EQUAL(now, pb.heartbeat_ns());
        CPPUNIT_ASSERT(pb.heartbeat_fresh(now + 499 * ms, 500));
        CPPUNIT_ASSERT(pb.heartbeat_fresh(now + 500 * ms, 500));
        CPPUNIT_ASSERT(!pb.heartbeat_fresh(now + 501 * ms, 500));
    }

    void torn_reads_are_detected()
    {
        scratch_segment s;
        segment seg = must(segment::create(s.cfg));
        progress_block pb = seg.progress();
        pb.publish(2, pattern(1));
        pid_t writer = fork();
        if (writer == 0) {
            for (std::uint64_t v = 2;; ++v) pb.publish(2, pattern(v));   // until killed
        }
        std::atomic<std::uint64_t> clean{0}, torn{0}, bad{0};
        auto reader = [&] {
            std::uint64_t last = 0;
            const std::uint64_t end = common::monotonic_ns() + 400 * ms;
            while (common::monotonic_ns() < end) {
                progress_snapshot r = pb.read(2);
                if (!r.ok) {
                    torn.fetch_add(1);
                    continue;
                }
                // Consistent, and never older than a copy this reader already saw.
                if (!consistent(r) || r.backend_id < last) bad.fetch_add(1);
                last = r.backend_id;
                clean.fetch_add(1);
            }
        };
        std::thread t1(reader), t2(reader);
        t1.join();
        t2.join();
        kill(writer, SIGKILL);
        waitpid(writer, nullptr, 0);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(0), bad.load());
        CPPUNIT_ASSERT_MESSAGE("clean " + std::to_string(clean.load()), clean.load() > 100);
        // The writer may have died mid-write: the entry then reads as torn, never as garbage.
        progress_snapshot last = pb.read(2);
        CPPUNIT_ASSERT(!last.ok || consistent(last));
    }

    void dead_writer_mid_write()
    {
        scratch_segment s;
        segment seg = must(segment::create(s.cfg));
        progress_block pb = seg.progress();
        pb.publish(0, pattern(5));
        progress_entry& e = reinterpret_cast<progress_entry*>(reinterpret_cast<std::byte*>(&seg.header()) +
                                                              seg.header().progress_offset)[0];
        e.seq.fetch_add(1);   // a poller killed between begin and end
        e.polls.store(999);   // half of its write
        progress_snapshot r = pb.read(0);
        CPPUNIT_ASSERT(!r.ok);
        CPPUNIT_ASSERT(r.state == backend_state::unknown);
        CPPUNIT_ASSERT(!r.caught_up(pos(""), 0, ~0ull));
        pb.publish(0, pattern(6));   // the respawned poller completes the sequence
        r = pb.read(0);
        CPPUNIT_ASSERT(r.ok && consistent(r));
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(6), r.backend_id);
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(progress_test);
