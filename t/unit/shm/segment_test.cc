// The segment's life cycle: create, attach (read-only and read-write), refuse
// a second instance on a live segment, replace one left by a dead creator
// (also when its pid was reused), recreate one with a bad magic or version,
// unlink on a clean stop, and a mapping inherited across fork.
#include <cppunit/extensions/HelperMacros.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/log.hh"
#include "shm/counters.hh"
#include "shm/segment.hh"
#include "t/unit/shm/scratch_segment.hh"

using namespace causeway;
using namespace causeway::shm;
using causeway::shm::test::must;
using causeway::shm::test::scratch_segment;

namespace {
void wait_child(pid_t pid)
{
    int st = 0;
    CPPUNIT_ASSERT_EQUAL(pid, waitpid(pid, &st, 0));
    CPPUNIT_ASSERT(WIFEXITED(st));
    CPPUNIT_ASSERT_EQUAL(0, WEXITSTATUS(st));
}
}   // namespace

class segment_test : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(segment_test);
    CPPUNIT_TEST(create_and_attach);
    CPPUNIT_TEST(refuses_live_instance);
    CPPUNIT_TEST(replaces_dead_creator);
    CPPUNIT_TEST(replaces_reused_pid);
    CPPUNIT_TEST(recreates_bad_magic_and_version);
    CPPUNIT_TEST(recreates_foreign_object);
    CPPUNIT_TEST(unlink_on_clean_stop);
    CPPUNIT_TEST(unlink_spares_a_successor);
    CPPUNIT_TEST(attach_errors);
    CPPUNIT_TEST(fork_inherits_mapping);
    CPPUNIT_TEST(process_identity);
    CPPUNIT_TEST_SUITE_END();

