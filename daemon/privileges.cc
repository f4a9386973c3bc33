// See privileges.hh.
#include "daemon/privileges.hh"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <unistd.h>

namespace causeway::daemon {

common::result<run_as> lookup_user(const std::string& name)
{
    errno = 0;
    passwd* pw = getpwnam(name.c_str());
    if (!pw) return common::error{ENOENT, "user = " + name + ": no such user"};
    run_as who{name, pw->pw_uid, pw->pw_gid};
    if (geteuid() != 0 && geteuid() != who.uid)
        return common::error{EPERM,
                             "user = " + name + ": only root can switch to another user (running as uid " +
                                 std::to_string(geteuid()) + ")"};
    return who;
}

common::status become(const run_as& who, std::initializer_list<std::string> paths)
{
    if (geteuid() == who.uid) return {};
    for (const std::string& p : paths) {
        // The group stays (shm_group); only the owner changes.
        if (!p.empty() && chown(p.c_str(), who.uid, gid_t(-1)) != 0 && errno != ENOENT)
            return common::sys_error("chown " + p + " to " + who.name, errno);
    }
    if (initgroups(who.name.c_str(), who.gid) != 0) return common::sys_error("initgroups " + who.name, errno);
    if (setgid(who.gid) != 0) return common::sys_error("setgid " + std::to_string(who.gid), errno);
    if (setuid(who.uid) != 0) return common::sys_error("setuid " + std::to_string(who.uid), errno);
    if (setuid(0) == 0 || geteuid() != who.uid)
        return common::error{EPERM, "user = " + who.name + ": root privileges could not be dropped"};
    return {};
}

}   // namespace causeway::daemon
