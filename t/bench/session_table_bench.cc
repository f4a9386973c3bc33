// Micro-benchmark of the session table (bin/session_table_bench): segment size
// for 1 M sessions, and lookups/s and updates/s per CPU second on a table
// holding 1 M sessions: random, random with prefetch, absent, hot; then two
// processes at once. Prints "name: value" lines; the targets (DESIGN.md §6)
// are >= 10 M lookups/s per core and <= 64 MiB.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "common/clock.hh"
#include "common/config.hh"
#include "shm/segment.hh"

using namespace causeway;
using namespace causeway::shm;

namespace {

constexpr std::size_t sessions = 1000000;

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

double seconds_since(std::uint64_t start)
{
    return double(common::monotonic_ns() - start) / 1e9;
}

// CPU time of this process: "per core" rates stay honest on a busy machine,
// where wall time would count the time slices given to other processes.
std::uint64_t cpu_ns()
{
    timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return std::uint64_t(ts.tv_sec) * 1000000000u + std::uint64_t(ts.tv_nsec);
}
double cpu_seconds_since(std::uint64_t start)
{
    return double(cpu_ns() - start) / 1e9;
}

void print_rate(const char* name, std::size_t n, double secs)
{
    std::printf("%s: %.0f\n", name, double(n) / secs);
}

protocol::gtid_position at(std::uint64_t seqno)
{
    protocol::gtid_position p;
    (void)p.set(protocol::gtid{0, 1, seqno});
    return p;
}

// Random lookups of sessions [first, first + count) for about `secs` CPU seconds;
// returns lookups done. Keys are hashed on the fly, as a worker does from the
// session id, so the only memory traffic is the table's.
std::size_t lookup_loop(const session_table& t, std::uint64_t first, std::uint64_t count, double secs,
                        std::uint64_t seed, std::uint64_t& sink)
{
    rng r{seed};
    std::size_t n = 0;
    const std::uint64_t end = cpu_ns() + std::uint64_t(secs * 1e9);
    while (cpu_ns() < end) {
        for (int i = 0; i < 4096; ++i) {
            lookup_result res = t.lookup(t.key(session_kind::connection, first + r.next() % count));
            sink += res.position.empty() ? 0 : res.position[0].seqno;
        }
        n += 4096;
    }
    return n;
}

// The same with each lookup's buckets prefetched a few lookups ahead, as a
// worker can do when a statement arrives, before it parses it.
std::size_t pipelined_loop(const session_table& t, std::uint64_t count, double secs, std::uint64_t seed,
                           std::uint64_t& sink)
{
    constexpr unsigned ahead = 4;
    rng r{seed};
    std::size_t n = 0;
    std::uint64_t ring[ahead];
    for (auto& k : ring) t.prefetch(k = t.key(session_kind::connection, r.next() % count));
    const std::uint64_t end = cpu_ns() + std::uint64_t(secs * 1e9);
    while (cpu_ns() < end) {
        for (unsigned i = 0; i < 4096; ++i) {
            std::uint64_t k = ring[i % ahead];
            t.prefetch(ring[i % ahead] = t.key(session_kind::connection, r.next() % count));
            lookup_result res = t.lookup(k);
            sink += res.position.empty() ? 0 : res.position[0].seqno;
        }
        n += 4096;
    }
    return n;
}

}   // namespace

