// The logging facade: syslog(3) when daemonized, stderr in the foreground.
// Levels are syslog's. Every line carries the process role ("supervisor",
// "worker 1", "poller"); lines about a client name it (see worker/). Never
// call from a signal handler.
#pragma once

#include <syslog.h>

#include <cstddef>
#include <cstdint>

namespace causeway::common {

enum class log_target {
    stderr_stream,
    syslog
};

// Sets where lines go and the role printed on each. Called once per process
// (and again after fork, with the child's role). `ident` and `facility`
// (LOG_DAEMON, LOG_LOCAL0, ...) are syslog's; they do not apply to stderr.
void log_open(log_target target, const char* role, int max_level = LOG_INFO, const char* ident = "causeway",
              int facility = LOG_DAEMON);
// Reopens syslog with another identity and facility (a reload); processes
// forked afterwards inherit them. No effect on stderr.
void log_set_syslog(const char* ident, int facility);
// LOG_DAEMON, LOG_LOCAL0..LOG_LOCAL7 by the index of the config's
// syslog_facility choices (daemon|local0|...|local7).
int syslog_facility_from_choice(int choice);
void log_set_role(const char* role);
void log_set_level(int max_level);
int log_level();

// Every line goes through this: control bytes become \xNN and a backslash
// \\, so text a client chose (a user name with a newline and a fake
// "crit:") can never start a line of its own or move the terminal. Writes at
// most size - 1 bytes and a NUL; returns the length.
std::size_t escape_for_log(const char* in, char* out, std::size_t size);

void logf(int level, const char* fmt, ...) __attribute__((format(printf, 2, 3)));

// Lets through at most `burst` lines per second for one call site; counts the
// rest and reports how many were dropped on the next line that passes.
class log_rate_limit {
public:
    explicit log_rate_limit(unsigned burst = 10) : burst_(burst) {}
    bool allow();
    std::uint64_t take_suppressed();

private:
    unsigned burst_;
    std::uint64_t window_start_ms_ = 0;
    unsigned in_window_ = 0;
    std::uint64_t suppressed_ = 0;
};

}   // namespace causeway::common

#define CW_LOG(level, ...)                                                                              \
    do {                                                                                                \
        if ((level) <= ::causeway::common::log_level()) ::causeway::common::logf((level), __VA_ARGS__); \
    } while (0)
