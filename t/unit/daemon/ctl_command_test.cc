// causewayctl's command line and run_ctl() end to end against a scratch
// segment named by a scratch config file: each command in text and JSON, and
// the errors an operator meets (no config, no segment, another layout
// version, a left-over segment, a torn entry) with exit status 1.
#include <cppunit/extensions/HelperMacros.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <vector>

#include "daemon/ctl_command.hh"
#include "t/unit/daemon/ctl_test_support.hh"
#include "t/unit/shm/scratch_segment.hh"

using namespace causeway;
using namespace causeway::daemon;
using causeway::daemon::test::fake_env;
using causeway::daemon::test::json_check;
using causeway::shm::test::must;
using causeway::shm::test::scratch_segment;

namespace {
bool has(const std::string& text, const std::string& what)
{
    return text.find(what) != std::string::npos;
}
#define ASSERT_HAS(text, what) \
    CPPUNIT_ASSERT_MESSAGE("missing '" + std::string(what) + "' in:\n" + (text), has(text, what))

common::result<ctl_options> parse(std::vector<std::string> args)
{
    args.insert(args.begin(), "causewayctl");
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    return parse_ctl_options(int(args.size()), argv.data());
}

// A config file naming the scratch segment; removed with the fixture.
struct scratch_config {
    std::string path;
    explicit scratch_config(const std::string& shm_name)
    {
        char tmpl[] = "/tmp/causewayctl-test-XXXXXX";
        int fd = mkstemp(tmpl);
        CPPUNIT_ASSERT(fd >= 0);
        close(fd);
        path = tmpl;
        std::ofstream(path) << "[causeway]\nshm_name = " << shm_name
                            << "\n[monitor]\nuser = monitor\npassword = pw\n[primary]\naddress = 127.0.0.1:3306\n"
                               "[replicas]\nr1 = 127.0.0.1:3307\nr2 = [::1]:3308\n[users]\napp = x\n";
    }
    ~scratch_config() { std::remove(path.c_str()); }
};

ctl_options opts(const std::string& config, ctl_command c, bool json)
{
    ctl_options o;
    o.config_file = config;
    o.command = c;
    o.json = json;
    return o;
}
}   // namespace

class ctl_command_test : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(ctl_command_test);
    CPPUNIT_TEST(options_parse);
    CPPUNIT_TEST(options_reject);
    CPPUNIT_TEST(every_command_runs);
    CPPUNIT_TEST(missing_config);
    CPPUNIT_TEST(missing_segment);
    CPPUNIT_TEST(other_layout_version);
    CPPUNIT_TEST(left_over_segment);
    CPPUNIT_TEST(torn_entry_exits_1);
    CPPUNIT_TEST(drain_and_undrain);
    CPPUNIT_TEST_SUITE_END();

