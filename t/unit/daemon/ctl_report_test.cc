// causewayctl's reports: every JSON report is one well-formed object with the
// documented keys (also with hostile backend names), and the text reports
// show the numbers the views computed, aligned, with torn and stale entries
// marked.
#include <cppunit/extensions/HelperMacros.h>

#include "daemon/ctl_report.hh"
#include "shm/counters.hh"
#include "t/unit/daemon/ctl_test_support.hh"
#include "t/unit/shm/scratch_segment.hh"

using namespace causeway;
using namespace causeway::daemon;
using causeway::daemon::test::fake_env;
using causeway::daemon::test::json_check;
using causeway::shm::test::must;
using causeway::shm::test::scratch_segment;

namespace {
constexpr std::uint64_t ms = 1000000;
constexpr std::uint64_t now = 10000 * ms;

protocol::gtid_position pos(const char* text)
{
    return *protocol::parse_gtid_position(text);
}

bool has(const std::string& text, const std::string& what)
{
    return text.find(what) != std::string::npos;
}

#define ASSERT_HAS(text, what) \
    CPPUNIT_ASSERT_MESSAGE("missing '" + std::string(what) + "' in:\n" + (text), has(text, what))
#define ASSERT_JSON(text)                                                             \
    do {                                                                              \
        std::string why_;                                                             \
        CPPUNIT_ASSERT_MESSAGE(why_ + "\n" + (text), json_check::valid(text, &why_)); \
    } while (0)

// A segment with a primary, r1 up 2 behind, r2 with its SQL thread stopped,
// two workers and a poller.
struct populated {
    scratch_segment s;
    shm::segment seg;
    ctl_env env;

    explicit populated(const std::string& r1_name = "r1") : seg(make(s, r1_name))
    {
        env = fake_env::reset(now, seg.header().created_realtime_ns + 90 * 1000 * ms);
        shm::progress_block pb = seg.progress();
        publish(pb, 0, s.cfg.primary, shm::backend_state::up, "0-1-120", true);
        publish(pb, 1, s.cfg.replicas[0], shm::backend_state::up, "0-1-118", true);
        publish(pb, 2, s.cfg.replicas[1], shm::backend_state::replication_stopped, "0-1-105", false);
        publish(pb, 3, s.cfg.primary, shm::backend_state::up, "0-1-120", false);   // its own read slot
        seg.roles().publish(3, shm::primary_state::up, 1u << 3, now - 5 * ms);
        pb.heartbeat(now - 3 * ms);
        (void)seg.sessions().init_floor(pos("0-1-100"));
        for (std::size_t slot : {0, 1}) {
            shm::worker_counters& w = *seg.worker(slot);
            w.pid = 100 + slot;
            w.started_ns = now - 6000 * ms;
            shm::add(w.connections_accepted, 10 + slot);
            shm::add(w.queries_forwarded, 1234567);
            shm::count_route(w, shm::route_reason::primary_bridge);
        }
        seg.poller().pid = 200;
        fake_env::running = {100, 101, 200};
    }

    static shm::segment make(scratch_segment& s, const std::string& r1_name)
    {
        s.cfg.replicas[0].name = r1_name;
        return must(shm::segment::create(s.cfg));
    }

    static void publish(shm::progress_block& pb, std::size_t i, const common::backend_config& b, shm::backend_state st,
                        const char* gtid, bool sql)
    {
        shm::progress_snapshot e;
        e.backend_id = shm::backend_identity(b);
        e.state = st;
        e.io_running = true;
        e.sql_running = sql;
        e.read_only = i != 0;
        e.position = pos(gtid);
        e.last_good_poll_ns = now - 4 * ms;
        e.poll_rtt_ns = 45678;
        e.advanced_ns = now - 1 * ms;
        e.polls = 100;
        pb.publish(i, e);
    }
};
}   // namespace

class ctl_report_test : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(ctl_report_test);
    CPPUNIT_TEST(status_json);
    CPPUNIT_TEST(status_text);
    CPPUNIT_TEST(replicas_json);
    CPPUNIT_TEST(replicas_text);
    CPPUNIT_TEST(replicas_torn);
    CPPUNIT_TEST(hostile_names_stay_valid_json);
    CPPUNIT_TEST(counters_reports);
    CPPUNIT_TEST(sessions_reports);
    CPPUNIT_TEST_SUITE_END();

