// What a worker needs of the primary role (shm/roles.hh), read each time a
// command needs the primary, as positions are read each time a read is routed:
// which server is the primary now, or why there is none, and the message a
// client gets then. Not here: the session's reaction (client_failover.cc).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "shm/layout.hh"
#include "worker/worker.hh"

namespace causeway::worker {

struct primary_choice {
    bool available = false;
    std::size_t slot = 0;   // progress-block index of the server (1..N) when available
    shm::primary_state state = shm::primary_state::unknown;
    std::uint64_t generation = 0;   // of the role block (0: the poller never published one)
};

// The primary now. Before the poller has published any decision (at start,
// or with no poller in bridge mode without [monitor]), the [primary] of the
// config. A torn read counts as "no primary known yet" (unknown: wait).
primary_choice current_primary(const worker_context& ctx);

// States in which a command for the primary waits (up to switchover_wait_ms)
// rather than failing at once: none decided yet, or none writable while the
// last primary is reachable (a switchover under way).
inline bool waits_for_primary(shm::primary_state s)
{
    return s == shm::primary_state::unknown || s == shm::primary_state::read_only;
}

// The ERR text for a command that found no primary: names the state.
std::string no_primary_message(const worker_context& ctx, const primary_choice& p, bool waited);

}   // namespace causeway::worker
