// The primary role as the poller publishes it (which read slot is the primary
// now, or why there is none) and the operator's drain list. One writer per
// part (the poller; causewayctl for drains); readers copy through a seqlock.
// Not here: how the poller decides (daemon/roles.hh).
#pragma once

#include <cstddef>
#include <cstdint>

#include "shm/layout.hh"

namespace causeway::shm {

struct role_snapshot {
    bool ok = false;   // false: torn (treat as "no primary known")
    std::uint64_t generation = 0;
    std::size_t primary_slot = 0;   // 0: none
    primary_state state = primary_state::unknown;
    std::uint64_t changed_ns = 0;
    std::uint64_t writable_slots = 0;

    bool has_primary() const noexcept { return ok && state == primary_state::up && primary_slot != 0; }
};

const char* primary_state_name(primary_state s) noexcept;

class role_view {
public:
    role_view() = default;
    explicit role_view(segment_header* h) : h_(h) {}

    // Poller: publishes a decision; bumps the generation when slot or state
    // differ from the last one published.
    void publish(std::size_t primary_slot, primary_state state, std::uint64_t writable_slots,
                 std::uint64_t now_ns) noexcept;
    void count_primary_change() noexcept;   // another server became the primary
    void count_split_brain() noexcept;   // a decision round found split brain

    role_snapshot read() const noexcept;
    std::uint64_t primary_changes() const noexcept;
    std::uint64_t split_brain_decisions() const noexcept;

    // Drains. drain() is false when the list is full; both are idempotent.
    bool drain(std::uint64_t identity) noexcept;
    void undrain(std::uint64_t identity) noexcept;
    bool drained(std::uint64_t identity) const noexcept;

private:
    segment_header* h_ = nullptr;
};

}   // namespace causeway::shm
