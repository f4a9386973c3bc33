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
        "primary_unavailable",
    };
    return std::size_t(r) < route_reason_count ? names[std::size_t(r)] : "unknown";
}

}   // namespace causeway::shm
