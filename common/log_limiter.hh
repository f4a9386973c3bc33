// Rate limiting of repeated log lines about clients, as a pure structure: the
// same message class from the same client address more than `burst` times in
// one window is suppressed, and when the window ends the caller logs one
// "N similar messages suppressed" line for it. Time comes in as an argument,
// so the limiter is table-tested; the worker drives it (worker/noise_log.hh).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace causeway::common {

class log_limiter {
public:
    struct options {
        unsigned burst = 5;   // lines let through per key and window
        std::uint64_t window_ms = 10000;   // a key's window starts at its first line
        std::size_t max_keys = 4096;   // past this, new keys share one "*" address
    };
    // A window that ended with lines suppressed.
    struct summary {
        std::string message_class, address;
        std::uint64_t suppressed = 0;
    };
    struct admission {
        bool log = false;   // let the line through
        // A previous window of this key that had ended with suppressions and
        // was not expired yet: log its summary before this line.
        std::uint64_t ended_suppressed = 0;
    };

    log_limiter() = default;
    explicit log_limiter(options o) : opt_(o) {}

    admission admit(std::string_view message_class, std::string_view address, std::uint64_t now_ms);
    // Ends the windows that are over at `now_ms`, forgets their keys, and
    // returns those that suppressed something, in the order of their keys.
    std::vector<summary> expire(std::uint64_t now_ms);
    std::size_t keys() const noexcept { return entries_.size(); }

private:
    struct entry {
        std::string message_class, address;
        std::uint64_t window_start_ms = 0;
        unsigned logged = 0;
        std::uint64_t suppressed = 0;
    };
    entry* find(std::string_view message_class, std::string_view address);

    options opt_;
    std::vector<entry> entries_;   // few at a time: a linear scan beats a map's allocations
};

}   // namespace causeway::common
