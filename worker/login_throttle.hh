// Failed logins per client address, shared by every worker through the
// segment's login table (shm/layout.hh): after too many within a minute,
// every further login attempt from that address is answered late, the
// successful ones too (else a guesser would hang up on any answer slower
// than a success and never wait), whichever worker the kernel gave it to.
// The delay is a timer of the session; nothing here blocks or locks. The
// clock is passed in, for tests.
#pragma once

#include <cstdint>
#include <string_view>

#include "shm/layout.hh"

namespace causeway::worker {

class login_throttle {
public:
    static constexpr std::uint64_t window_ms = 60000;

    login_throttle() = default;
    // `table` outlives this object (the segment's); `seed` keys the hash so
    // that a client cannot pick addresses that collide in advance.
    login_throttle(shm::login_table* table, std::uint64_t seed) : table_(table), seed_(seed) {}

    // A login from `host` failed.
    void failed(std::string_view host, std::uint64_t now_ms);
    // How long a login from `host` waits for its answer: `delay_ms` once
    // `threshold` logins failed within the window (0: always), else 0.
    int delay_for(std::string_view host, std::uint64_t now_ms, int threshold, int delay_ms) const;
    // Addresses with a window still open (tests, causewayctl).
    std::size_t hosts(std::uint64_t now_ms) const;

private:
    std::uint64_t key(std::string_view host) const;
    shm::login_slot* find(std::uint64_t key) const;

    shm::login_table* table_ = nullptr;   // null: no throttling (no segment)
    std::uint64_t seed_ = 0;
};

}   // namespace causeway::worker
