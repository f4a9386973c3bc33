// Monotonic time in one place, so that timeouts, poll ages and latencies all
// use the same clock (CLOCK_MONOTONIC survives wall-clock steps); wall-clock
// time only for what is shown to people (creation, last refresh).
#pragma once

#include <time.h>

#include <cstdint>

namespace causeway::common {

inline std::uint64_t monotonic_ns() noexcept
{
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return std::uint64_t(ts.tv_sec) * 1000000000u + std::uint64_t(ts.tv_nsec);
}

inline std::uint64_t monotonic_ms() noexcept
{
    return monotonic_ns() / 1000000u;
}

inline std::uint64_t realtime_ns() noexcept
{
    timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return std::uint64_t(ts.tv_sec) * 1000000000u + std::uint64_t(ts.tv_nsec);
}

}   // namespace causeway::common
