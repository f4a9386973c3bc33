// See login_throttle.hh.
#include "worker/login_throttle.hh"

namespace causeway::worker {

void login_throttle::failed(std::string_view host, std::uint64_t now_ms)
{
    if (by_host_.size() >= max_hosts) prune(now_ms);
    window& w = by_host_[std::string(host)];
    if (w.failures == 0 || now_ms - w.start_ms >= window_ms) {
        w.start_ms = now_ms;
        w.failures = 0;
    }
    if (w.failures < UINT32_MAX) ++w.failures;
}

int login_throttle::delay_for(std::string_view host, std::uint64_t now_ms, int threshold, int delay_ms) const
{
    if (delay_ms <= 0) return 0;
    auto it = by_host_.find(std::string(host));
    if (it == by_host_.end() || now_ms - it->second.start_ms >= window_ms) return threshold == 0 ? delay_ms : 0;
    return it->second.failures >= std::uint32_t(threshold) ? delay_ms : 0;
}

// Expired windows go; if every window is live (a scan from many addresses),
// all go: forgetting makes attempts faster again, never refuses anyone.
void login_throttle::prune(std::uint64_t now_ms)
{
    std::erase_if(by_host_, [&](const auto& e) { return now_ms - e.second.start_ms >= window_ms; });
    if (by_host_.size() >= max_hosts) by_host_.clear();
}

}   // namespace causeway::worker
