// Process helpers of the supervisor: the listening socket, the pid file,
// detaching from the terminal.
#pragma once

#include <string>

#include "common/address.hh"
#include "common/result.hh"
#include "common/unique_fd.hh"

namespace causeway::daemon {

// A non-blocking listening TCP socket, close-on-exec, SO_REUSEADDR.
common::result<common::unique_fd> listen_on(const common::address& a);

// Writes our pid, refusing when the file names a live causewayd.
common::status write_pid_file(const std::string& path);
void remove_pid_file(const std::string& path);

// fork + setsid + fork, stdio to /dev/null. Returns in the daemon only.
common::status detach();

}   // namespace causeway::daemon
