// /metrics: every family of the table is rendered from a populated segment in
// valid exposition syntax (HELP and TYPE once, samples together, escaped
// labels), every worker counter has a metric, the numbers are the segment's,
// and causewayd(8) documents every family.
#include <cppunit/extensions/HelperMacros.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "daemon/metrics.hh"
#include "daemon/prom_text.hh"
#include "shm/counters.hh"
#include "t/unit/daemon/ctl_test_support.hh"
#include "t/unit/shm/scratch_segment.hh"

using namespace causeway;
using namespace causeway::daemon;
using causeway::daemon::test::fake_env;
using causeway::shm::test::must;
using causeway::shm::test::scratch_segment;

namespace {
constexpr std::uint64_t ms = 1000000;
constexpr std::uint64_t now = 10000 * ms;

std::optional<proc_usage> fake_usage(pid_t pid)
{
    if (pid == 999) return std::nullopt;   // gone
    return proc_usage{0.5, std::uint64_t(pid) * 4096};
}

// A segment with every fact set: a primary and two replicas polled, a floor,
// two workers that routed and waited, a poller that reclaimed.
struct populated {
    scratch_segment s;
    shm::segment seg;
    ctl_env env;

    populated() : seg(make(s))
    {
        env = fake_env::reset(now, seg.header().created_realtime_ns + 90 * 1000 * ms);
        shm::progress_block pb = seg.progress();
        publish(pb, 0, s.cfg.primary, shm::backend_state::up, "0-1-120,1-1-7");
        publish(pb, 1, s.cfg.replicas[0], shm::backend_state::up, "0-1-118,1-1-7");
        publish(pb, 2, s.cfg.replicas[1], shm::backend_state::replication_stopped, "0-1-105");
        publish(pb, 3, s.cfg.primary, shm::backend_state::up, "0-1-120,1-1-7");   // its own read slot
        seg.roles().publish(3, shm::primary_state::up, 1u << 3, now - 5 * ms);
        pb.heartbeat(now - 3 * ms);
        // users_from_primary: two accounts loaded, one refresh failed since.
        seg.accounts().publish({{"app", "%", "*14E65567ABDB5135D0CFD9A70B3032C179A49EE7", 0}, {"", "10.%", "", 0}},
                               seg.header().created_realtime_ns + 60 * 1000 * ms);
        seg.accounts().refresh_failed(seg.header().created_realtime_ns + 80 * 1000 * ms);
        (void)seg.sessions().init_floor(*protocol::parse_gtid_position("0-1-100"));
        seg.sessions().publish_watermark(*protocol::parse_gtid_position("0-1-105"));
        for (std::size_t slot : {0, 1}) {
            shm::worker_counters& w = *seg.worker(slot);
            w.pid = 100 + slot;
            shm::add(w.connections_accepted, 10);
            shm::add(w.wait_us, 1500000);
            shm::count_route(w, shm::route_reason::replica_caught_up);
            shm::count_route(w, shm::route_reason::primary_write);
            shm::count_route(w, shm::route_reason::primary_write);
            shm::worker_stats& st = *seg.stats(slot);
            shm::record_latency(st, shm::latency_kind::read_replica, 40);   // <= 50 us
            shm::record_latency(st, shm::latency_kind::read_replica, 700);   // <= 1 ms
            shm::record_latency(st, shm::latency_kind::read_replica, 20000000);   // above every bound
            shm::record_latency(st, shm::latency_kind::causal_wait, 3000);
            shm::count_command(st, 0x03);
            shm::count_command(st, 0x17);
            shm::count_command(st, 0xfa);
            shm::count_refused(st, shm::refuse_reason::handshake_timeout);
        }
        shm::add(seg.header().supervisor.reloads_ok, 3);
        shm::add(seg.header().supervisor.reloads_failed);
        shm::add(seg.header().supervisor.worker_restarts, 2);
        seg.poller().pid = 200;
        shm::add(seg.poller().reclaimed_entries, 42);
        fake_env::running = {100, 101, 200, 999};
    }

    static shm::segment make(scratch_segment& s)
    {
        s.cfg.replicas[1].name = "r\"2\\";   // a name that needs escaping
        return must(shm::segment::create(s.cfg));
    }

