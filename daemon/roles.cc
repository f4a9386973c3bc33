// The role decision (see roles.hh).
#include "daemon/roles.hh"

namespace causeway::daemon {

role_decision decide_roles(std::span<const server_facts> servers, std::size_t last_primary_slot)
{
    role_decision d;
    std::size_t writable = 0;
    bool all_heard = true, all_down = true;
    for (std::size_t i = 0; i < servers.size() && i + 1 < shm::max_backends; ++i) {
        const server_facts& s = servers[i];
        all_heard &= s.down || s.polled;
        all_down &= s.down;
        if (s.down || !s.polled || s.read_only || s.replicates_from_listed) continue;
        d.writable_slots |= 1ull << (i + 1);
        d.primary_slot = i + 1;
        ++writable;
    }
    if (writable == 1) {
        d.state = shm::primary_state::up;
        return d;
    }
    d.primary_slot = 0;
    if (writable > 1) {
        d.state = shm::primary_state::split_brain;
        return d;
    }
    bool last_known = last_primary_slot != 0 && last_primary_slot <= servers.size();
    if (last_known ? servers[last_primary_slot - 1].down : all_down && !servers.empty())
        d.state = shm::primary_state::down;
    else if (all_heard && !servers.empty())
        d.state = shm::primary_state::read_only;
    else
        d.state = shm::primary_state::unknown;
    return d;
}

namespace {
bool loopback(std::string_view h)
{
    return h == "localhost" || h == "::1" || h.substr(0, 4) == "127.";
}
}   // namespace

bool same_server(std::string_view master_host, std::uint16_t master_port, const common::address& a)
{
    if (master_port != a.port) return false;
    return master_host == a.host || (loopback(master_host) && loopback(a.host));
}

}   // namespace causeway::daemon
