// causewayd: parse the command line and the configuration, bind, detach,
// write the pid file, and hand over to the supervisor.
#include <stdio.h>
#include <unistd.h>

#include "common/config.hh"
#include "common/log.hh"
#include "daemon/config_warnings.hh"
#include "daemon/open_files.hh"
#include "daemon/options.hh"
#include "daemon/privileges.hh"
#include "daemon/process.hh"
#include "daemon/supervisor.hh"
#include "shm/segment.hh"
#include "worker/tls.hh"

using namespace causeway;

int main(int argc, char** argv)
{
    auto opts = daemon::parse_options(argc, argv);
    if (!opts) {
        fprintf(stderr, "causewayd: %s\n%s", opts.err().message.c_str(), daemon::usage());
        return 64;
    }
    if (opts->help) {
        fputs(daemon::usage(), stdout);
        return 0;
    }
    if (opts->version) {
        printf("causewayd %s\n", CAUSEWAY_VERSION);
        return 0;
    }
    auto cfg = common::load_config(opts->config_file);
    if (!cfg) {
        fprintf(stderr, "causewayd: %s\n", cfg.err().message.c_str());
        return 1;
    }
    // Certificates are read now: a bad one fails `-t` and the start, not a client.
    auto tls = worker::tls_context::for_clients(*cfg);
    if (!tls) {
        fprintf(stderr, "causewayd: %s\n", tls.err().message.c_str());
        return 1;
    }
    auto backend_tls = worker::tls_context::for_backends(*cfg);
    if (!backend_tls) {
        fprintf(stderr, "causewayd: %s\n", backend_tls.err().message.c_str());
        return 1;
    }
    if (opts->test_config) {
        for (const auto& w : daemon::config_warnings(*cfg)) fprintf(stderr, "causewayd: warning: %s\n", w.c_str());
        printf("causewayd: configuration file %s is ok\n", opts->config_file.c_str());
        return 0;
    }
    // Before anything is bound: a limit too low for max_connections fails the
    // start here, on the terminal, instead of refusing clients later.
    if (auto s = daemon::fit_open_files(*cfg); !s) {
        fprintf(stderr, "causewayd: %s\n", s.err().message.c_str());
        return 1;
    }
    daemon::run_as who;
    if (!cfg->run_user.empty()) {
        auto u = daemon::lookup_user(cfg->run_user);
        if (!u) {
            fprintf(stderr, "causewayd: %s\n", u.err().message.c_str());
            return 1;
        }
        who = *u;
    }
    common::log_open(opts->foreground ? common::log_target::stderr_stream : common::log_target::syslog, "supervisor",
                     cfg->log_level, cfg->syslog_ident.c_str(),
                     common::syslog_facility_from_choice(cfg->syslog_facility));
    auto listener = daemon::listen_on(cfg->listen);
    if (!listener) {
        fprintf(stderr, "causewayd: %s\n", listener.err().message.c_str());
        return 1;
    }
    // Bound here, before detaching, so that a taken port fails the start visibly.
    common::unique_fd admin_listener;
    if (cfg->admin_listen.port != 0) {
        auto a = daemon::listen_on(cfg->admin_listen);
        if (!a) {
            fprintf(stderr, "causewayd: admin_listen: %s\n", a.err().message.c_str());
            return 1;
        }
        admin_listener = std::move(*a);
    }
    if (!opts->foreground) {
        if (auto s = daemon::detach(); !s) {
            CW_LOG(LOG_ERR, "%s", s.err().message.c_str());
            return 1;
        }
    }
    if (auto s = daemon::write_pid_file(cfg->pid_file); !s) {
        CW_LOG(LOG_ERR, "%s", s.err().message.c_str());
        fprintf(stderr, "causewayd: %s\n", s.err().message.c_str());
        return 1;
    }
    auto seg = shm::segment::create(*cfg);
    if (!seg) {
        CW_LOG(LOG_ERR, "%s", seg.err().message.c_str());
        fprintf(stderr, "causewayd: %s\n", seg.err().message.c_str());
        daemon::remove_pid_file(cfg->pid_file);
        return 1;
    }
    if (!cfg->run_user.empty()) {
        auto dropped = daemon::become(who, {"/dev/shm" + seg->name(), cfg->pid_file});
        if (!dropped) {
            CW_LOG(LOG_ERR, "%s", dropped.err().message.c_str());
            fprintf(stderr, "causewayd: %s\n", dropped.err().message.c_str());
            (void)seg->unlink();
            daemon::remove_pid_file(cfg->pid_file);
            return 1;
        }
        CW_LOG(LOG_INFO, "running as user %s (uid %d)", who.name.c_str(), int(who.uid));
    }
    if (seg->origin() == shm::segment_origin::replaced_dead)
        CW_LOG(LOG_NOTICE, "replaced shared memory %s left by a stopped instance", seg->name().c_str());
    std::string pid_file = cfg->pid_file;
    int status;
    {
        daemon::supervisor sup(std::move(*cfg), std::move(*tls), std::move(*backend_tls), std::move(*listener),
                               std::move(admin_listener), *seg);
        status = sup.run();
    }
    if (auto s = seg->unlink(); !s) CW_LOG(LOG_WARNING, "%s", s.err().message.c_str());
    daemon::remove_pid_file(pid_file);
    return status;
}
