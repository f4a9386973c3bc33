// Command-line parsing for causewayd (see options.hh).
#include "daemon/options.hh"

#include <getopt.h>

namespace causeway::daemon {

const char* usage()
{
    return "usage: causewayd [-f] [-t] [-c file] | -V | -h\n"
           "  -c file  configuration file (default /etc/causeway/causeway.ini)\n"
           "  -f       stay in the foreground and log to stderr\n"
           "  -t       check the configuration and exit\n"
           "  -V       print the version and exit\n";
}

common::result<options> parse_options(int argc, char** argv)
{
    options o;
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt(argc, argv, "c:ftVh")) != -1) {
        switch (c) {
            case 'c': o.config_file = optarg; break;
            case 'f': o.foreground = true; break;
            case 't': o.test_config = true; break;
            case 'V': o.version = true; break;
            case 'h': o.help = true; break;
            default: return common::error{0, std::string("unknown option -") + char(optopt)};
        }
    }
    if (optind < argc) return common::error{0, std::string("unexpected argument '") + argv[optind] + "'"};
    return o;
}

}   // namespace causeway::daemon
