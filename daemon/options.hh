// causewayd's command line.
#pragma once

#include <string>

#include "common/result.hh"

namespace causeway::daemon {

struct options {
    std::string config_file = "/etc/causeway/causeway.ini";
    bool foreground = false;   // -f: stay attached, log to stderr
    bool test_config = false;   // -t: check the file and exit
    bool version = false;   // -V
    bool help = false;   // -h
};

common::result<options> parse_options(int argc, char** argv);
const char* usage();

}   // namespace causeway::daemon
