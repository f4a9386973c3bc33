#include "daemon/config_warnings.hh"

#include <stdio.h>
#include <sys/stat.h>

#include "protocol/auth.hh"

namespace causeway::daemon {

std::vector<std::string> config_warnings(const common::config& c)
{
    std::vector<std::string> out;
    // Clear passwords work, but a hash ("*" + 40 hex, as in mysql.user) does too.
    std::string clear;
    for (const auto& [user, password] : c.users)
        if (!password.empty() && !protocol::is_native_password_hash(password)) clear += " " + user;
    if (!clear.empty())
        out.push_back("clear-text passwords for:" + clear +
                      "; store their mysql_native_password hashes instead (SELECT PASSWORD('...'))");
    struct stat sb;
    if (c.file.empty() || stat(c.file.c_str(), &sb) != 0) return out;
    // Passwords in the file itself (not in a users_file, which the loader checks).
    bool secrets =
        !c.monitor_password.empty() || !c.admin_password_hash.empty() || (c.users_file.empty() && !c.users.empty());
    char mode[8];   // octal, as chmod takes it
    snprintf(mode, sizeof mode, "%04o", unsigned(sb.st_mode & 0777));
    if (secrets && (sb.st_mode & S_IROTH))
        out.push_back(c.file + " holds passwords and every local user may read it (mode " + std::string(mode) +
                      "); run chmod o-r " + c.file);
    if (sb.st_mode & S_IWOTH)
        out.push_back(c.file + ": every local user may change it (mode " + std::string(mode) + "); run chmod o-w " +
                      c.file);
    return out;
}

}   // namespace causeway::daemon