public:
    void status_json()
    {
        populated p;
        report_context ctx{"/etc/c.ini", 500, true};
        std::string out = format_status(read_status(p.seg, p.env, 500), ctx);
        ASSERT_JSON(out);
        ASSERT_HAS(out, "\"shm_name\":\"" + p.s.name() + "\"");
        ASSERT_HAS(out, "\"config_file\":\"/etc/c.ini\"");
        ASSERT_HAS(out, "\"supervisor_pid\":" + std::to_string(getpid()) + ",\"supervisor_running\":true");
        ASSERT_HAS(out, "\"layout_version\":" + std::to_string(shm::layout_version));
        ASSERT_HAS(out, "\"config_generation\":0");
        ASSERT_HAS(out, "\"uptime_s\":90.000");
        ASSERT_HAS(out, "\"poller\":{\"pid\":200,\"running\":true");
        ASSERT_HAS(out, "\"heartbeat_age_ms\":3.000,\"heartbeat_fresh\":true");
        ASSERT_HAS(out,
                   "{\"slot\":0,\"pid\":100,\"running\":true,\"generation\":0,\"connections_active\":0,"
                   "\"connections_accepted\":10,\"queries\":1234567,\"uptime_s\":6.000}");
        ASSERT_HAS(out, "\"slot\":1,\"pid\":101");
        ASSERT_HAS(out, "\"sessions\":{\"occupied\":0,\"capacity\":");
        ASSERT_HAS(out, "\"floor_set\":true,\"floor\":\"0-0-100\"");
        ASSERT_HAS(out, "\"stats\":{\"updates_full\":0");
        CPPUNIT_ASSERT(out.back() == '\n');
    }

    void status_text()
    {
        populated p;
        report_context ctx{"/etc/c.ini", 500, false};
        std::string out = format_status(read_status(p.seg, p.env, 500), ctx);
        ASSERT_HAS(out, "instance     " + p.s.name() + "\n");
        ASSERT_HAS(out, "supervisor   pid " + std::to_string(getpid()) + " (running)\n");
        ASSERT_HAS(out, ", up 1m30s\n");
        ASSERT_HAS(out, "poller       pid 200 (running), heartbeat 3.0 ms ago\n");
        ASSERT_HAS(out, "floor        0-0-100\n");
        ASSERT_HAS(out, "SLOT  PID  RUNNING  GEN  ACTIVE  ACCEPTED    QUERIES     UP\n");
        ASSERT_HAS(out, "   0  100  yes        0       0        10  1,234,567  6.0 s\n");

        // A stale heartbeat says what it means for routing.
        p.seg.progress().heartbeat(now - 900 * ms);
        out = format_status(read_status(p.seg, p.env, 500), ctx);
        ASSERT_HAS(out, "heartbeat 900 ms ago (older than progress_max_age_ms = 500: routing to the primary)");
    }

    void replicas_json()
    {
        populated p;
        report_context ctx{"/etc/c.ini", 500, true};
        std::string out = format_replicas(read_replicas(p.seg, p.env, 500), ctx);
        ASSERT_JSON(out);
        ASSERT_HAS(out,
                   "{\"heartbeat_age_ms\":3.000,\"heartbeat_fresh\":true,\"floor_set\":true,"
                   "\"floor\":\"0-0-100\",\"primary\":{\"state\":\"up\",\"server\":\"primary\",\"slot\":3,"
                   "\"generation\":1,\"changes\":0,\"split_brain_decisions\":0},\"backends\":[");
        ASSERT_HAS(out,
                   "{\"index\":0,\"role\":\"primary\",\"name\":\"primary\",\"address\":\"127.0.0.1:3306\","
                   "\"drained\":false,\"torn\":false,\"state\":\"up\",\"usable\":true,\"identity_mismatch\":false,"
                   "\"gtid\":\"0-1-120\",\"behind\":0,\"advanced_age_ms\":1.000,\"last_poll_age_ms\":4.000,"
                   "\"poll_rtt_us\":45.7,\"io_running\":null,\"sql_running\":null,\"read_only\":false,"
                   "\"replication_error\":false,\"lagging\":false,\"polls\":100,\"poll_errors\":0,\"last_error\":0}");
        ASSERT_HAS(out, "\"index\":1,\"role\":\"replica\",\"name\":\"r1\"");
        ASSERT_HAS(out, "\"gtid\":\"0-1-118\",\"behind\":2,");
        ASSERT_HAS(out,
                   "\"index\":2,\"role\":\"replica\",\"name\":\"r2\",\"address\":\"[::1]:3308\",\"drained\":false,"
                   "\"torn\":false,"
                   "\"state\":\"replication_stopped\",\"usable\":true");
        ASSERT_HAS(out, "\"behind\":15,");
        ASSERT_HAS(out, "\"io_running\":true,\"sql_running\":false,\"read_only\":true");
    }

    void replicas_text()
    {
        populated p;
        // Server connections are the sum over worker slots (max_backend_connections_per_server).
        p.seg.usage(0)->open[2].store(3);
        p.seg.usage(7)->open[2].store(2);
        report_context ctx{"/etc/c.ini", 500, false};
        std::string out = format_replicas(read_replicas(p.seg, p.env, 500), ctx);
        ASSERT_HAS(out, "poller   heartbeat 3.0 ms ago\nfloor    0-0-100\nprimary  primary (up), 0 changes\n\n");
        ASSERT_HAS(
            out,
            "#  NAME     ROLE            ADDRESS         STATE                USABLE  GTID     BEHIND  ADVANCED  "
            "POLLED    RTT  IO   SQL  RO   POLLS  ERRORS  LAST ERROR  CONNS\n");
        ASSERT_HAS(out,
                   "0  primary  primary (role)  127.0.0.1:3306  up                   yes     0-1-120       0    1.0 ms "
                   " 4.0 ms  "
                   "46 µs  -    -    no     100       0           -      -\n");
        ASSERT_HAS(out,
                   "2  r2       replica         [::1]:3308      replication_stopped  yes     0-1-105      15    1.0 ms "
                   " 4.0 ms  "
                   "46 µs  yes  no   yes    100       0           -      5\n");
        CPPUNIT_ASSERT(!has(out, "*"));
    }

    void replicas_torn()
    {
        populated p;
        auto* base = reinterpret_cast<std::byte*>(&p.seg.header());
        auto* entries = reinterpret_cast<shm::progress_entry*>(base + p.seg.header().progress_offset);
        entries[2].seq.store(entries[2].seq.load() + 1);   // writer died mid-write
        replicas_view v = read_replicas(p.seg, p.env, 500);
        std::string json = format_replicas(v, report_context{"c", 500, true});
        ASSERT_JSON(json);
        ASSERT_HAS(json,
                   "\"name\":\"r2\",\"address\":\"[::1]:3308\",\"drained\":false,\"torn\":true,\"state\":\"torn\","
                   "\"usable\":false}");
        std::string text = format_replicas(v, report_context{"c", 500, false});
        ASSERT_HAS(text, "2  r2       replica         [::1]:3308      torn   no\n");
    }

    void hostile_names_stay_valid_json()
    {
        populated p(std::string("r\"1\\\n\x01\xff", 8));
        for (bool json : {true, false}) {
            report_context ctx{"/tmp/a \"b\".ini", 500, json};
            std::string r = format_replicas(read_replicas(p.seg, p.env, 500), ctx);
            std::string st = format_status(read_status(p.seg, p.env, 500), ctx);
            if (!json) continue;
            ASSERT_JSON(r);
            ASSERT_JSON(st);
            ASSERT_HAS(r, "\"name\":\"r\\\"1\\\\\\n\\u0001\\ufffd\"");
            ASSERT_HAS(st, "\"config_file\":\"/tmp/a \\\"b\\\".ini\"");
        }
    }

    void counters_reports()
    {
        populated p;
        counters_view v = read_counters(p.seg, p.env, 500);
        std::string json = format_counters(v, report_context{"c", 500, true});
        ASSERT_JSON(json);
        ASSERT_HAS(json,
                   "{\"workers\":[{\"slot\":0,\"pid\":100,\"running\":true,\"generation\":0,\"counters\":{"
                   "\"connections_active\":0,\"connections_accepted\":10,");
        ASSERT_HAS(json, "\"total\":{\"counters\":{\"connections_active\":0,\"connections_accepted\":21,");
        ASSERT_HAS(json, "\"queries_forwarded\":2469134,");
        for (std::size_t r = 0; r < shm::route_reason_count; ++r)
            ASSERT_HAS(json, "\"" + std::string(shm::route_reason_name(shm::route_reason(r))) + "\":");
        ASSERT_HAS(json,
                   "\"primary_bridge\":2,\"primary_unavailable\":0,\"primary_server_specific\":0},\"commands\":{");
        ASSERT_HAS(json,
                   "\"read_primary\":{\"count\":0,\"sum_us\":0,\"buckets\":[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]}}},"
                   "\"poller\":{\"pid\":200,");
        ASSERT_HAS(json, "\"supervisor\":{\"reloads_ok\":0,\"reloads_failed\":0,");

        std::string text = format_counters(v, report_context{"c", 500, false});
        ASSERT_HAS(text, "COUNTER                              TOTAL     w0:100     w1:101\n");
        ASSERT_HAS(text, "queries_forwarded                2,469,134  1,234,567  1,234,567\n");
        ASSERT_HAS(text, "routed:\n");
        ASSERT_HAS(text, "  primary_bridge                         2          1          1\n");
        for (std::size_t r = 0; r < shm::route_reason_count; ++r)
            ASSERT_HAS(text, "  " + std::string(shm::route_reason_name(shm::route_reason(r))) + " ");
        ASSERT_HAS(text, "poller    pid 200 (running), generation 0\n");
        ASSERT_HAS(text, "refused:\n");
        ASSERT_HAS(text, "  handshake_timeout ");
        ASSERT_HAS(text, "  read_replica_us ");
        ASSERT_HAS(text, "reloads   0 applied, 0 failed\n");
    }

    void sessions_reports()
    {
        populated p;
        sessions_view v = read_sessions(p.seg, 3);
        std::string json = format_sessions(v, report_context{"c", 500, true});
        ASSERT_JSON(json);
        ASSERT_HAS(json, "{\"count\":0,\"occupied\":0,\"capacity\":");
        ASSERT_HAS(json, "\"spilled_buckets\":0,\"limit\":3,\"entries_listed\":true,\"entries\":[]}");
        std::string text = format_sessions(v, report_context{"c", 500, false});
        ASSERT_HAS(text, "sessions     0 of ");
        ASSERT_HAS(text, "no session has a write in flight\n");
        CPPUNIT_ASSERT(text.find("spilled") == std::string::npos);
        v.entries_listed = false;   // a view not filled by read_sessions()
        ASSERT_HAS(format_sessions(v, report_context{"c", 500, false}), "entries      not listed");

        // With entries: furthest ahead of the watermark first; spilled buckets said.
        v.entries_listed = true;
        v.spilled_buckets = 2;
        v.table.watermark = pos("0-0-100");
        v.entries =
            furthest_behind({{0xabc, false, pos("0-0-103")}, {0x1, true, pos("0-0-150")}}, v.table.watermark, 3);
        json = format_sessions(v, report_context{"c", 500, true});
        ASSERT_JSON(json);
        ASSERT_HAS(json,
                   "\"entries\":[{\"tag\":1,\"overflow\":true,\"gtid\":\"0-0-150\",\"ahead_of_watermark\":50},"
                   "{\"tag\":2748,\"overflow\":false,\"gtid\":\"0-0-103\",\"ahead_of_watermark\":3}]}");
        ASSERT_HAS(json, "\"spilled_buckets\":2,");
        text = format_sessions(v, report_context{"c", 500, false});
        ASSERT_HAS(text, "spilled      2 buckets (their sessions are not listed");
        ASSERT_HAS(text,
                   "     TAG  AHEAD  GTID     OVERFLOW\n"
                   "00000001     50  0-0-150  yes\n"
                   "00000abc      3  0-0-103  no\n");
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(ctl_report_test);
