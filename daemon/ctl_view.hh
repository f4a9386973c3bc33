// What causewayctl shows, as plain values: read once from a mapped segment
// (read-only; seqlocked parts retried, then reported torn) and with every
// derived number (ages, transactions behind, fill, usable) computed here, so
// the formatting in ctl_report.cc only prints. Time and process liveness come
// from a ctl_env, so tests fix them.
#pragma once

#include <sys/types.h>

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "protocol/gtid.hh"
#include "shm/layout.hh"
#include "shm/progress.hh"
#include "shm/roles.hh"
#include "shm/segment.hh"
#include "shm/session_table.hh"

namespace causeway::daemon {

// The seams: clocks, a process probe, and a pause between torn-read retries.
struct ctl_env {
    std::uint64_t (*monotonic_ns)() = nullptr;
    std::uint64_t (*realtime_ns)() = nullptr;
    bool (*pid_running)(pid_t) = nullptr;
    void (*pause)() = nullptr;   // between retries of a torn read
    int torn_retries = 20;   // rounds of progress_block::read's own retries
};
ctl_env real_ctl_env();

// now - then, for CLOCK_MONOTONIC stamps written by other processes: empty when
// `then` is 0 (never happened); 0 when `then` is after `now` (the writer read
// the clock after we did).
std::optional<std::uint64_t> age_ns(std::uint64_t now, std::uint64_t then);

// Transactions a replica must still apply to reach the primary: the sum over
// the primary's domains of max(0, primary seqno - replica seqno). Domains only
// the replica has do not count. Saturates at UINT64_MAX.
std::uint64_t transactions_behind(const protocol::gtid_position& primary, const protocol::gtid_position& replica);

double fill_percent(std::uint64_t occupied, std::uint64_t capacity);

// "up", "down", "replication_stopped", "unknown".
const char* state_name(shm::backend_state s);

struct instance_view {
    std::string shm_name;
    std::uint64_t segment_bytes = 0;
    std::uint64_t layout_version = 0;
    pid_t supervisor_pid = 0;
    bool supervisor_running = false;
    std::uint64_t created_realtime_ns = 0;
    std::optional<std::uint64_t> uptime_ns;   // realtime now - created
    std::uint64_t config_generation = 0;
};

struct poller_view {
    pid_t pid = 0;
    bool running = false;
    std::uint64_t generation = 0;
    std::optional<std::uint64_t> heartbeat_age_ns;   // empty: never beat
    bool heartbeat_fresh = false;   // within progress_max_age_ms
    std::uint64_t polls = 0, poll_errors = 0, rounds = 0;
    std::uint64_t reclaim_sweeps = 0, reclaimed_entries = 0, reclaimed_spills = 0, table_occupied = 0;
    // users_from_primary, as the poller published it (shm/accounts.hh).
    shm::accounts_stats users;
    std::uint64_t users_capacity = 0;
    std::uint64_t primary_domains = 0, replica_domains = 0, domain_limit_polls = 0;
};

struct backend_view {
    std::size_t index = 0;   // 0: the primary role (named after the server that holds it), 1..: the servers
    std::string name, address;
    bool label_torn = false;
    bool torn = false;   // no clean copy of the progress entry
    // The entry was written for another config entry than the label names
    // (a reload changed the backends and the poller has not caught up).
    bool identity_mismatch = false;
    shm::progress_snapshot progress;
    std::optional<std::uint64_t> behind;   // transactions; empty: not known
    std::optional<std::uint64_t> advanced_age_ns;   // since the position last moved
    std::optional<std::uint64_t> poll_age_ns;   // since the last good poll
    std::optional<std::uint64_t> rtt_ns;   // of that poll
    bool usable = false;   // entry 0: writes can go to it; a server: reads can
    bool holds_primary = false;   // a server the role block names the primary
    bool drained = false;   // causewayctl drain
    // Server connections the workers hold open to it, pooled ones included
    // (max_backend_connections_per_server); 0 for the primary role's entry,
    // whose connections count under the server that holds the role.
    std::uint64_t connections = 0;
    bool is_primary() const noexcept { return index == shm::primary_index; }
    const char* role() const noexcept { return is_primary() || holds_primary ? "primary" : "replica"; }
};

// The primary role as the poller decided it, and its counters.
struct roles_view {
    shm::role_snapshot decision;
    std::string primary_name;   // the server holding the role; empty: none
    std::uint64_t primary_changes = 0, split_brain_decisions = 0;
};

struct replicas_view {
    std::optional<std::uint64_t> heartbeat_age_ns;
    bool heartbeat_fresh = false;
    protocol::gtid_position floor;
    bool floor_set = false;
    std::vector<backend_view> backends;
    roles_view roles;
    bool any_torn() const noexcept;
};

// One worker slot's counters (or their total).
struct counter_set {
    // Names of the plain counters, in the order of `values`.
    static constexpr std::array<const char*, 41> names = {
        "connections_active",
        "connections_accepted",
        "connections_refused",
        "auth_failures",
        "queries_forwarded",
        "bytes_in",
        "bytes_out",
        "backend_connect_failures",
        "protocol_errors",
        "waits",
        "wait_us",
        "position_fences",
        "optimistic_started",
        "optimistic_completed",
        "optimistic_migrated",
        "optimistic_conflicts",
        "optimistic_primary_wrote",
        "optimistic_primary_unrepeatable",
        "optimistic_primary_temporary",
        "optimistic_primary_write_first",
        "tls_connections",
        "tls_failures",
        "handshake_timeouts",
        "auth_delays",
        "accept_pauses",
        "pool_reuses",
        "switch_retries",
        "backend_tls_failures",
        "limit_waits",
        "limit_wait_us",
        "limit_refusals",
        "limit_rerouted",
        "pool_evictions",
        "pool_pings",
        "pool_dead",
        "pool_user_changes",
        "pool_statement_releases",
        "idle_timeouts",
        "replica_read_timeouts",
        "compressed_connections",
        "compression_errors",
    };
    std::array<std::uint64_t, names.size()> values{};
    std::array<std::uint64_t, shm::route_reason_count> routed{};
    // From the worker's shm::worker_stats block.
    struct histogram {
        std::array<std::uint64_t, shm::latency_bounds + 1> buckets{};   // per bucket, not cumulative
        std::uint64_t sum_us = 0;
        std::uint64_t count() const noexcept;
    };
    std::array<histogram, shm::latency_kind_count> latency{};
    std::array<std::uint64_t, shm::command_slots> commands{};
    std::array<std::uint64_t, shm::refuse_reason_count> refused{};
    std::uint64_t get(const char* name) const noexcept;   // 0 for an unknown name
    void add(const counter_set& o) noexcept;
};

struct worker_view {
    std::size_t slot = 0;
    pid_t pid = 0;
    bool running = false;
    std::uint64_t generation = 0;
    std::optional<std::uint64_t> uptime_ns;   // monotonic now - started_ns
    counter_set counters;
};

struct table_view {
    std::uint64_t occupied = 0, capacity = 0;
    double fill = 0;   // percent
    bool floor_set = false;
    protocol::gtid_position floor, watermark;
    std::uint64_t updates_full = 0, updates_overflow = 0, updates_untracked = 0, update_restarts = 0,
                  inline_reclaims = 0;
    std::uint64_t domains_tracked = 0, domain_capacity = 0;   // GTID domains: tracked one by one, max_gtid_domains
};

struct status_view {
    instance_view instance;
    roles_view roles;
    poller_view poller;
    std::vector<worker_view> workers;   // slots with a pid
    table_view table;
};

// The supervisor's counters in the segment header.
struct supervisor_view {
    std::uint64_t reloads_ok = 0, reloads_failed = 0, worker_restarts = 0, poller_restarts = 0, admin_restarts = 0;
    std::uint64_t exited_cpu_us[3] = {};   // of reaped workers, pollers, admin processes
};

struct counters_view {
    std::vector<worker_view> workers;   // slots with a pid
    counter_set total;   // over every slot, free ones included (they keep counting)
    poller_view poller;
    supervisor_view supervisor;
};

// One session-table entry, for `causewayctl sessions`: the key's 32-bit tag
// (the table stores hashes, never session ids), overflow, and its position.
using session_row = shm::session_entry;

// The `n` rows furthest ahead of the watermark (most transactions the
// replicas must still apply before they can serve that session), largest
// first; ties in tag order so output is stable.
std::vector<session_row> furthest_behind(std::vector<session_row> rows, const protocol::gtid_position& watermark,
                                         std::size_t n);
// The same over a whole table, paged: `chunk_buckets` buckets are copied at a
// time and only the best `n` so far are kept, so memory follows n and the
// chunk, not the table (1 M entries would be ~150 MB as rows).
std::vector<session_row> furthest_behind(const shm::session_table& table, const protocol::gtid_position& watermark,
                                         std::size_t n, std::size_t chunk_buckets = 4096);

struct sessions_view {
    table_view table;
    std::size_t limit = 10;
    bool entries_listed = false;   // true once read_sessions() has listed the table
    std::size_t spilled_buckets = 0;
    std::vector<session_row> entries;   // furthest ahead of table.watermark first
};

// Readers. `max_age_ms` is the config's progress_max_age_ms (for "fresh" and
// "usable"); the running instance may use another value after a reload.
instance_view read_instance(const shm::segment& seg, const ctl_env& env);
poller_view read_poller(const shm::segment& seg, const ctl_env& env, std::uint64_t now, int max_age_ms);
replicas_view read_replicas(const shm::segment& seg, const ctl_env& env, int max_age_ms);
table_view read_table(const shm::segment& seg);
status_view read_status(const shm::segment& seg, const ctl_env& env, int max_age_ms);
counters_view read_counters(const shm::segment& seg, const ctl_env& env, int max_age_ms);
sessions_view read_sessions(const shm::segment& seg, std::size_t limit);

}   // namespace causeway::daemon
