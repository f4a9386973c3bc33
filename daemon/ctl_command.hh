// causewayctl's command line and its one entry point: run_ctl() loads the
// config, attaches the instance's segment read-only, reads and formats the
// requested report, and says what went wrong in words an operator can act on.
// main() (daemon/causewayctl_main.cc) only prints what it returns.
#pragma once

#include <cstddef>
#include <string>

#include "common/result.hh"
#include "daemon/ctl_view.hh"

namespace causeway::daemon {

enum class ctl_command {
    status,
    replicas,
    sessions,
    counters,
    drain,   // drain NAME: no new reads go to the server
    undrain
};

struct ctl_options {
    std::string config_file = "/etc/causeway/causeway.ini";
    bool json = false;
    bool help = false;
    bool version = false;
    ctl_command command = ctl_command::status;
    std::size_t limit = 10;   // sessions N
    std::string server;   // drain / undrain NAME
};

common::result<ctl_options> parse_ctl_options(int argc, char** argv);
const char* ctl_usage();

struct ctl_outcome {
    int exit_code = 0;   // 0: report complete and the instance running; 1: otherwise
    std::string out;   // the report (also printed on a warning, with exit 1)
    std::string err;   // "causewayctl: ..." lines
};

ctl_outcome run_ctl(const ctl_options& opts, const ctl_env& env);

}   // namespace causeway::daemon
