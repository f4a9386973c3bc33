// What GET /metrics serves: the facts causewayctl reads from the segment
// (ctl_view.hh) plus CPU and memory per process role, rendered in the
// Prometheus text format. One table (metric_families()) names every family
// with its type and help; causewayd(8) is tested against it.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "daemon/ctl_view.hh"
#include "daemon/proc_usage.hh"

namespace causeway::daemon {

struct metric_family {
    const char* name;
    const char* type;   // counter, gauge, histogram
    const char* help;
};
std::span<const metric_family> metric_families();

// The metric name a worker counter (counter_set::names) is exported as; null
// for a counter the table does not know yet.
const metric_family* worker_counter_family(const char* counter_name);
// Every (worker counter, metric) pair the table knows, including counters this
// build's segment may not have yet.
std::span<const std::pair<const char*, const char*>> worker_counter_metrics();

// CPU and memory summed over the live processes of one role.
struct role_usage {
    const char* role;   // supervisor, worker, poller, admin
    unsigned processes = 0;
    double cpu_seconds = 0;
    std::uint64_t resident_bytes = 0;
};

struct metrics_input {
    instance_view instance;
    table_view table;
    counters_view counters;   // workers, their total, the poller
    replicas_view replicas;
    std::vector<role_usage> roles;
};

// Reads everything format_metrics() prints; `admin_pid` is the process
// serving the request (its own role); `usage` reads one process (a seam).
metrics_input read_metrics(const shm::segment& seg, const ctl_env& env, int max_age_ms, pid_t admin_pid,
                           std::optional<proc_usage> (*usage)(pid_t));

std::string format_metrics(const metrics_input& in);

}   // namespace causeway::daemon
