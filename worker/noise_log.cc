// See noise_log.hh.
#include "worker/noise_log.hh"

#include "common/clock.hh"
#include "common/log.hh"

namespace causeway::worker {

bool noise_log::allow(const char* message_class, std::string_view host)
{
    auto a = limiter_.admit(message_class, host, common::monotonic_ms());
    if (a.ended_suppressed) report(message_class, host, a.ended_suppressed);
    arm();
    return a.log;
}

void noise_log::report(std::string_view message_class, std::string_view host, std::uint64_t suppressed)
{
    CW_LOG(LOG_NOTICE, "%.*s: %llu similar messages suppressed (%.*s) in %llu s", int(host.size()), host.data(),
           (unsigned long long)suppressed, int(message_class.size()), message_class.data(),
           (unsigned long long)(window_ms / 1000));
}

// Once a second while keys are open: a summary comes at most a second after
// its window ends, and an idle worker has no timer at all.
void noise_log::arm()
{
    if (armed_ || !base_ || limiter_.keys() == 0) return;
    if (!timer_) timer_.reset(evtimer_new(base_, on_tick, this));
    if (!timer_) return;   // out of memory: lines are still limited, summaries wait for the next admit()
    timeval tv{1, 0};
    armed_ = evtimer_add(timer_.get(), &tv) == 0;
}

void noise_log::on_tick(evutil_socket_t, short, void* arg)
{
    auto& self = *static_cast<noise_log*>(arg);
    self.armed_ = false;
    for (const auto& s : self.limiter_.expire(common::monotonic_ms())) report(s.message_class, s.address, s.suppressed);
    self.arm();
}

}   // namespace causeway::worker
