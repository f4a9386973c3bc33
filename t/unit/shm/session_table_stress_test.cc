// The session table under concurrent processes: 4 forked updaters/readers, a
// reclaimer freeing entries behind a moving watermark, 4 M operations and a
// burst of new sessions that fills the table. Checks the invariant at every
// step: once update(k, s) has returned, lookup(k) answers unknown or >= s (no
// lost max update, even racing a reclaim), and never a value nobody wrote.
#include <cppunit/extensions/HelperMacros.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstring>

#include "common/clock.hh"
#include "shm/segment.hh"
#include "shm/session_table.hh"
#include "t/unit/shm/scratch_segment.hh"

using namespace causeway;
using namespace causeway::shm;
using causeway::shm::test::must;
using causeway::shm::test::scratch_segment;

namespace {

constexpr int processes = 4;
constexpr std::uint64_t ops_per_process = 1000000;
constexpr std::size_t private_keys = 256;   // per process
constexpr std::size_t shared_keys = 2048;   // written by every process
constexpr std::size_t burst_keys = 3000;   // written once, while the reclaimer pauses
constexpr std::size_t burst_first = processes * private_keys + shared_keys;
constexpr std::size_t total_keys = burst_first + burst_keys;
constexpr int domains = 2;

// What the test knows, in shared anonymous memory: the seqno source and, per
// key and domain, the highest seqno whose update() has returned.
struct truth {
    std::atomic<std::uint64_t> next_seqno;
    std::atomic<std::uint64_t> stop;
    std::atomic<std::uint64_t> errors;
    std::atomic<std::uint64_t> pause;   // the reclaimer idles while set
    std::atomic<std::uint64_t> ops, known, unknown, full, overflow;
    std::atomic<std::uint64_t> acked[total_keys][domains];
    char first_error[256];
};

// splitmix64: consecutive outputs are independent enough to pick key, kind
// of operation and domains from separate draws (xorshift's low bits are not).
struct rng {
    std::uint64_t s;
    std::uint64_t next()
    {
        std::uint64_t z = (s += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
    }
};

void fail(truth& t, const char* fmt, std::uint64_t a, std::uint64_t b, std::uint64_t c)
{
    if (t.errors.fetch_add(1) == 0) std::snprintf(t.first_error, sizeof t.first_error, fmt, a, b, c);
}

void cas_max(std::atomic<std::uint64_t>& w, std::uint64_t v)
{
    std::uint64_t cur = w.load();
    while (cur < v && !w.compare_exchange_weak(cur, v)) {
    }
}

std::uint64_t key_of(const session_table& t, std::size_t k)
{
    return t.key(session_kind::connection, k);
}

// A known answer must cover what was acknowledged before the lookup began and
// hold only seqnos that were handed out.
void check(truth& tr, const lookup_result& r, std::size_t k, const std::uint64_t (&acked)[domains])
{
    if (!r.known()) {
        tr.unknown.fetch_add(1, std::memory_order_relaxed);
        return;
    }
    tr.known.fetch_add(1, std::memory_order_relaxed);
    const std::uint64_t issued = tr.next_seqno.load();
    for (int d = 0; d < domains; ++d) {
        std::uint64_t got = r.position.seqno(std::uint32_t(d));
        if (got < acked[d]) fail(tr, "key %lu: lost update: lookup %lu < acknowledged %lu", k, got, acked[d]);
        if (got > issued) fail(tr, "key %lu: seqno %lu never issued (issued %lu)", k, got, issued);
    }
}

void write(truth& tr, session_table& t, std::size_t k, std::uint64_t dice)
{
    std::uint64_t s = tr.next_seqno.fetch_add(1) + 1;
    protocol::gtid_position p;
    (void)p.set(protocol::gtid{0, 1, s});
    if (dice % 8 == 0) (void)p.set(protocol::gtid{1, 1, s});
    if (dice % 4096 == 2) (void)p.set(protocol::gtid{2, 1, s});   // a third domain: overflow
    update_status st = t.update(key_of(t, k), p);
    if (st == update_status::full) tr.full.fetch_add(1, std::memory_order_relaxed);
    if (st == update_status::overflow) tr.overflow.fetch_add(1, std::memory_order_relaxed);
    if (t.stats().updates_untracked.load(std::memory_order_relaxed) != 0)
        fail(tr, "key %lu: a domain left untracked at seqno %lu (%lu)", k, s, 0);
    // Whatever the status, the write now counts as acknowledged.
    std::uint64_t mine[domains] = {s, p.seqno(1)};
    for (int d = 0; d < domains; ++d) cas_max(tr.acked[k][d], mine[d]);
    check(tr, t.lookup(key_of(t, k)), k, mine);
}

void worker(truth& tr, session_table t, int id)
{
    rng r{std::uint64_t(id + 1) << 32};
    for (std::uint64_t op = 0; op < ops_per_process; ++op) {
        if (id == 0 && op == ops_per_process / 3) {
            // A burst of new sessions while reclaim is stalled: the table fills,
            // updates spill or reclaim inline, all racing the other processes.
            tr.pause.store(1);
            for (std::size_t k = burst_first; k < total_keys; ++k) write(tr, t, k, r.next());
            tr.pause.store(0);
        }
        std::size_t k = r.next() % 2 ? std::size_t(id) * private_keys + r.next() % private_keys
                                     : processes * private_keys + r.next() % shared_keys;
        std::uint64_t dice = r.next();
        if (dice % 2 == 0) {
            write(tr, t, k, r.next());
        } else {
            std::uint64_t before[domains];
            for (int d = 0; d < domains; ++d) before[d] = tr.acked[k][d].load();
            check(tr, t.lookup(key_of(t, k)), k, before);
        }
    }
    tr.ops.fetch_add(ops_per_process);
}

// Plays the poller: replicas "apply" up to a lagging watermark; sweeps small
// slices so that reclaims race the updaters all the time.
void reclaimer(truth& tr, session_table t)
{
    rng r{12345};
    std::size_t cursor = 0;
    while (!tr.stop.load()) {
        if (tr.pause.load()) {
            usleep(100);
            continue;
        }
        std::uint64_t issued = tr.next_seqno.load(), lag = r.next() % 3000;
        std::uint64_t wm = issued > lag ? issued - lag : 0;
        protocol::gtid_position p;
        for (std::uint32_t d = 0; d < 3; ++d) (void)p.set(protocol::gtid{d, 1, wm});
        t.publish_watermark(p);
        t.reclaim(cursor, 16);
        cursor += 16;
    }
}

pid_t spawn(auto&& body)
{
    pid_t pid = fork();
    if (pid == 0) {
        body();
        _exit(0);
    }
    return pid;
}

}   // namespace

class session_table_stress_test : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(session_table_stress_test);
    CPPUNIT_TEST(concurrent_processes);
    CPPUNIT_TEST_SUITE_END();

public:
    void concurrent_processes()
    {
        void* mem = mmap(nullptr, sizeof(truth), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        CPPUNIT_ASSERT(mem != MAP_FAILED);
        truth& tr = *new (mem) truth{};
        scratch_segment s(4500);   // 900 buckets: room for the 3072 steady keys, not the burst
        segment seg = must(segment::create(s.cfg));
        session_table t = seg.sessions();
        CPPUNIT_ASSERT(t.init_floor(*protocol::parse_gtid_position("0-1-0")));
        const std::uint64_t start = common::monotonic_ns();

        pid_t rec = spawn([&] { reclaimer(tr, t); });
        pid_t pids[processes];
        for (int i = 0; i < processes; ++i) pids[i] = spawn([&, i] { worker(tr, t, i); });
        for (pid_t p : pids) {
            int st = 0;
            CPPUNIT_ASSERT_EQUAL(p, waitpid(p, &st, 0));
            CPPUNIT_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
        }
        tr.stop.store(1);
        CPPUNIT_ASSERT_EQUAL(rec, waitpid(rec, nullptr, 0));
        const double secs = double(common::monotonic_ns() - start) / 1e9;

        if (getenv("CAUSEWAY_TEST_VERBOSE"))
            std::fprintf(stderr,
                         "\nstress: %.2fs ops %lu known %lu unknown %lu full %lu overflow %lu restarts %lu "
                         "inline %lu floor %lu occupied %zu\n",
                         secs, tr.ops.load(), tr.known.load(), tr.unknown.load(), tr.full.load(), tr.overflow.load(),
                         t.stats().update_restarts.load(), t.stats().inline_reclaims.load(), t.floor().seqno(0),
                         t.occupied());
        CPPUNIT_ASSERT_MESSAGE(tr.first_error, tr.errors.load() == 0);
        CPPUNIT_ASSERT(tr.ops.load() >= 1000000);
        CPPUNIT_ASSERT(t.stats().updates_full.load() + t.stats().inline_reclaims.load() > 0);   // it did fill
        // Meaningful: most answers were known, and reclaim really ran.
        CPPUNIT_ASSERT_MESSAGE(
            "known " + std::to_string(tr.known.load()) + " unknown " + std::to_string(tr.unknown.load()),
            tr.known.load() > tr.unknown.load());
        CPPUNIT_ASSERT(t.floor().seqno(0) > 0);

        // At the end every key answers unknown or at least its last write...
        for (std::size_t k = 0; k < total_keys; ++k) {
            lookup_result r = t.lookup(key_of(t, k));
            if (!r.known()) continue;
            for (int d = 0; d < domains; ++d)
                CPPUNIT_ASSERT(r.position.seqno(std::uint32_t(d)) >= tr.acked[k][d].load());
        }
        // ...and once everything is applied everywhere, every key is known again.
        protocol::gtid_position all;
        for (std::uint32_t d = 0; d < 3; ++d) (void)all.set(protocol::gtid{d, 1, tr.next_seqno.load()});
        t.publish_watermark(all);
        t.reclaim(0, t.buckets());
        CPPUNIT_ASSERT_EQUAL(std::size_t(0), t.occupied());
        for (std::size_t k = 0; k < total_keys; ++k) {
            lookup_result r = t.lookup(key_of(t, k));
            CPPUNIT_ASSERT(r.known());
            for (int d = 0; d < domains; ++d)
                CPPUNIT_ASSERT(r.position.seqno(std::uint32_t(d)) >= tr.acked[k][d].load());
        }
        CPPUNIT_ASSERT(secs < 30);
        munmap(mem, sizeof(truth));
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(session_table_stress_test);
