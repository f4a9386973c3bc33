// See log_limiter.hh.
#include "common/log_limiter.hh"

#include <algorithm>

namespace causeway::common {

log_limiter::entry* log_limiter::find(std::string_view message_class, std::string_view address)
{
    for (entry& e : entries_)
        if (e.message_class == message_class && e.address == address) return &e;
    return nullptr;
}

log_limiter::admission log_limiter::admit(std::string_view message_class, std::string_view address,
                                          std::uint64_t now_ms)
{
    admission a;
    entry* e = find(message_class, address);
    if (!e && entries_.size() >= opt_.max_keys) {
        // Many distinct addresses at once (a scan, a flood): one shared key
        // keeps memory bounded and still says how much was dropped.
        address = "*";
        e = find(message_class, address);
    }
    if (e && now_ms - e->window_start_ms >= opt_.window_ms) {
        a.ended_suppressed = e->suppressed;
        e->window_start_ms = now_ms;
        e->logged = 0;
        e->suppressed = 0;
    }
    if (!e) {
        entries_.push_back({std::string(message_class), std::string(address), now_ms, 0, 0});
        e = &entries_.back();
    }
    if (e->logged < opt_.burst) {
        ++e->logged;
        a.log = true;
    } else {
        ++e->suppressed;
    }
    return a;
}

std::vector<log_limiter::summary> log_limiter::expire(std::uint64_t now_ms)
{
    std::vector<summary> out;
    auto over = [&](const entry& e) { return now_ms - e.window_start_ms >= opt_.window_ms; };
    for (const entry& e : entries_)
        if (over(e) && e.suppressed) out.push_back({e.message_class, e.address, e.suppressed});
    entries_.erase(std::remove_if(entries_.begin(), entries_.end(), over), entries_.end());
    return out;
}

}   // namespace causeway::common
