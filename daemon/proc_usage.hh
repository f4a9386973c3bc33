// CPU time and resident memory of a process, from /proc/PID/stat and
// /proc/PID/statm, for the per-role process metrics of the admin endpoint.
// The /proc root is a parameter so tests can point it at fixture files.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>

namespace causeway::daemon {

struct proc_usage {
    double cpu_seconds = 0;   // user + system, this process only (not reaped children)
    std::uint64_t resident_bytes = 0;
};

// Empty when the process is gone or its files do not parse.
std::optional<proc_usage> read_proc_usage(pid_t pid, const std::string& proc_root = "/proc");

// The parsing, apart from the files: `stat` is /proc/PID/stat's line, `statm`
// /proc/PID/statm's; `ticks_per_second` and `page_size` as sysconf() gives them.
std::optional<proc_usage> parse_proc_usage(const std::string& stat, const std::string& statm, long ticks_per_second,
                                           long page_size);

}   // namespace causeway::daemon
