// The open-files limit causewayd needs for max_connections: worked out from
// the configuration (a pure function, unit-tested) and raised at start and
// on reload, or refused with a message that says what to change.
#pragma once

#include <sys/resource.h>

#include <cstdint>

#include "common/config.hh"
#include "common/result.hh"

namespace causeway::daemon {

// Descriptors a worker may need at worst: every client of the instance on
// that one worker (the kernel picks the worker), each with a connection to
// every server, its pool of idle server connections, and a margin for the
// listeners, pipes, the segment, the log and libevent.
std::uint64_t open_files_needed(const common::config& cfg);
inline constexpr std::uint64_t open_files_margin = 64;

// What to set given the current limits: the soft limit raised to `need`, the
// hard one too when `privileged` (CAP_SYS_RESOURCE) and it is below; an
// error naming max_connections and the limit when it cannot be done.
common::result<rlimit> plan_open_files(std::uint64_t need, rlimit current, bool privileged, std::uint64_t nr_open);

// Applies plan_open_files() to this process (children inherit it).
common::status fit_open_files(const common::config& cfg);

}   // namespace causeway::daemon
