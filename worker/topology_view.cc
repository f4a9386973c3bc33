// The primary role as a worker sees it (see topology_view.hh).
#include "worker/topology_view.hh"

namespace causeway::worker {

primary_choice current_primary(const worker_context& ctx)
{
    primary_choice p;
    shm::role_snapshot r = ctx.roles.read();
    if (r.ok && r.generation == 0) {   // nothing published: the configured primary
        p.available = true;
        p.slot = ctx.cfg->primary_slot();
        p.state = shm::primary_state::up;
        return p;
    }
    p.generation = r.generation;
    p.state = r.ok ? r.state : shm::primary_state::unknown;
    if (r.has_primary() && r.primary_slot < ctx.servers.size()) {
        p.available = true;
        p.slot = r.primary_slot;
    }
    return p;
}

std::string no_primary_message(const worker_context& ctx, const primary_choice& p, bool waited)
{
    std::string wait =
        waited ? " (waited switchover_wait_ms = " + std::to_string(ctx.cfg->switchover_wait_ms) + ")" : "";
    // One copy of the role block: down and read_only name the last primary in
    // its slot word, split brain the writable servers.
    shm::role_snapshot last = ctx.roles.read();
    std::string last_primary = "the primary";
    if (last.ok && last.primary_slot > 0 && last.primary_slot < ctx.servers.size()) {
        const common::backend_config& b = ctx.servers[last.primary_slot];
        last_primary += " '" + b.name + "' (" + b.addr.to_string() + ")";
    }
    switch (p.state) {
        case shm::primary_state::down:
            return "Causeway: no primary: " + last_primary +
                " is down and no other server is writable (failover pending); writes are refused";
        case shm::primary_state::split_brain: {
            std::string names;
            for (std::size_t i = 1; i < ctx.servers.size(); ++i)
                if (last.writable_slots & (1ull << i)) names += (names.empty() ? "" : ", ") + ctx.servers[i].name;
            return "Causeway: no primary: split brain (" + names + " are all writable); writes are refused";
        }
        case shm::primary_state::read_only:
            return "Causeway: no primary: no server is writable (switchover in progress? " + last_primary +
                " is read-only)" + wait;
        case shm::primary_state::unknown:
        case shm::primary_state::up: break;
    }
    return "Causeway: no primary known yet" + wait;
}

}   // namespace causeway::worker