public:
    void options_parse()
    {
        auto o = parse({"-c", "/x.ini", "--json", "replicas"});
        CPPUNIT_ASSERT_MESSAGE(o ? "" : o.err().message, o.ok());
        CPPUNIT_ASSERT_EQUAL(std::string("/x.ini"), o->config_file);
        CPPUNIT_ASSERT(o->json);
        CPPUNIT_ASSERT(o->command == ctl_command::replicas);

        o = parse({"status"});
        CPPUNIT_ASSERT(o.ok());
        CPPUNIT_ASSERT_EQUAL(std::string("/etc/causeway/causeway.ini"), o->config_file);
        CPPUNIT_ASSERT(!o->json);
        CPPUNIT_ASSERT(o->command == ctl_command::status);

        o = parse({"sessions", "--config=/y.ini", "25", "-j"});   // options after the command too
        CPPUNIT_ASSERT_MESSAGE(o ? "" : o.err().message, o.ok());
        CPPUNIT_ASSERT(o->command == ctl_command::sessions);
        CPPUNIT_ASSERT_EQUAL(std::size_t(25), o->limit);
        CPPUNIT_ASSERT_EQUAL(std::string("/y.ini"), o->config_file);
        CPPUNIT_ASSERT(o->json);

        o = parse({"sessions"});
        CPPUNIT_ASSERT_EQUAL(std::size_t(10), o->limit);
        o = parse({"counters"});
        CPPUNIT_ASSERT(o->command == ctl_command::counters);
        CPPUNIT_ASSERT(parse({"-h"})->help);
        CPPUNIT_ASSERT(parse({"--version"})->version);
    }

    void expect_error(std::vector<std::string> args, const std::string& text)
    {
        auto o = parse(args);
        CPPUNIT_ASSERT_MESSAGE("accepted: " + text, !o.ok());
        ASSERT_HAS(o.err().message, text);
    }

    void options_reject()
    {
        expect_error({}, "no command given");
        expect_error({"-c"}, "option -c needs an argument");
        expect_error({"--bogus", "status"}, "unknown option --bogus");
        expect_error({"-x", "status"}, "unknown option -x");
        expect_error({"stats"}, "unknown command 'stats'");
        expect_error({"status", "extra"}, "unexpected argument 'extra'");
        expect_error({"sessions", "0"}, "sessions N: '0' is not a number");
        expect_error({"sessions", "ten"}, "sessions N: 'ten'");
        expect_error({"sessions", "5x"}, "sessions N: '5x'");
        expect_error({"sessions", "5", "6"}, "unexpected argument '6'");
        expect_error({"replicas", "5"}, "unexpected argument '5'");
    }

    void every_command_runs()
    {
        scratch_segment s;
        shm::segment seg = must(shm::segment::create(s.cfg));
        scratch_config c(s.name());
        ctl_env env = fake_env::reset(1000, seg.header().created_realtime_ns);
        for (ctl_command cmd :
             {ctl_command::status, ctl_command::replicas, ctl_command::sessions, ctl_command::counters}) {
            for (bool json : {false, true}) {
                ctl_outcome r = run_ctl(opts(c.path, cmd, json), env);
                CPPUNIT_ASSERT_EQUAL_MESSAGE(r.err, 0, r.exit_code);
                CPPUNIT_ASSERT_EQUAL(std::string(), r.err);
                CPPUNIT_ASSERT(!r.out.empty());
                std::string why;
                if (json) CPPUNIT_ASSERT_MESSAGE(why + "\n" + r.out, json_check::valid(r.out, &why));
            }
        }
        ctl_outcome r = run_ctl(opts(c.path, ctl_command::replicas, false), env);
        ASSERT_HAS(r.out, "r2       replica         [::1]:3308      unknown  no");
        r = run_ctl(opts(c.path, ctl_command::status, false), env);
        ASSERT_HAS(r.out, "poller       none, heartbeat never\n");
        ASSERT_HAS(r.out, "floor        not set (the poller has not polled the primary yet)\n");
        ASSERT_HAS(r.out, "workers      none\n");
    }

    // drain NAME writes the server's identity into the segment's drain list
    // (what every worker checks before choosing a replica); undrain clears it.
    void drain_and_undrain()
    {
        scratch_segment s;
        shm::segment seg = must(shm::segment::create(s.cfg));
        scratch_config c(s.name());
        ctl_env env = fake_env::reset(1000, seg.header().created_realtime_ns);
        auto loaded = common::load_config(c.path);
        CPPUNIT_ASSERT(loaded.ok());
        const common::config& cfg = *loaded;
        const std::uint64_t r2 = shm::backend_identity(cfg.replicas[1]);
        shm::progress_snapshot e;
        e.backend_id = r2;
        seg.progress().publish(2, e);

        ctl_options o = opts(c.path, ctl_command::drain, false);
        o.server = "r2";
        ctl_outcome r = run_ctl(o, env);
        CPPUNIT_ASSERT_EQUAL_MESSAGE(r.err, 0, r.exit_code);
        ASSERT_HAS(r.out, "r2: drained; no new reads go to it");
        CPPUNIT_ASSERT(seg.roles().drained(r2));
        CPPUNIT_ASSERT(!seg.roles().drained(shm::backend_identity(cfg.replicas[0])));
        r = run_ctl(o, env);   // idempotent
        CPPUNIT_ASSERT_EQUAL(0, r.exit_code);
        r = run_ctl(opts(c.path, ctl_command::replicas, true), env);
        ASSERT_HAS(r.out, "\"name\":\"r2\",\"address\":\"[::1]:3308\",\"drained\":true");
        ASSERT_HAS(r.out, "\"name\":\"r1\",\"address\":\"127.0.0.1:3307\",\"drained\":false");

        o.command = ctl_command::undrain;
        r = run_ctl(o, env);
        CPPUNIT_ASSERT_EQUAL(0, r.exit_code);
        ASSERT_HAS(r.out, "r2: undrained");
        CPPUNIT_ASSERT(!seg.roles().drained(r2));

        o.server = "r9";
        r = run_ctl(o, env);
        CPPUNIT_ASSERT_EQUAL(1, r.exit_code);
        ASSERT_HAS(r.err, "no server named 'r9' in " + c.path + " (its servers: r1, r2, primary)");
        expect_error({"drain"}, "drain needs a server's NAME");
        expect_error({"undrain", "r1", "r2"}, "unexpected argument 'r2'");
        CPPUNIT_ASSERT_EQUAL(std::string("r1"), parse({"undrain", "r1"})->server);
    }

    void missing_config()
    {
        ctl_env env = fake_env::reset(1000, 1000);
        ctl_outcome r = run_ctl(opts("/nonexistent/causeway.ini", ctl_command::status, false), env);
        CPPUNIT_ASSERT_EQUAL(1, r.exit_code);
        CPPUNIT_ASSERT(r.out.empty());
        ASSERT_HAS(r.err, "causewayctl: open /nonexistent/causeway.ini: No such file or directory");
        ASSERT_HAS(r.err, "-c");
    }

    void missing_segment()
    {
        scratch_segment s;   // names a segment that is never created
        scratch_config c(s.name());
        ctl_env env = fake_env::reset(1000, 1000);
        ctl_outcome r = run_ctl(opts(c.path, ctl_command::replicas, true), env);
        CPPUNIT_ASSERT_EQUAL(1, r.exit_code);
        CPPUNIT_ASSERT(r.out.empty());
        CPPUNIT_ASSERT_EQUAL(
            "causewayctl: is causewayd running? no shared memory segment " + s.name() + " (named by " + c.path + ")\n",
            r.err);
    }

    void other_layout_version()
    {
        scratch_segment s;
        shm::segment seg = must(shm::segment::create(s.cfg));
        seg.header().layout_version.store(shm::layout_version + 1);
        scratch_config c(s.name());
        ctl_env env = fake_env::reset(1000, 1000);
        ctl_outcome r = run_ctl(opts(c.path, ctl_command::status, false), env);
        CPPUNIT_ASSERT_EQUAL(1, r.exit_code);
        CPPUNIT_ASSERT(r.out.empty());
        ASSERT_HAS(r.err,
                   "layout version " + std::to_string(shm::layout_version + 1) + ", this build uses " +
                       std::to_string(shm::layout_version));
        ASSERT_HAS(r.err, "causewayctl and causewayd come from different builds");
        CPPUNIT_ASSERT_EQUAL(0, fake_env::pauses);   // not a half-built segment: no retries

        seg.header().layout_version.store(shm::layout_version);
        seg.header().magic.store(0);   // half-built: retried, then reported
        r = run_ctl(opts(c.path, ctl_command::status, false), env);
        CPPUNIT_ASSERT_EQUAL(1, r.exit_code);
        ASSERT_HAS(r.err, "bad magic");
        CPPUNIT_ASSERT_EQUAL(env.torn_retries, fake_env::pauses);
    }

    void left_over_segment()
    {
        scratch_segment s;
        shm::segment seg = must(shm::segment::create(s.cfg));
        // As if the creator had died and its pid were reused: the start time no longer matches.
        seg.header().creator_start_ticks.store(seg.header().creator_start_ticks.load() + 1);
        scratch_config c(s.name());
        ctl_env env = fake_env::reset(1000, 1000);
        ctl_outcome r = run_ctl(opts(c.path, ctl_command::status, true), env);
        CPPUNIT_ASSERT_EQUAL(1, r.exit_code);
        ASSERT_HAS(r.out, "\"supervisor_running\":false");   // the report is still printed
        ASSERT_HAS(r.err,
                   "causewayctl: causewayd (pid " + std::to_string(getpid()) + ") is not running: " + s.name() +
                       " is left over from it");
    }

    void torn_entry_exits_1()
    {
        scratch_segment s;
        shm::segment seg = must(shm::segment::create(s.cfg));
        auto* base = reinterpret_cast<std::byte*>(&seg.header());
        auto* entries = reinterpret_cast<shm::progress_entry*>(base + seg.header().progress_offset);
        entries[1].seq.store(entries[1].seq.load() + 1);
        scratch_config c(s.name());
        ctl_env env = fake_env::reset(1000, 1000);
        ctl_outcome r = run_ctl(opts(c.path, ctl_command::replicas, false), env);
        CPPUNIT_ASSERT_EQUAL(1, r.exit_code);
        ASSERT_HAS(r.out, "1  r1       replica         127.0.0.1:3307  torn");
        ASSERT_HAS(r.err, "causewayctl: no clean copy of the progress of backend r1 after 4 tries");
        // status does not read the entries: unaffected.
        r = run_ctl(opts(c.path, ctl_command::status, false), env);
        CPPUNIT_ASSERT_EQUAL(0, r.exit_code);
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(ctl_command_test);
