// Implementation of the logging facade (see log.hh).
#include "common/log.hh"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <iterator>

#include "common/clock.hh"

namespace causeway::common {

namespace {
// Process-role state: one per process, set at start and after fork.
log_target target_ = log_target::stderr_stream;
char role_[32] = "causewayd";
int max_level_ = LOG_INFO;
bool syslog_open_ = false;
// openlog(3) keeps the pointer, not the text: the identity lives here.
char ident_[64] = "causeway";
int facility_ = LOG_DAEMON;

const char* level_name(int level)
{
    switch (level) {
        case LOG_EMERG: return "emerg";
        case LOG_ALERT: return "alert";
        case LOG_CRIT: return "crit";
        case LOG_ERR: return "error";
        case LOG_WARNING: return "warning";
        case LOG_NOTICE: return "notice";
        case LOG_INFO: return "info";
        default: return "debug";
    }
}
}   // namespace

std::size_t escape_for_log(const char* in, char* out, std::size_t size)
{
    static const char hex[] = "0123456789abcdef";
    std::size_t n = 0;
    for (; *in; ++in) {
        unsigned char c = static_cast<unsigned char>(*in);
        char esc[4];
        std::size_t len = 1;
        if (c == '\\') {
            esc[0] = esc[1] = '\\', len = 2;
        } else if (c < 0x20 || c == 0x7f) {
            esc[0] = '\\', esc[1] = 'x', esc[2] = hex[c >> 4], esc[3] = hex[c & 15], len = 4;
        } else {
            esc[0] = char(c);
        }
        if (n + len >= size) break;
        memcpy(out + n, esc, len);
        n += len;
    }
    if (size) out[n] = '\0';
    return n;
}

void log_open(log_target target, const char* role, int max_level, const char* ident, int facility)
{
    target_ = target;
    max_level_ = max_level;
    log_set_role(role);
    log_set_syslog(ident, facility);
}

void log_set_syslog(const char* ident, int facility)
{
    if (target_ != log_target::syslog) return;
    if (syslog_open_ && facility == facility_ && strcmp(ident, ident_) == 0) return;
    if (syslog_open_) closelog();
    snprintf(ident_, sizeof ident_, "%s", ident);
    facility_ = facility;
    openlog(ident_, LOG_PID | LOG_NDELAY, facility_);
    syslog_open_ = true;
}

int syslog_facility_from_choice(int choice)
{
    static constexpr int facilities[] = {LOG_DAEMON, LOG_LOCAL0, LOG_LOCAL1, LOG_LOCAL2, LOG_LOCAL3,
                                         LOG_LOCAL4, LOG_LOCAL5, LOG_LOCAL6, LOG_LOCAL7};
    return choice >= 0 && choice < int(std::size(facilities)) ? facilities[choice] : LOG_DAEMON;
}

void log_set_role(const char* role)
{
    snprintf(role_, sizeof role_, "%s", role);
}
void log_set_level(int max_level)
{
    max_level_ = max_level;
}
int log_level()
{
    return max_level_;
}

void logf(int level, const char* fmt, ...)
{
    if (level > max_level_) return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    char safe[sizeof msg * 4];
    escape_for_log(msg, safe, sizeof safe);
    if (target_ == log_target::syslog) {
        syslog(level, "[%s] %s: %s", role_, level_name(level), safe);
        return;
    }
    timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    tm t;
    localtime_r(&ts.tv_sec, &t);
    char line[sizeof safe + 200];
    int n = snprintf(line, sizeof line, "%04d-%02d-%02d %02d:%02d:%02d.%03ld causeway[%d] [%s] %s: %s\n",
                     t.tm_year + 1900, t.tm_mon + 1, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec, ts.tv_nsec / 1000000,
                     int(getpid()), role_, level_name(level), safe);
    if (n > int(sizeof line) - 1) n = sizeof line - 1;
    // One write(2) per line keeps lines from several processes whole.
    ssize_t ignored = ::write(STDERR_FILENO, line, size_t(n));
    (void)ignored;
}

bool log_rate_limit::allow()
{
    std::uint64_t now = monotonic_ms();
    if (now - window_start_ms_ >= 1000) {
        window_start_ms_ = now;
        in_window_ = 0;
    }
    if (in_window_ < burst_) {
        ++in_window_;
        return true;
    }
    ++suppressed_;
    return false;
}

std::uint64_t log_rate_limit::take_suppressed()
{
    std::uint64_t n = suppressed_;
    suppressed_ = 0;
    return n;
}

}   // namespace causeway::common