    static void publish(shm::progress_block& pb, std::size_t i, const common::backend_config& b, shm::backend_state st,
                        const char* gtid)
    {
        shm::progress_snapshot e;
        e.backend_id = shm::backend_identity(b);
        e.state = st;
        e.io_running = true;
        e.sql_running = st == shm::backend_state::up;
        e.position = *protocol::parse_gtid_position(gtid);
        e.last_good_poll_ns = now - 2 * ms;
        e.poll_rtt_ns = 80000;
        e.advanced_ns = now - 5 * ms;
        e.polls = 1000;
        e.poll_errors = 1;
        pb.publish(i, e);
    }

    std::string render() { return format_metrics(read_metrics(seg, env, 500, 999, fake_usage)); }
};

std::string slurp(const char* path)
{
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// The exposition format's grammar, strictly: returns "" or what is wrong.
// Fills `families` with each family's sample count.
std::string check_exposition(const std::string& text, std::map<std::string, int>& families)
{
    static const std::regex help(R"(# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) [^\n]*)");
    static const std::regex type(R"(# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|untyped))");
    static const std::regex sample(
        R"(([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"(?:,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*")*\})? (-?[0-9.e+-]+|NaN|[+-]Inf))");
    std::set<std::string> helped, typed, closed;
    std::string current;
    bool histogram = false;
    std::istringstream in(text);
    std::string line;
    std::set<std::string> seen_lines;
    if (text.empty() || text.back() != '\n') return "does not end in a newline";
    while (std::getline(in, line)) {
        std::smatch m;
        if (std::regex_match(line, m, help)) {
            if (!helped.insert(m[1]).second) return "HELP twice: " + line;
            if (!current.empty() && current != m[1].str()) closed.insert(current);
            current = m[1];
        } else if (std::regex_match(line, m, type)) {
            if (m[1] != current || !typed.insert(m[1]).second) return "TYPE out of place: " + line;
            if (m[2] == "counter" && !current.ends_with("_total")) return "counter without _total: " + line;
            histogram = m[2] == "histogram";
        } else if (std::regex_match(line, m, sample)) {
            // A histogram's series are NAME_bucket (with le), NAME_sum and NAME_count.
            bool ours = m[1] == current ||
                (histogram &&
                 (m[1] == current + "_sum" || m[1] == current + "_count" ||
                  (m[1] == current + "_bucket" && m[2].str().find("le=\"") != std::string::npos)));
            if (!ours) return "sample outside its family: " + line;
            if (!seen_lines.insert(m[1].str() + m[2].str()).second) return "sample twice: " + line;
            ++families[current];
        } else {
            return "bad line: " + line;
        }
    }
    return "";
}

std::string value_of(const std::string& text, const std::string& series)
{
    std::size_t at = text.find("\n" + series + " ");
    if (at == std::string::npos) return "(missing)";
    at += series.size() + 2;
    return text.substr(at, text.find('\n', at) - at);
}
}   // namespace

class metrics_test : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(metrics_test);
    CPPUNIT_TEST(every_family_is_served_and_valid);
    CPPUNIT_TEST(numbers_are_the_segments);
    CPPUNIT_TEST(every_worker_counter_has_a_metric);
    CPPUNIT_TEST(every_family_is_documented);
    CPPUNIT_TEST(writer_escapes_and_formats);
    CPPUNIT_TEST_SUITE_END();

public:
    void every_family_is_served_and_valid()
    {
        populated p;
        std::string text = p.render();
        std::map<std::string, int> families;
        std::string why = check_exposition(text, families);
        CPPUNIT_ASSERT_MESSAGE(why + "\n" + text, why.empty());
        // A worker counter's metric is served once the segment has the counter.
        std::set<std::string> absent;
        for (const auto& [counter, metric] : worker_counter_metrics())
            if (std::find(counter_set::names.begin(), counter_set::names.end(), std::string_view(counter)) ==
                counter_set::names.end())
                absent.insert(metric);
        for (const metric_family& f : metric_families())
            CPPUNIT_ASSERT_MESSAGE(std::string(f.name) + " not served:\n" + text,
                                   families.count(f.name) == 1 || absent.count(f.name));
        CPPUNIT_ASSERT_EQUAL(metric_families().size(), families.size() + absent.size());
    }

    void numbers_are_the_segments()
    {
        populated p;
        std::string t = p.render();
        CPPUNIT_ASSERT_EQUAL(std::string("20"), value_of(t, "causeway_client_connections_accepted_total"));
        CPPUNIT_ASSERT_EQUAL(std::string("3"), value_of(t, "causeway_causal_wait_seconds_total"));
        CPPUNIT_ASSERT_EQUAL(std::string("2"),
                             value_of(t, "causeway_routed_total{target=\"replica\",reason=\"replica_caught_up\"}"));
        CPPUNIT_ASSERT_EQUAL(std::string("4"),
                             value_of(t, "causeway_routed_total{target=\"primary\",reason=\"primary_write\"}"));
        CPPUNIT_ASSERT_EQUAL(std::string("2"), value_of(t, "causeway_workers"));
        CPPUNIT_ASSERT_EQUAL(std::string("2"), value_of(t, "causeway_users_loaded"));
        CPPUNIT_ASSERT_EQUAL(std::string("1"), value_of(t, "causeway_users_refresh_total{result=\"ok\"}"));
        CPPUNIT_ASSERT_EQUAL(std::string("1"), value_of(t, "causeway_users_refresh_total{result=\"failed\"}"));
        CPPUNIT_ASSERT_EQUAL(std::string("0"), value_of(t, "causeway_users_last_refresh_ok"));
        CPPUNIT_ASSERT(t.find("*14E65567") == std::string::npos && t.find("14E65567ABDB") == std::string::npos);
        CPPUNIT_ASSERT_EQUAL(std::string("118"),
                             value_of(t, "causeway_backend_gtid_seqno{backend=\"r1\",role=\"replica\",domain=\"0\"}"));
        CPPUNIT_ASSERT_EQUAL(
            std::string("7"),
            value_of(t, "causeway_backend_gtid_seqno{backend=\"primary\",role=\"primary\",domain=\"1\"}"));
        CPPUNIT_ASSERT_EQUAL(std::string("2"),
                             value_of(t, "causeway_backend_transactions_behind{backend=\"r1\",role=\"replica\"}"));
        CPPUNIT_ASSERT_EQUAL(
            std::string("22"),
            value_of(t, "causeway_backend_transactions_behind{backend=\"r\\\"2\\\\\",role=\"replica\"}"));
        CPPUNIT_ASSERT_EQUAL(
            std::string("1"),
            value_of(t,
                     "causeway_backend_state{backend=\"r\\\"2\\\\\",role=\"replica\",state=\"replication_stopped\"}"));
        CPPUNIT_ASSERT_EQUAL(std::string("8e-05"),
                             value_of(t, "causeway_backend_poll_rtt_seconds{backend=\"r1\",role=\"replica\"}"));
        CPPUNIT_ASSERT_EQUAL(std::string("100"), value_of(t, "causeway_session_floor_seqno{domain=\"0\"}"));
        CPPUNIT_ASSERT_EQUAL(std::string("42"), value_of(t, "causeway_session_reclaimed_total"));
        CPPUNIT_ASSERT_EQUAL(std::string("0.003"), value_of(t, "causeway_poller_heartbeat_age_seconds"));
        // Workers 100 and 101 at pid * 4096 bytes; the admin (pid 999) has exited.
        CPPUNIT_ASSERT_EQUAL(std::string("823296"),
                             value_of(t, "causeway_process_resident_memory_bytes{role=\"worker\"}"));
        CPPUNIT_ASSERT_EQUAL(std::string("0"), value_of(t, "causeway_processes{role=\"admin\"}"));
        // Histograms: cumulative buckets over both workers, +Inf = _count, _sum in seconds.
        auto read = [&](const char* le) {
            return value_of(t,
                            std::string("causeway_read_duration_seconds_bucket{target=\"replica\",le=\"") + le + "\"}");
        };
        CPPUNIT_ASSERT_EQUAL(std::string("2"), read("5e-05"));
        CPPUNIT_ASSERT_EQUAL(std::string("2"), read("0.0005"));
        CPPUNIT_ASSERT_EQUAL(std::string("4"), read("0.001"));
        CPPUNIT_ASSERT_EQUAL(std::string("4"), read("10"));
        CPPUNIT_ASSERT_EQUAL(std::string("6"), read("+Inf"));
        CPPUNIT_ASSERT_EQUAL(std::string("6"), value_of(t, "causeway_read_duration_seconds_count{target=\"replica\"}"));
        CPPUNIT_ASSERT_EQUAL(std::string("40.00148"),
                             value_of(t, "causeway_read_duration_seconds_sum{target=\"replica\"}"));
        CPPUNIT_ASSERT_EQUAL(std::string("0"), value_of(t, "causeway_read_duration_seconds_count{target=\"primary\"}"));
        CPPUNIT_ASSERT_EQUAL(std::string("0"),
                             value_of(t, "causeway_causal_wait_duration_seconds_bucket{le=\"0.0025\"}"));
        CPPUNIT_ASSERT_EQUAL(std::string("2"),
                             value_of(t, "causeway_causal_wait_duration_seconds_bucket{le=\"0.005\"}"));
        CPPUNIT_ASSERT_EQUAL(std::string("0.006"), value_of(t, "causeway_causal_wait_duration_seconds_sum"));
        CPPUNIT_ASSERT_EQUAL(std::string("2"), value_of(t, "causeway_commands_total{command=\"query\"}"));
        CPPUNIT_ASSERT_EQUAL(std::string("2"), value_of(t, "causeway_commands_total{command=\"stmt_execute\"}"));
        CPPUNIT_ASSERT_EQUAL(std::string("2"), value_of(t, "causeway_commands_total{command=\"stmt_bulk_execute\"}"));
        CPPUNIT_ASSERT_EQUAL(std::string("0"), value_of(t, "causeway_commands_total{command=\"ping\"}"));
        CPPUNIT_ASSERT_EQUAL(std::string("(missing)"), value_of(t, "causeway_commands_total{command=\"other\"}"));
        CPPUNIT_ASSERT_EQUAL(std::string("2"),
                             value_of(t, "causeway_client_refusals_total{reason=\"handshake_timeout\"}"));
        CPPUNIT_ASSERT_EQUAL(std::string("3"), value_of(t, "causeway_reloads_total{result=\"ok\"}"));
        CPPUNIT_ASSERT_EQUAL(std::string("1"), value_of(t, "causeway_reloads_total{result=\"failed\"}"));
        CPPUNIT_ASSERT_EQUAL(std::string("2"), value_of(t, "causeway_process_restarts_total{role=\"worker\"}"));
        CPPUNIT_ASSERT_EQUAL(std::string("0"), value_of(t, "causeway_process_restarts_total{role=\"poller\"}"));
    }

    void every_worker_counter_has_a_metric()
    {
        for (const char* name : counter_set::names)
            CPPUNIT_ASSERT_MESSAGE(std::string("worker counter ") + name + " has no metric in daemon/metrics.cc",
                                   worker_counter_family(name) != nullptr);
    }

    void every_family_is_documented()
    {
        std::string man = slurp("man/causewayd.8");
        CPPUNIT_ASSERT_MESSAGE("man/causewayd.8 missing (run from the repo root)", !man.empty());
        // Both ways: every family with its type, and no entry for a family that is not served.
        std::set<std::string> served;
        for (const metric_family& f : metric_families()) {
            served.insert(f.name);
            std::string entry = std::string(".It Sy ") + f.name + " Pq " + f.type;
            CPPUNIT_ASSERT_MESSAGE(entry + " not in man/causewayd.8", man.find(entry) != std::string::npos);
        }
        static const std::regex listed(R"(\.It Sy (causeway_[a-z0-9_]+) Pq)");
        for (std::sregex_iterator it(man.begin(), man.end(), listed), end; it != end; ++it)
            CPPUNIT_ASSERT_MESSAGE((*it)[1].str() + " is in man/causewayd.8 but not served", served.count((*it)[1]));
    }

    void writer_escapes_and_formats()
    {
        prom_writer w;
        w.begin("x_total", "counter", "a \\ b\nc");
        CPPUNIT_ASSERT_EQUAL(std::string(""), w.str());   // no samples yet: nothing
        w.sample({{"l", "q\"\\\n"}}, std::uint64_t(18446744073709551615ull));
        CPPUNIT_ASSERT_EQUAL(std::string("# HELP x_total a \\\\ b\\nc\n# TYPE x_total counter\n"
                                         "x_total{l=\"q\\\"\\\\\\n\"} 18446744073709551615\n"),
                             w.str());
        CPPUNIT_ASSERT_EQUAL(std::string("0.1"), prom_number(0.1));
        CPPUNIT_ASSERT_EQUAL(std::string("1796572263.9418435"), prom_number(1796572263.9418435));
        CPPUNIT_ASSERT_EQUAL(std::string("+Inf"), prom_number(1.0 / 0.0));
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(metrics_test);
