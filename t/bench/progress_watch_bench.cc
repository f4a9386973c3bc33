// The watcher of t/bench/progress_delay.pl (bin/progress_watch_bench): maps a
// running causewayd's segment read-only and reports when the replica-progress
// block first shows a position, as a worker would see it. Not a benchmark by
// itself: run with no arguments (as t/bench/run does) it prints a note and exits 0.
//
//   progress_watch_bench SHM_NAME
// prints "ready", then per stdin line "INDEX GTID_POSITION [TIMEOUT_MS]" one line:
//   "seen NS POLL_NS RTT_NS POLLS"  CLOCK_MONOTONIC when read(INDEX).position
//                             first covered the position, and the entry's last
//                             good poll stamp, round trip and poll count then;
//   "timeout NS" or "error TEXT".
#include <sys/prctl.h>
#include <time.h>

#include <cstdio>
#include <iostream>
#include <sstream>
#include <string>

#include "common/clock.hh"
#include "protocol/gtid.hh"
#include "shm/segment.hh"

using namespace causeway;

namespace {

// Between two reads of the entry: short enough to add little to the delay
// measured, long enough to leave a CPU to the poller and the servers.
constexpr long pause_ns = 20000;

void pause_briefly()
{
    timespec ts{0, pause_ns};
    nanosleep(&ts, nullptr);
}

void answer(const std::string& line)
{
    std::fputs(line.c_str(), stdout);
    std::fputc('\n', stdout);
    std::fflush(stdout);
}

void watch(const shm::progress_block& block, const std::string& request)
{
    std::istringstream in(request);
    std::size_t index = 0;
    std::string text;
    std::uint64_t timeout_ms = 5000;
    if (!(in >> index >> text)) return answer("error expected: INDEX GTID_POSITION [TIMEOUT_MS]");
    in >> timeout_ms;
    auto target = protocol::parse_gtid_position(text);
    if (!target) return answer("error " + target.err().message);
    if (index >= block.backend_count()) return answer("error no backend #" + std::to_string(index));
    const std::uint64_t deadline = common::monotonic_ns() + timeout_ms * 1000000u;
    while (true) {
        shm::progress_snapshot s = block.read(index);
        const std::uint64_t now = common::monotonic_ns();
        if (s.ok && s.position.covers(*target))
            return answer("seen " + std::to_string(now) + " " + std::to_string(s.last_good_poll_ns) + " " +
                          std::to_string(s.poll_rtt_ns) + " " + std::to_string(s.polls));
        if (now >= deadline) return answer("timeout " + std::to_string(now));
        pause_briefly();
    }
}

}   // namespace

int main(int argc, char** argv)
{
    if (argc < 2) {
        std::puts(
            "progress_watch_bench: a helper of t/bench/progress_delay.pl (which passes it a segment "
            "name); nothing to measure on its own");
        return 0;
    }
    // The default 50 µs timer slack would stretch every pause.
    (void)prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
    auto seg = shm::segment::attach(argv[1], true);
    if (!seg) {
        answer("error attach " + std::string(argv[1]) + ": " + seg.err().message);
        return 1;
    }
    const shm::progress_block block = seg->progress();
    answer("ready");
    std::string line;
    while (std::getline(std::cin, line)) {
        if (line == "quit") break;
        if (!line.empty()) watch(block, line);
    }
    return 0;
}
