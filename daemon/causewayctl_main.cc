// causewayctl: reads a running causewayd's shared memory (read-only) and
// prints its status, replicas, sessions or counters. Everything but the
// printing lives in daemon/ctl_command.cc, where the unit tests reach it.
#include <stdio.h>

#include "daemon/ctl_command.hh"

using namespace causeway;

int main(int argc, char** argv)
{
    auto opts = daemon::parse_ctl_options(argc, argv);
    if (!opts) {
        fprintf(stderr, "causewayctl: %s\n%s", opts.err().message.c_str(), daemon::ctl_usage());
        return 1;
    }
    if (opts->help) {
        fputs(daemon::ctl_usage(), stdout);
        return 0;
    }
    if (opts->version) {
        printf("causewayctl %s\n", CAUSEWAY_VERSION);
        return 0;
    }
    daemon::ctl_outcome r = daemon::run_ctl(*opts, daemon::real_ctl_env());
    fputs(r.out.c_str(), stdout);
    fputs(r.err.c_str(), stderr);
    if (fflush(stdout) != 0) {
        perror("causewayctl: write");
        return 1;
    }
    return r.exit_code;
}