public:
    // create() warns about every segment it replaces; these tests do it on purpose.
    void setUp() override
    {
        saved_level_ = common::log_level();
        common::log_set_level(LOG_ERR);
    }
    void tearDown() override { common::log_set_level(saved_level_); }

    void create_and_attach()
    {
        scratch_segment s(5000);
        segment seg = must(segment::create(s.cfg));
        CPPUNIT_ASSERT(seg.origin() == segment_origin::created);
        CPPUNIT_ASSERT(!seg.read_only());
        CPPUNIT_ASSERT_EQUAL(s.name(), seg.name());
        const segment_header& h = seg.header();
        CPPUNIT_ASSERT_EQUAL(segment_magic, h.magic.load());
        CPPUNIT_ASSERT_EQUAL(layout_version, h.layout_version.load());
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(getpid()), h.creator_pid.load());
        CPPUNIT_ASSERT(seg.creator_alive());
        CPPUNIT_ASSERT(h.created_realtime_ns > 0);
        CPPUNIT_ASSERT(seg.sessions().capacity() >= 5000);
        CPPUNIT_ASSERT_EQUAL(std::size_t(plan_segment(5000).total_size), seg.size());

        // The labels the supervisor copied are what causewayctl reads.
        progress_block pb = seg.progress();
        CPPUNIT_ASSERT_EQUAL(std::size_t(4), pb.backend_count());   // role, r1, r2, the primary server
        {
            std::string n, a;
            CPPUNIT_ASSERT(pb.label(3, n, a));
            CPPUNIT_ASSERT_EQUAL(std::string("primary"), n);
        }
        std::string name, address;
        CPPUNIT_ASSERT(pb.label(2, name, address));
        CPPUNIT_ASSERT_EQUAL(std::string("r2"), name);
        CPPUNIT_ASSERT_EQUAL(std::string("[::1]:3308"), address);

        add(seg.worker(3)->queries_forwarded, 7);
        segment ro = must(segment::attach(s.name(), true));
        CPPUNIT_ASSERT(ro.read_only());
        CPPUNIT_ASSERT(ro.origin() == segment_origin::attached);
        CPPUNIT_ASSERT_EQUAL(seg.size(), ro.size());
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(7), read(ro.worker(3)->queries_forwarded));
        CPPUNIT_ASSERT(ro.worker(max_worker_slots) == nullptr);
        CPPUNIT_ASSERT(ro.progress().label(0, name, address));
        CPPUNIT_ASSERT_EQUAL(std::string("primary"), name);
        // A read-only mapping answers lookups.
        CPPUNIT_ASSERT(seg.sessions().init_floor(*protocol::parse_gtid_position("0-1-5")));
        auto l = ro.sessions().lookup(ro.sessions().key(session_kind::user, "app"));
        CPPUNIT_ASSERT(l.known());
        CPPUNIT_ASSERT_EQUAL(std::string("0-0-5"), l.position.to_string());

        segment rw = must(segment::attach(s.name(), false));
        add(rw.worker(3)->queries_forwarded);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(8), read(seg.worker(3)->queries_forwarded));
    }

    void refuses_live_instance()
    {
        scratch_segment s;
        segment seg = must(segment::create(s.cfg));
        auto again = segment::create(s.cfg);
        CPPUNIT_ASSERT(!again.ok());
        CPPUNIT_ASSERT_EQUAL(EBUSY, again.err().code);
        const std::string& m = again.err().message;
        CPPUNIT_ASSERT_MESSAGE(m, m.find(s.name()) != std::string::npos);
        CPPUNIT_ASSERT_MESSAGE(m, m.find("pid " + std::to_string(getpid())) != std::string::npos);
        // The live segment is untouched.
        CPPUNIT_ASSERT_EQUAL(segment_magic, must(segment::attach(s.name(), true)).header().magic.load());
    }

    void replaces_dead_creator()
    {
        scratch_segment s;
        pid_t child = fork();
        if (child == 0) {
            auto seg = segment::create(s.cfg);
            _exit(seg.ok() ? 0 : 1);   // dies without unlinking, like a killed supervisor
        }
        wait_child(child);
        CPPUNIT_ASSERT(!must(segment::attach(s.name(), true)).creator_alive());
        segment seg = must(segment::create(s.cfg));
        CPPUNIT_ASSERT(seg.origin() == segment_origin::replaced_dead);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(getpid()), seg.header().creator_pid.load());
    }

    void replaces_reused_pid()
    {
        scratch_segment s;
        {
            segment seg = must(segment::create(s.cfg));
            // Same pid as a live process, but another start time: that process is gone.
            seg.header().creator_start_ticks.store(seg.header().creator_start_ticks.load() + 1);
            CPPUNIT_ASSERT(!seg.creator_alive());
        }
        segment seg = must(segment::create(s.cfg));
        CPPUNIT_ASSERT(seg.origin() == segment_origin::replaced_dead);
    }

    void recreates_bad_magic_and_version()
    {
        scratch_segment s;
        {
            segment seg = must(segment::create(s.cfg));
            seg.header().magic.store(0xdeadbeef);
            CPPUNIT_ASSERT(!segment::attach(s.name(), true).ok());
        }
        {
            segment seg = must(segment::create(s.cfg));   // live creator (us), but not a valid segment
            CPPUNIT_ASSERT(seg.origin() == segment_origin::replaced_invalid);
            seg.header().layout_version.store(layout_version + 1);
            auto a = segment::attach(s.name(), true);
            CPPUNIT_ASSERT(!a.ok());
            CPPUNIT_ASSERT_MESSAGE(a.err().message, a.err().message.find("layout version") != std::string::npos);
        }
        segment seg = must(segment::create(s.cfg));
        CPPUNIT_ASSERT(seg.origin() == segment_origin::replaced_invalid);
        CPPUNIT_ASSERT(must(segment::attach(s.name(), true)).creator_alive());
    }

    void recreates_foreign_object()
    {
        // Something else under the name: too small, then garbage of the right size.
        scratch_segment s;
        int fd = shm_open(s.name().c_str(), O_CREAT | O_EXCL | O_RDWR, 0600);
        CPPUNIT_ASSERT(fd >= 0);
        CPPUNIT_ASSERT_EQUAL(0, ftruncate(fd, 100));
        close(fd);
        auto a = segment::attach(s.name(), true);
        CPPUNIT_ASSERT(!a.ok());
        CPPUNIT_ASSERT_EQUAL(EPROTO, a.err().code);
        {
            segment seg = must(segment::create(s.cfg));
            CPPUNIT_ASSERT(seg.origin() == segment_origin::replaced_invalid);
            // Right magic and version, but a table size that disagrees with the mapping.
            seg.header().table[0].buckets += 1;
        }
        CPPUNIT_ASSERT(!segment::attach(s.name(), true).ok());
        segment seg = must(segment::create(s.cfg));
        CPPUNIT_ASSERT(seg.origin() == segment_origin::replaced_invalid);
    }

    void unlink_on_clean_stop()
    {
        scratch_segment s;
        segment seg = must(segment::create(s.cfg));
        auto ok = seg.unlink();
        CPPUNIT_ASSERT_MESSAGE(ok ? "" : ok.err().message, ok.ok());
        auto a = segment::attach(s.name(), true);
        CPPUNIT_ASSERT(!a.ok());
        CPPUNIT_ASSERT_EQUAL(ENOENT, a.err().code);
        // The mapping stays usable until it is destroyed; unlinking twice is fine.
        add(seg.poller().polls);
        CPPUNIT_ASSERT(seg.unlink().ok());
        CPPUNIT_ASSERT(segment::create(s.cfg).ok());
    }

    void unlink_spares_a_successor()
    {
        scratch_segment s;
        segment old = must(segment::create(s.cfg));
        // A successor that (wrongly) judged us dead replaced the name.
        old.header().creator_start_ticks.store(1);
        segment successor = must(segment::create(s.cfg));
        auto r = old.unlink();
        CPPUNIT_ASSERT(!r.ok());
        CPPUNIT_ASSERT_EQUAL(EEXIST, r.err().code);
        CPPUNIT_ASSERT(segment::attach(s.name(), true).ok());
        CPPUNIT_ASSERT(successor.unlink().ok());
    }

    void attach_errors()
    {
        auto missing = segment::attach(test::unique_shm_name(), true);
        CPPUNIT_ASSERT(!missing.ok());
        CPPUNIT_ASSERT_EQUAL(ENOENT, missing.err().code);
        for (const char* bad : {"", "/", "noslash", "/a/b"}) {
            auto r = segment::attach(bad, true);
            CPPUNIT_ASSERT_MESSAGE(bad, !r.ok());
            CPPUNIT_ASSERT_EQUAL(EINVAL, r.err().code);
        }
        scratch_segment s;
        s.cfg.shm_name = "bad/name";
        CPPUNIT_ASSERT(!segment::create(s.cfg).ok());
        CPPUNIT_ASSERT(segment::remove(test::unique_shm_name()).ok());   // missing is fine
    }

    void fork_inherits_mapping()
    {
        scratch_segment s;
        segment seg = must(segment::create(s.cfg));
        session_table t = seg.sessions();
        CPPUNIT_ASSERT(t.init_floor(*protocol::parse_gtid_position("0-1-1")));
        const std::uint64_t k = t.key(session_kind::connection, 42);
        pid_t child = fork();
        if (child == 0) {
            add(seg.worker(0)->connections_accepted, 3);
            bool ok = t.update(k, *protocol::parse_gtid_position("0-1-77")) == update_status::stored;
            _exit(ok ? 0 : 1);
        }
        wait_child(child);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(3), read(seg.worker(0)->connections_accepted));
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(77), t.lookup(k).position.seqno(0));
    }

    void process_identity()
    {
        CPPUNIT_ASSERT(process_start_ticks(getpid()) != 0);
        CPPUNIT_ASSERT(process_alive(getpid(), process_start_ticks(getpid())));
        CPPUNIT_ASSERT(!process_alive(getpid(), 0));
        pid_t child = fork();
        if (child == 0) _exit(0);
        // A zombie is not alive; a reaped process has no /proc entry.
        for (int i = 0; i < 1000 && process_start_ticks(child) != 0; ++i) usleep(1000);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(0), process_start_ticks(child));
        wait_child(child);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(0), process_start_ticks(child));
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(0), process_start_ticks(-1));
    }

private:
    int saved_level_ = LOG_INFO;
};

CPPUNIT_TEST_SUITE_REGISTRATION(segment_test);
