// Per-connection log lines that a client can repeat at will (failed logins,
// TLS garbage, protocol errors, refusals): the same class from the same
// client address is let through a few times per window and then suppressed,
// with one "N similar messages suppressed" line when the window ends.
// The limiter is common/log_limiter.hh; this adds the worker's clock and the
// timer that reports ended windows (armed only while some window is open).
#pragma once

#include <string_view>

#include "common/log_limiter.hh"
#include "worker/libevent_raii.hh"

namespace causeway::worker {

class noise_log {
public:
    static constexpr unsigned burst = 5;
    static constexpr std::uint64_t window_ms = 10000;

    void open(event_base* base) { base_ = base; }
    // Whether to log a line of `message_class` about a client at `host` (an
    // address without its port: one client reconnecting is one key).
    bool allow(const char* message_class, std::string_view host);

private:
    static void on_tick(evutil_socket_t, short, void* arg);
    void arm();
    static void report(std::string_view message_class, std::string_view host, std::uint64_t suppressed);

    common::log_limiter limiter_{{burst, window_ms, 4096}};
    event_base* base_ = nullptr;
    event_ptr timer_;
    bool armed_ = false;
};

}   // namespace causeway::worker
