// See wait_clock.hh.
#include "worker/wait_clock.hh"

#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>

#include "worker/client_session.hh"

namespace causeway::worker {

bool wait_clock::open(event_base* base)
{
    fd_.reset(timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC));
    if (!fd_) return false;
    event_.reset(event_new(base, fd_.get(), EV_READ | EV_PERSIST, on_tick, this));
    return event_ && event_add(event_.get(), nullptr) == 0;
}

void wait_clock::arm(bool on)
{
    if (on == armed_) return;
    itimerspec t{};
    if (on) t.it_value.tv_nsec = t.it_interval.tv_nsec = tick_us * 1000;
    timerfd_settime(fd_.get(), 0, &t, nullptr);
    armed_ = on;
}

void wait_clock::add(client_session* s)
{
    if (std::find(waiting_.begin(), waiting_.end(), s) == waiting_.end()) waiting_.push_back(s);
    arm(true);
}

void wait_clock::remove(client_session* s)
{
    waiting_.erase(std::remove(waiting_.begin(), waiting_.end(), s), waiting_.end());
    if (waiting_.empty()) arm(false);
}

void wait_clock::on_tick(evutil_socket_t fd, short, void* arg)
{
    auto& self = *static_cast<wait_clock*>(arg);
    std::uint64_t expirations;
    if (read(fd, &expirations, sizeof expirations) != sizeof expirations) return;
    // Each session routes its read again; one still waiting adds itself back.
    std::vector<client_session*> now;
    now.swap(self.waiting_);
    for (client_session* s : now) s->wait_tick();
    if (self.waiting_.empty()) self.arm(false);
}

}   // namespace causeway::worker
