// Failed logins per client address (one worker's view): after too many
// within a minute, every further login attempt from that address is answered
// late, the successful ones too (else a guesser would hang up on any answer
// slower than a success and never wait). The delay is a timer of the
// session; nothing here blocks. The clock is passed in, for tests.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

namespace causeway::worker {

class login_throttle {
public:
    static constexpr std::uint64_t window_ms = 60000;
    // Addresses remembered at most; the oldest windows go first beyond it.
    static constexpr std::size_t max_hosts = 16384;

    // A login from `host` failed.
    void failed(std::string_view host, std::uint64_t now_ms);
    // How long a login from `host` waits for its answer: `delay_ms` once
    // `threshold` logins failed within the window (0: always), else 0.
    int delay_for(std::string_view host, std::uint64_t now_ms, int threshold, int delay_ms) const;
    std::size_t hosts() const { return by_host_.size(); }

private:
    struct window {
        std::uint64_t start_ms = 0;
        std::uint32_t failures = 0;
    };
    void prune(std::uint64_t now_ms);
    std::unordered_map<std::string, window> by_host_;
};

}   // namespace causeway::worker
