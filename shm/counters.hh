// Helpers for the per-worker and poller counters of layout.hh. Each counter
// has one writer, so a relaxed load + store is enough (no locked RMW on the
// data path); readers sum slots with relaxed loads and may see a value a few
// increments old. Names are for causewayctl and metrics output.
#pragma once

#include <atomic>
#include <cstdint>

#include "shm/layout.hh"

namespace causeway::shm {

// Single-writer add: only the counter's owner may call it.
inline void add(word& counter, std::uint64_t n = 1) noexcept
{
    counter.store(counter.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}

// Single-writer subtract, for gauges (connections_active).
inline void sub(word& counter, std::uint64_t n = 1) noexcept
{
    counter.store(counter.load(std::memory_order_relaxed) - n, std::memory_order_relaxed);
}

inline void count_route(worker_counters& w, route_reason r) noexcept
{
    add(w.routed[std::size_t(r)]);
}

// The bucket of a latency: the first bound it does not exceed (Prometheus'
// `le`), or latency_bounds for one above them all. A linear scan of 16
// constants: cheaper than the clock read that produced the value.
constexpr std::size_t latency_bucket(std::uint64_t us) noexcept
{
    std::size_t i = 0;
    while (i < latency_bounds && us > latency_bound_us[i]) ++i;
    return i;
}

// Single-writer, like add(): one bucket increment and the sum.
inline void record_latency(worker_stats& s, latency_kind k, std::uint64_t us) noexcept
{
    latency_histogram& h = s.latency[std::size_t(k)];
    add(h.bucket[latency_bucket(us)]);
    add(h.sum_us, us);
}

constexpr std::size_t command_slot(std::uint8_t command_byte) noexcept
{
    if (command_byte < command_slot_bulk_execute) return command_byte;
    return command_byte == 0xfa ? command_slot_bulk_execute : command_slot_other;
}

inline void count_command(worker_stats& s, std::uint8_t command_byte) noexcept
{
    add(s.commands[command_slot(command_byte)]);
}

inline void count_refused(worker_stats& s, refuse_reason r) noexcept
{
    add(s.refused[std::size_t(r)]);
}

// Reads as the router decided them: the reasons it gives a plain read (a
// locking read included). Writes, transactions, unclassified commands and
// bridge mode's everything are not reads.
constexpr bool is_read_reason(route_reason r) noexcept
{
    switch (r) {
        case route_reason::replica_caught_up:
        case route_reason::replica_after_wait:
        case route_reason::replica_direct:
        case route_reason::primary_locking_read:
        case route_reason::primary_not_caught_up:
        case route_reason::primary_table_full:
        case route_reason::primary_session_unknown:
        case route_reason::primary_progress_old: return true;
        default: return false;
    }
}

inline std::uint64_t read(const word& counter) noexcept
{
    return counter.load(std::memory_order_relaxed);
}

inline const char* route_reason_name(route_reason r) noexcept
{
    static constexpr const char* names[route_reason_count] = {
        "replica_caught_up",   "replica_after_wait",      "replica_direct",       "primary_write",
        "primary_transaction", "primary_locking_read",    "primary_unclassified", "primary_not_caught_up",
        "primary_table_full",  "primary_session_unknown", "primary_progress_old", "primary_bridge",
        "primary_unavailable", "primary_server_specific",
    };
    return std::size_t(r) < route_reason_count ? names[std::size_t(r)] : "unknown";
}

// Prometheus-style names: "causal_wait", "read_replica", "read_primary".
inline const char* latency_kind_name(latency_kind k) noexcept
{
    static constexpr const char* names[latency_kind_count] = {"causal_wait", "read_replica", "read_primary"};
    return std::size_t(k) < latency_kind_count ? names[std::size_t(k)] : "unknown";
}

inline const char* refuse_reason_name(refuse_reason r) noexcept
{
    static constexpr const char* names[refuse_reason_count] = {
        "max_connections", "out_of_fds",    "handshake_timeout", "auth_failure", "tls_required",
        "tls_failure",     "bad_handshake", "bad_session_id",    "no_primary",   "accounts_not_loaded",
    };
    return std::size_t(r) < refuse_reason_count ? names[std::size_t(r)] : "unknown";
}

// The command of a command slot as MariaDB's Com_* status names it, without
// the prefix ("query", "stmt_execute"); 0x22 and up are "other".
inline const char* command_slot_name(std::size_t slot) noexcept
{
    static constexpr const char* names[command_slots] = {
        "sleep",
        "quit",
        "init_db",
        "query",
        "field_list",
        "create_db",
        "drop_db",
        "refresh",
        "shutdown",
        "statistics",
        "process_info",
        "connect",
        "process_kill",
        "debug",
        "ping",
        "time",
        "delayed_insert",
        "change_user",
        "binlog_dump",
        "table_dump",
        "connect_out",
        "register_slave",
        "stmt_prepare",
        "stmt_execute",
        "stmt_send_long_data",
        "stmt_close",
        "stmt_reset",
        "set_option",
        "stmt_fetch",
        "daemon",
        "binlog_dump_gtid",
        "reset_connection",
        "stmt_bulk_execute",
        "other",
    };
    return slot < command_slots ? names[slot] : "other";
}

}   // namespace causeway::shm