int main()
{
    common::config cfg;
    cfg.shm_name = "/causeway-bench-" + std::to_string(getpid());
    cfg.primary = common::backend_config{"primary", common::address{"127.0.0.1", 3306}};

    std::printf("segment_bytes_default_table: %llu\n",
                (unsigned long long)plan_segment(std::uint64_t(cfg.session_table_size)).total_size);
    // 1 M sessions at 70% fill (two-choice buckets of 5 start to spill past ~75%).
    cfg.session_table_size = int(sessions * 10 / 7);
    auto seg = segment::create(cfg);
    if (!seg) {
        std::fprintf(stderr, "session_table_bench: %s\n", seg.err().message.c_str());
        return 1;
    }
    session_table t = seg->sessions();
    std::printf("table_entries: %zu\n", t.capacity());
    std::printf("segment_bytes_1m_sessions: %zu\n", seg->size());
    std::printf("segment_mib_1m_sessions: %.1f\n", double(seg->size()) / (1 << 20));
    (void)t.init_floor(at(1));

    std::vector<std::uint64_t> keys(sessions);
    for (std::size_t i = 0; i < sessions; ++i) keys[i] = t.key(session_kind::connection, std::uint64_t(i));

    std::uint64_t start = cpu_ns();
    std::size_t full = 0;
    for (std::size_t i = 0; i < sessions; ++i) full += t.update(keys[i], at(i + 2)) != update_status::stored;
    print_rate("inserts_per_s", sessions, cpu_seconds_since(start));
    std::printf("sessions_stored: %zu\n", sessions - full);
    std::printf("sessions_spilled: %zu\n", full);

    rng r{7};
    const std::size_t updates = 3000000;
    start = cpu_ns();
    for (std::size_t i = 0; i < updates; ++i)
        (void)t.update(t.key(session_kind::connection, r.next() % sessions), at(sessions + 2 + i));
    print_rate("updates_per_s_per_core", updates, cpu_seconds_since(start));

    std::uint64_t sink = 0;
    start = cpu_ns();
    std::size_t n = lookup_loop(t, 0, sessions, 1.0, 11, sink);
    print_rate("lookups_per_s_per_core", n, cpu_seconds_since(start));
    start = cpu_ns();
    n = pipelined_loop(t, sessions, 1.0, 19, sink);
    print_rate("lookups_per_s_per_core_prefetched", n, cpu_seconds_since(start));
    start = cpu_ns();
    n = lookup_loop(t, sessions, sessions, 1.0, 13, sink);
    print_rate("lookups_per_s_per_core_absent", n, cpu_seconds_since(start));
    start = cpu_ns();
    n = lookup_loop(t, 0, 1000, 1.0, 17, sink);
    print_rate("lookups_per_s_per_core_hot_1k", n, cpu_seconds_since(start));

    // Two processes (this machine's cores) looking up at once, plus a writer:
    // lookups per CPU second of each, summed (scaling, not the machine's load).
    int pipes[2][2];
    pid_t kids[2];
    for (int k = 0; k < 2; ++k) {
        if (pipe(pipes[k]) != 0) return 1;
        kids[k] = fork();
        if (kids[k] == 0) {
            std::uint64_t s = 0;
            std::size_t done = lookup_loop(t, 0, sessions, 1.0, 100 + k, s);
            if (write(pipes[k][1], &done, sizeof done) != sizeof done) _exit(1);
            _exit(s == 42 ? 1 : 0);
        }
        close(pipes[k][1]);
    }
    std::size_t writes = 0;
    start = common::monotonic_ns();
    while (seconds_since(start) < 2.0 && waitpid(-1, nullptr, WNOHANG) == 0) {
        for (int i = 0; i < 256; ++i) (void)t.update(keys[r.next() % sessions], at(sessions + updates + 2 + writes++));
        usleep(1000);   // ~250k writes/s: a busy primary
    }
    std::size_t total = 0;
    for (int k = 0; k < 2; ++k) {
        std::size_t done = 0;
        if (read(pipes[k][0], &done, sizeof done) == sizeof done) total += done;
        waitpid(kids[k], nullptr, 0);
    }
    print_rate("lookups_per_s_2_processes_with_writer", total, 1.0);   // each ran 1 CPU second

    reclaim_result rr{};
    protocol::gtid_position all = at(sessions + updates + writes + 2);
    t.publish_watermark(all);
    start = cpu_ns();
    rr = t.reclaim(0, t.buckets());
    std::printf("reclaim_full_sweep_ms: %.1f\n", cpu_seconds_since(start) * 1e3);
    std::printf("reclaimed: %zu\n", rr.reclaimed);
    std::printf("checksum: %llu\n", (unsigned long long)(sink & 0xffff));
    (void)seg->unlink();
    return 0;
}
