// causewayctl's command line and dispatch (see ctl_command.hh). Errors are
// phrased for the operator: which segment, from which config, and what to
// check; a report is still printed when only part of it is doubtful (a torn
// entry, a left-over segment), with exit status 1.
#include "daemon/ctl_command.hh"

#include <getopt.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>

#include "common/config.hh"
#include "daemon/ctl_report.hh"
#include "shm/progress.hh"
#include "shm/roles.hh"
#include "shm/segment.hh"

namespace causeway::daemon {

namespace {

constexpr const char* prog = "causewayctl: ";

common::result<ctl_command> parse_command(const std::string& word)
{
    if (word == "status") return ctl_command::status;
    if (word == "replicas") return ctl_command::replicas;
    if (word == "sessions") return ctl_command::sessions;
    if (word == "counters") return ctl_command::counters;
    if (word == "drain") return ctl_command::drain;
    if (word == "undrain") return ctl_command::undrain;
    return common::error{EINVAL, "unknown command '" + word + "'"};
}

// What attach() said, made actionable.
std::string attach_error(const common::error& e, const std::string& name, const std::string& config_file)
{
    switch (e.code) {
        case ENOENT:
            return "is causewayd running? no shared memory segment " + name + " (named by " + config_file + ")";
        case EACCES:
        case EPERM:
            return "cannot read shared memory " + name + ": permission denied (run as causewayd's user or group)";
        case EPROTO:
            if (e.message.find("layout version") != std::string::npos)
                return e.message + ": causewayctl and causewayd come from different builds";
            return e.message;
        default: return e.message;
    }
}

// attach(), retried briefly while the segment may be mid-creation (the
// creator publishes `magic` last, so a reader can see a valid name before a
// valid header).
common::result<shm::segment> attach_retrying(const std::string& name, const ctl_env& env)
{
    for (int round = 0;; ++round) {
        auto seg = shm::segment::attach(name, true);
        if (seg || seg.err().code != EPROTO || seg.err().message.find("bad magic") == std::string::npos ||
            round >= env.torn_retries)
            return seg;
        if (env.pause) env.pause();
    }
}

void torn_warnings(const replicas_view& v, int retries, std::string& err)
{
    for (const backend_view& b : v.backends) {
        const std::string who = b.label_torn ? "#" + std::to_string(b.index) : b.name;
        if (b.label_torn)
            err += std::string(prog) + "no clean copy of the label of backend #" + std::to_string(b.index) + " after " +
                std::to_string(retries + 1) + " tries\n";
        if (b.torn)
            err += std::string(prog) + "no clean copy of the progress of backend " + who + " after " +
                std::to_string(retries + 1) +
                " tries: its writer (the poller) may have died mid-update; shown as torn\n";
    }
}

// drain / undrain: the drain list is keyed by the server's identity (name and
// address), so a reload that reorders the servers keeps it.
ctl_outcome change_drain(const ctl_options& opts, const common::config& cfg, const std::string& shm_name)
{
    ctl_outcome r;
    const std::vector<common::backend_config> servers = cfg.read_slots();
    auto it = std::find_if(servers.begin(), servers.end(),
                           [&](const common::backend_config& b) { return b.name == opts.server; });
    if (it == servers.end()) {
        std::string names;
        for (const auto& b : servers) names += (names.empty() ? "" : ", ") + b.name;
        r.exit_code = 1;
        r.err = std::string(prog) + "no server named '" + opts.server + "' in " + opts.config_file +
            " (its servers: " + names + ")\n";
        return r;
    }
    auto seg = shm::segment::attach(shm_name, false);
    if (!seg) {
        r.exit_code = 1;
        r.err = std::string(prog) + attach_error(seg.err(), shm_name, opts.config_file) + "\n";
        return r;
    }
    shm::role_view roles = seg->roles();
    const std::uint64_t identity = shm::backend_identity(*it);
    if (opts.command == ctl_command::undrain) {
        roles.undrain(identity);
        r.out = it->name + ": undrained; reads may go to it again\n";
        return r;
    }
    if (!roles.drain(identity)) {
        r.exit_code = 1;
        r.err = std::string(prog) + "cannot drain " + it->name + ": " + std::to_string(shm::max_backends) +
            " servers are drained already\n";
        return r;
    }
    r.out = it->name +
        ": drained; no new reads go to it, reads running and read-only transactions pinned to it finish "
        "(undo with: causewayctl undrain " +
        it->name + ")\n";
    const shm::role_snapshot d = roles.read();
    if (d.has_primary() && d.primary_slot == std::size_t(it - servers.begin()) + 1)
        r.out += it->name + " is the primary: writes still go to it until another server is promoted\n";
    return r;
}

}   // namespace

const char* ctl_usage()
{
    return "usage: causewayctl [-c file] [--json] status | replicas | sessions [N] | counters\n"
           "       causewayctl [-c file] drain NAME | undrain NAME\n"
           "       causewayctl -V | -h\n"
           "  -c, --config file  causewayd's configuration (default /etc/causeway/causeway.ini)\n"
           "  -j, --json         print one JSON object instead of text\n"
           "  -V, --version      print the version and exit\n"
           "  -h, --help         print this help and exit\n";
}

common::result<ctl_options> parse_ctl_options(int argc, char** argv)
{
    static const option long_options[] = {
        {"config", required_argument, nullptr, 'c'},
        {"json", no_argument, nullptr, 'j'},
        {"version", no_argument, nullptr, 'V'},
        {"help", no_argument, nullptr, 'h'},
        {nullptr, 0, nullptr, 0},
    };
    ctl_options o;
    optind = 0;   // glibc: 0 also resets getopt's state left by an earlier parse
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":c:jVh", long_options, nullptr)) != -1) {
        switch (c) {
            case 'c': o.config_file = optarg; break;
            case 'j': o.json = true; break;
            case 'V': o.version = true; break;
            case 'h': o.help = true; break;
            case ':': return common::error{EINVAL, std::string("option ") + argv[optind - 1] + " needs an argument"};
            default:
                if (optopt) return common::error{EINVAL, std::string("unknown option -") + char(optopt)};
                return common::error{EINVAL, std::string("unknown option ") + argv[optind - 1]};
        }
    }
    if (o.help || o.version) return o;
    if (optind >= argc) return common::error{EINVAL, "no command given"};
    auto cmd = parse_command(argv[optind++]);
    if (!cmd) return cmd.err();
    o.command = *cmd;
    if (o.command == ctl_command::sessions && optind < argc) {
        std::string_view n(argv[optind]);
        std::size_t v = 0;
        auto [end, ec] = std::from_chars(n.data(), n.data() + n.size(), v);
        if (ec != std::errc() || end != n.data() + n.size() || v == 0 || v > 1000000)
            return common::error{EINVAL, "sessions N: '" + std::string(n) + "' is not a number from 1 to 1000000"};
        o.limit = v;
        ++optind;
    }
    if (o.command == ctl_command::drain || o.command == ctl_command::undrain) {
        if (optind >= argc) return common::error{EINVAL, std::string(argv[optind - 1]) + " needs a server's NAME"};
        o.server = argv[optind++];
    }
    if (optind < argc) return common::error{EINVAL, std::string("unexpected argument '") + argv[optind] + "'"};
    return o;
}

