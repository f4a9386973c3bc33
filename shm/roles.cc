// The role block and drain list (see roles.hh). Payload words are relaxed;
// ordering comes from shm/seqlock.hh.
#include "shm/roles.hh"

#include "shm/seqlock.hh"

namespace causeway::shm {

namespace {
constexpr auto relaxed = std::memory_order_relaxed;
}

const char* primary_state_name(primary_state s) noexcept
{
    switch (s) {
        case primary_state::unknown: return "unknown";
        case primary_state::up: return "up";
        case primary_state::read_only: return "read_only";
        case primary_state::down: return "down";
        case primary_state::split_brain: return "split_brain";
    }
    return "unknown";
}

void role_view::publish(std::size_t primary_slot, primary_state state, std::uint64_t writable_slots,
                        std::uint64_t now_ns) noexcept
{
    role_block& r = h_->roles;
    std::uint64_t old_slot = r.primary_slot.load(relaxed);
    std::uint64_t old_state = r.state.load(relaxed);
    bool changed = old_slot != primary_slot || old_state != std::uint64_t(state);
    if (!changed && r.writable_slots.load(relaxed) == writable_slots) return;
    std::uint64_t odd = seqlock_write_begin(r.seq);
    if (changed) {
        r.generation.store(r.generation.load(relaxed) + 1, relaxed);
        r.changed_ns.store(now_ns, relaxed);
    }
    r.primary_slot.store(primary_slot, relaxed);
    r.state.store(std::uint64_t(state), relaxed);
    r.writable_slots.store(writable_slots, relaxed);
    seqlock_write_end(r.seq, odd);
}

void role_view::count_primary_change() noexcept
{
    h_->roles.primary_changes.store(h_->roles.primary_changes.load(relaxed) + 1, relaxed);
}

void role_view::count_split_brain() noexcept
{
    h_->roles.split_brain_decisions.store(h_->roles.split_brain_decisions.load(relaxed) + 1, relaxed);
}

role_snapshot role_view::read() const noexcept
{
    const role_block& r = h_->roles;
    role_snapshot s;
    for (int attempt = 0; attempt < seqlock_max_attempts; ++attempt) {
        std::uint64_t begin = seqlock_read_begin(r.seq);
        s.generation = r.generation.load(relaxed);
        std::uint64_t slot = r.primary_slot.load(relaxed);
        std::uint64_t state = r.state.load(relaxed);
        s.changed_ns = r.changed_ns.load(relaxed);
        s.writable_slots = r.writable_slots.load(relaxed);
        if (!seqlock_read_valid(r.seq, begin)) {
            cpu_relax();
            continue;
        }
        if (slot >= max_backends || state > std::uint64_t(primary_state::split_brain)) return role_snapshot{};
        s.primary_slot = slot;
        s.state = primary_state(state);
        s.ok = true;
        return s;
    }
    return role_snapshot{};
}

std::uint64_t role_view::primary_changes() const noexcept
{
    return h_->roles.primary_changes.load(relaxed);
}

std::uint64_t role_view::split_brain_decisions() const noexcept
{
    return h_->roles.split_brain_decisions.load(relaxed);
}

bool role_view::drain(std::uint64_t identity) noexcept
{
    if (identity == 0 || drained(identity)) return identity != 0;
    for (auto& w : h_->drains.identity) {
        std::uint64_t expected = 0;
        if (w.compare_exchange_strong(expected, identity, std::memory_order_acq_rel)) return true;
    }
    return false;
}

void role_view::undrain(std::uint64_t identity) noexcept
{
    if (identity == 0) return;
    for (auto& w : h_->drains.identity) {
        std::uint64_t expected = identity;
        w.compare_exchange_strong(expected, 0, std::memory_order_acq_rel);
    }
}

bool role_view::drained(std::uint64_t identity) const noexcept
{
    if (identity == 0) return false;   // 0 marks a free word, never a server
    for (const auto& w : h_->drains.identity)
        if (w.load(std::memory_order_acquire) == identity) return true;
    return false;
}

}   // namespace causeway::shm
