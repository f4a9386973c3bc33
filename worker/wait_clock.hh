// The worker's clock for reads that wait for a replica to catch up: one
// timerfd, armed (every 250 µs) only while some session waits. It keeps the
// event loop on libevent's cheap millisecond timers otherwise (a precise-timer
// event base re-arms a timerfd before every epoll_wait, on every query).
#pragma once

#include <cstdint>
#include <vector>

#include "common/unique_fd.hh"
#include "worker/libevent_raii.hh"

namespace causeway::worker {

class client_session;

class wait_clock {
public:
    static constexpr long tick_us = 250;

    // false: no timerfd (the caller falls back to routing without waiting).
    bool open(event_base* base);
    bool available() const { return bool(fd_); }
    void add(client_session* s);
    void remove(client_session* s);

private:
    static void on_tick(evutil_socket_t fd, short, void* arg);
    void arm(bool on);

    common::unique_fd fd_;
    event_ptr event_;
    std::vector<client_session*> waiting_;
    bool armed_ = false;
};

}   // namespace causeway::worker
