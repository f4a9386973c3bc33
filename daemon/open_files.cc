// See open_files.hh.
#include "daemon/open_files.hh"

#include <errno.h>
#include <unistd.h>

#include <fstream>
#include <string>

namespace causeway::daemon {

std::uint64_t open_files_needed(const common::config& cfg)
{
    std::uint64_t servers = 1 + cfg.read_slots().size();
    std::uint64_t clients = std::uint64_t(cfg.max_connections);
    return clients * (1 + servers) + std::uint64_t(cfg.pool_max_idle_per_server) * servers + open_files_margin;
}

common::result<rlimit> plan_open_files(std::uint64_t need, rlimit current, bool privileged, std::uint64_t nr_open)
{
    rlimit next = current;
    if (current.rlim_cur != RLIM_INFINITY && current.rlim_cur >= need) return next;
    if (current.rlim_max == RLIM_INFINITY || current.rlim_max >= need) {
        next.rlim_cur = need;
        return next;
    }
    if (privileged && need <= nr_open) {
        next.rlim_cur = next.rlim_max = need;
        return next;
    }
    std::string why = privileged ? "the kernel allows " + std::to_string(nr_open) + " (fs.nr_open)"
                                 : "the hard limit is " + std::to_string(current.rlim_max);
    return common::error{EMFILE,
                         "max_connections needs " + std::to_string(need) +
                             " open files (clients x (1 + servers) + pool + " + std::to_string(open_files_margin) +
                             "), but " + why + ": raise LimitNOFILE (ulimit -n) or lower max_connections"};
}

common::status fit_open_files(const common::config& cfg)
{
    rlimit current{};
    if (getrlimit(RLIMIT_NOFILE, &current) != 0) return common::sys_error("getrlimit(RLIMIT_NOFILE)", errno);
    std::uint64_t nr_open = 1048576;   // the kernel's default when /proc cannot tell
    std::ifstream in("/proc/sys/fs/nr_open");
    in >> nr_open;
    auto plan = plan_open_files(open_files_needed(cfg), current, geteuid() == 0, nr_open);
    if (!plan) return plan.err();
    if (plan->rlim_cur == current.rlim_cur && plan->rlim_max == current.rlim_max) return {};
    if (setrlimit(RLIMIT_NOFILE, &*plan) != 0) {
        // Root without CAP_SYS_RESOURCE (a container) cannot raise the hard
        // limit either: say so as for any other user.
        if (errno == EPERM && plan->rlim_max != current.rlim_max) {
            auto unprivileged = plan_open_files(open_files_needed(cfg), current, false, nr_open);
            if (!unprivileged) return unprivileged.err();
        }
        return common::sys_error("setrlimit(RLIMIT_NOFILE, " + std::to_string(plan->rlim_cur) +
                                     ") for max_connections " + std::to_string(cfg.max_connections),
                                 errno);
    }
    return {};
}

}   // namespace causeway::daemon
