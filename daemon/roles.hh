// Which listed server is the primary, decided from the servers' own state: a
// pure function of what the poller last saw of each server (no I/O, no clock),
// table-tested in t/unit/daemon/roles_test.cc. The poller publishes the result
// in the role block (shm/roles.hh); workers follow it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "common/address.hh"
#include "shm/layout.hh"

namespace causeway::daemon {

// One listed server as the poller last saw it.
struct server_facts {
    bool polled = false;   // it answered a poll on its current connection: read_only is known
    bool down = false;   // its connection failed or was refused (a late answer is not down);
        // neither: not heard from yet
    bool read_only = true;
    // SHOW SLAVE STATUS names a listed server as its master (running or not):
    // it is a replica in this cluster, whatever its read_only says.
    bool replicates_from_listed = false;
};

struct role_decision {
    std::size_t primary_slot = 0;   // read slot (1 + index into the facts); 0: none
    shm::primary_state state = shm::primary_state::unknown;
    std::uint64_t writable_slots = 0;   // bit per read slot that could be the primary
};

// servers[i] is read slot i + 1. `last_primary_slot`: the primary of the last
// decision that had one (0: never), which tells a switchover under way (it is
// reachable, read-only) from a failover pending (it is unreachable).
//   exactly one writable server (polled, not down, read_only = 0, not
//   replicating from a listed server): up, that one;
//   two or more: split_brain, none;
//   none: down if the last primary is down (or, with no last primary, every
//   server is), read_only once every server has been heard from (polled or
//   down), unknown before that.
role_decision decide_roles(std::span<const server_facts> servers, std::size_t last_primary_slot);

// Whether SHOW SLAVE STATUS's Master_Host/Master_Port name `a`: the same port
// and the same host text, or both hosts loopback (127.x, localhost, ::1).
bool same_server(std::string_view master_host, std::uint16_t master_port, const common::address& a);

}   // namespace causeway::daemon
