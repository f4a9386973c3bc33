// Listening socket, pid file and daemonizing (see process.hh).
#include "daemon/process.hh"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

namespace causeway::daemon {

using common::error;
using common::sys_error;

common::result<common::unique_fd> listen_on(const common::address& a)
{
    auto r = common::resolve(a);
    if (!r) return r.err();
    common::unique_fd fd(socket(r->storage.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd) return sys_error("socket", errno);
    int one = 1;
    setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd.get(), r->get(), r->length) != 0) return sys_error("bind " + a.to_string(), errno);
    if (listen(fd.get(), 511) != 0) return sys_error("listen " + a.to_string(), errno);
    return fd;
}

common::status write_pid_file(const std::string& path)
{
    {
        std::ifstream in(path);
        long old = 0;
        if (in >> old && old > 0 && old != getpid() && kill(pid_t(old), 0) == 0) {
            char exe[64], target[256] = "";
            snprintf(exe, sizeof exe, "/proc/%ld/exe", old);
            ssize_t n = readlink(exe, target, sizeof target - 1);
            if (n > 0 && strstr(target, "causewayd"))
                return error{0, path + ": causewayd is already running as pid " + std::to_string(old)};
        }
    }
    std::string dir = path.substr(0, path.rfind('/'));
    if (!dir.empty() && dir != path) mkdir(dir.c_str(), 0755);   // e.g. /run/causeway
    // A fresh file of a name nobody can guess (mkostemp: O_CREAT | O_EXCL, so
    // never through a symlink someone planted), renamed over the pid file
    // (rename replaces a symlink there, it does not follow it).
    std::string tmp = path + ".XXXXXX";
    int fd = mkostemp(tmp.data(), O_CLOEXEC);
    if (fd < 0) return sys_error("create a temporary file for " + path, errno);
    std::string text = std::to_string(getpid()) + "\n";
    bool ok = fchmod(fd, 0644) == 0 && write(fd, text.data(), text.size()) == ssize_t(text.size());
    int err = errno;
    close(fd);
    if (!ok || rename(tmp.c_str(), path.c_str()) != 0) {
        if (ok) err = errno;
        unlink(tmp.c_str());
        return sys_error("write " + path, err);
    }
    return {};
}

void remove_pid_file(const std::string& path)
{
    std::ifstream in(path);
    long pid = 0;
    if (in >> pid && pid == getpid()) unlink(path.c_str());
}

common::status detach()
{
    pid_t pid = fork();
    if (pid < 0) return sys_error("fork", errno);
    if (pid > 0) _exit(0);
    if (setsid() < 0) return sys_error("setsid", errno);
    pid = fork();
    if (pid < 0) return sys_error("fork", errno);
    if (pid > 0) _exit(0);
    if (chdir("/") != 0) return sys_error("chdir /", errno);
    int null = open("/dev/null", O_RDWR);
    if (null < 0) return sys_error("open /dev/null", errno);
    dup2(null, STDIN_FILENO);
    dup2(null, STDOUT_FILENO);
    dup2(null, STDERR_FILENO);
    if (null > STDERR_FILENO) close(null);
    return {};
}

}   // namespace causeway::daemon
