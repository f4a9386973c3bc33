// Warnings about a configuration that loads but gives secrets away: clear
// passwords where a hash would do, a file that every local user can read
// while it holds passwords, or that anyone can change. `causewayd -t` prints
// them; the supervisor logs them at start and at every reload. (A users_file
// others could read or replace is an error of the loader, not a warning.)
#pragma once

#include <string>
#include <vector>

#include "common/config.hh"

namespace causeway::daemon {

std::vector<std::string> config_warnings(const common::config& c);

}   // namespace causeway::daemon