ctl_outcome run_ctl(const ctl_options& opts, const ctl_env& env)
{
    ctl_outcome r;
    auto fail = [&](const std::string& message) {
        r.exit_code = 1;
        r.err += prog + message + "\n";
        return r;
    };
    auto cfg = common::load_config(opts.config_file);
    if (!cfg) {
        if (cfg.err().code == ENOENT) return fail(cfg.err().message + " (give causewayd's configuration file with -c)");
        return fail(cfg.err().message);
    }
    const std::string name = cfg->effective_shm_name();
    auto seg = attach_retrying(name, env);
    if (!seg) return fail(attach_error(seg.err(), name, opts.config_file));

    if (opts.command == ctl_command::drain || opts.command == ctl_command::undrain)
        return change_drain(opts, *cfg, name);

    report_context ctx{opts.config_file, cfg->progress_max_age_ms, opts.json};
    switch (opts.command) {
        case ctl_command::status: r.out = format_status(read_status(*seg, env, ctx.progress_max_age_ms), ctx); break;
        case ctl_command::replicas: {
            replicas_view v = read_replicas(*seg, env, ctx.progress_max_age_ms);
            r.out = format_replicas(v, ctx);
            if (v.any_torn()) {
                torn_warnings(v, env.torn_retries, r.err);
                r.exit_code = 1;
            }
            break;
        }
        case ctl_command::sessions: r.out = format_sessions(read_sessions(*seg, opts.limit), ctx); break;
        case ctl_command::counters:
            r.out = format_counters(read_counters(*seg, env, ctx.progress_max_age_ms), ctx);
            break;
        case ctl_command::drain:
        case ctl_command::undrain: break;   // above
    }
    if (!seg->creator_alive()) {
        pid_t pid = pid_t(seg->header().creator_pid.load(std::memory_order_relaxed));
        fail("causewayd (pid " + std::to_string(pid) + ") is not running: " + name +
             " is left over from it and shows its last state");
    }
    return r;
}

}   // namespace causeway::daemon
