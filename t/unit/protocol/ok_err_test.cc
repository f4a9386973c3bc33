// OK, EOF and ERR against captured bytes: affected rows, insert id, status,
// info, the session-state block and last_gtid in it; build_ok's rewrite for a
// client without CLIENT_SESSION_TRACK compared with what the server itself
// sent such a client; truncated and malformed packets.
#include <cppunit/extensions/HelperMacros.h>

#include "protocol/constants.hh"
#include "protocol/ok_err.hh"
#include "t/unit/protocol/captured.hh"
#include "t/unit/protocol/wire.hh"

using namespace causeway::protocol;
using namespace std::literals;
using causeway::protocol::test::exact_copy;
using causeway::protocol::test::hex;
using causeway::protocol::test::payload;
using causeway::protocol::test::payloads;

namespace {

ok_packet ok_of(const captured::exchange& e, std::size_t index = 0)
{
    auto ok = parse_ok(payload(e.answer, index), e.capabilities);
    CPPUNIT_ASSERT_MESSAGE(std::string(e.name) + (ok ? "" : ": " + ok.err().message), ok.ok());
    return *ok;
}

std::string_view last_gtid(const captured::exchange& e)
{
    return tracked_variable(ok_of(e).session_state, "last_gtid");
}

// One system-variable entry of a session-state block.
std::string variable_entry(std::string_view name, std::string_view value)
{
    std::string data;
    data += char(name.size());
    data += name;
    data += char(value.size());
    data += value;
    return std::string(1, '\0') + char(data.size()) + data;
}

// The OKs among the captured answers: an answer's first or last packet when
// it starts with 0x00 (not a COM_STMT_PREPARE_OK, not a fetched binary row),
// and the 0xfe end-of-rows OKs of DEPRECATE_EOF connections.
template <typename F>
void for_each_captured_ok(F f)
{
    for (const auto& e : captured::all) {
        auto ps = payloads(e.answer);
        bool deprecate_eof = e.capabilities & cap::deprecate_eof;
        for (std::size_t i = 0; i < ps.size(); ++i) {
            std::uint8_t first = std::uint8_t(ps[i][0]);
            bool ok = first == ok_marker && (i == 0 || i + 1 == ps.size());
            if (e.command == std::uint8_t(command::stmt_prepare) && i == 0) ok = false;
            if (e.command == std::uint8_t(command::stmt_fetch) && first == ok_marker) ok = false;
            if (first == eof_marker && deprecate_eof && e.command != 0) ok = true;
            if (ok) f(e, ps[i]);
        }
    }
}

}   // namespace

class ok_err_test : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(ok_err_test);
    CPPUNIT_TEST(login_ok_tracks_the_schema_not_a_variable);
    CPPUNIT_TEST(insert_ok_fields_and_last_gtid);
    CPPUNIT_TEST(last_gtid_only_when_a_transaction_commits);
    CPPUNIT_TEST(last_gtid_of_load_data_and_prepared_insert);
    CPPUNIT_TEST(tracked_autocommit);
    CPPUNIT_TEST(tracked_variable_edge_cases);
    CPPUNIT_TEST(build_ok_strips_tracking_as_the_server_does);
    CPPUNIT_TEST(build_ok_is_identity_for_tracking_clients);
    CPPUNIT_TEST(tracking_list_membership);
    CPPUNIT_TEST(keep_only_the_clients_variables);
    CPPUNIT_TEST(ok_truncated_and_malformed);
    CPPUNIT_TEST(ok_info_without_session_track);
    CPPUNIT_TEST(captured_eofs);
    CPPUNIT_TEST(captured_errs);
    CPPUNIT_TEST(err_build_matches_the_server);
    CPPUNIT_TEST(err_truncated_and_pre_41);
    CPPUNIT_TEST_SUITE_END();

public:
    void login_ok_tracks_the_schema_not_a_variable()
    {
        ok_packet ok = ok_of(captured::login);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(0), ok.affected_rows);
        CPPUNIT_ASSERT_EQUAL(std::uint16_t(server_status::autocommit | server_status::session_state_changed),
                             ok.status);
        CPPUNIT_ASSERT(ok.info.empty());
        // SESSION_TRACK_SCHEMA (type 1): "capture".
        CPPUNIT_ASSERT_EQUAL(hex("\x01\x08\x07"
                                 "capture"sv),
                             hex(ok.session_state));
        CPPUNIT_ASSERT(tracked_variable(ok.session_state, "last_gtid").empty());
        CPPUNIT_ASSERT(tracked_variable(ok.session_state, "capture").empty());
        // Without session tracking the login OK is the bare 7 bytes.
        ok_packet plain = ok_of(captured::login_untracked);
        CPPUNIT_ASSERT_EQUAL(server_status::autocommit, plain.status);
        CPPUNIT_ASSERT(plain.session_state.empty() && plain.info.empty());
    }

    void insert_ok_fields_and_last_gtid()
    {
        ok_packet ok = ok_of(captured::insert_tracked);
        CPPUNIT_ASSERT_EQUAL(std::uint8_t(0), ok.marker);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(2), ok.affected_rows);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(1), ok.last_insert_id);
        CPPUNIT_ASSERT_EQUAL(std::uint16_t(server_status::autocommit | server_status::session_state_changed),
                             ok.status);
        CPPUNIT_ASSERT_EQUAL(std::uint16_t(0), ok.warnings);
        CPPUNIT_ASSERT_EQUAL("Records: 2  Duplicates: 0  Warnings: 0"s, std::string(ok.info));
        // The value @@gtid_binlog_pos had right after the statement.
        CPPUNIT_ASSERT_EQUAL(std::string(captured::insert_tracked_gtid),
                             std::string(last_gtid(captured::insert_tracked)));
        // DESIGN.md §5's layout: total length, type 0, entry length, name, value.
        std::string expected =
            "\x09last_gtid"s + char(captured::insert_tracked_gtid.size()) + std::string(captured::insert_tracked_gtid);
        expected = std::string(1, '\0') + char(expected.size()) + expected;
        CPPUNIT_ASSERT_EQUAL(hex(expected), hex(ok.session_state));
    }

    void last_gtid_only_when_a_transaction_commits()
    {
        ok_packet begin = ok_of(captured::begin);
        CPPUNIT_ASSERT(begin.status & server_status::in_trans);
        CPPUNIT_ASSERT(begin.session_state.empty());
        ok_packet inside = ok_of(captured::insert_in_trans);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(1), inside.affected_rows);
        CPPUNIT_ASSERT(inside.status & server_status::in_trans);
        CPPUNIT_ASSERT(!(inside.status & server_status::session_state_changed));
        CPPUNIT_ASSERT(tracked_variable(inside.session_state, "last_gtid").empty());
        ok_packet commit = ok_of(captured::commit);
        CPPUNIT_ASSERT(!(commit.status & server_status::in_trans));
        CPPUNIT_ASSERT_EQUAL(std::string(captured::commit_gtid), std::string(last_gtid(captured::commit)));
        // A SET that changes no tracked variable carries nothing.
        CPPUNIT_ASSERT(ok_of(captured::set_track_gtid).session_state.empty());
        CPPUNIT_ASSERT(ok_of(captured::ping).session_state.empty());
    }

    void last_gtid_of_load_data_and_prepared_insert()
    {
        ok_packet load = ok_of(captured::load_data_ok);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(2), load.affected_rows);
        CPPUNIT_ASSERT_EQUAL("Records: 2  Deleted: 0  Skipped: 0  Warnings: 0"s, std::string(load.info));
        CPPUNIT_ASSERT_EQUAL(std::string(captured::load_data_gtid), std::string(last_gtid(captured::load_data_ok)));
        ok_packet ps = ok_of(captured::execute_insert_cursor);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(1), ps.affected_rows);
        CPPUNIT_ASSERT(ps.last_insert_id > 0);
        CPPUNIT_ASSERT_EQUAL(std::string(captured::execute_insert_gtid),
                             std::string(last_gtid(captured::execute_insert_cursor)));
    }

    void tracked_autocommit()
    {
        ok_packet ok = ok_of(captured::set_autocommit_tracked_deof);
        CPPUNIT_ASSERT(!(ok.status & server_status::autocommit));
        CPPUNIT_ASSERT_EQUAL("OFF"s, std::string(tracked_variable(ok.session_state, "autocommit")));
        CPPUNIT_ASSERT(tracked_variable(ok.session_state, "last_gtid").empty());
        CPPUNIT_ASSERT(!(ok_of(captured::autocommit_off).status & server_status::autocommit));
        CPPUNIT_ASSERT(ok_of(captured::autocommit_on).status & server_status::autocommit);
    }

    void tracked_variable_edge_cases()
    {
        std::string schema =
            "\x01\x08\x07"
            "capture"s;
        std::string gtid = variable_entry("last_gtid", "0-1-5");
        CPPUNIT_ASSERT_EQUAL("0-1-5"s, std::string(tracked_variable(schema + gtid, "last_gtid")));
        // The last entry for a name wins.
        std::string two = gtid + variable_entry("autocommit", "ON") + variable_entry("last_gtid", "0-1-6,1-2-3");
        CPPUNIT_ASSERT_EQUAL("0-1-6,1-2-3"s, std::string(tracked_variable(two, "last_gtid")));
        CPPUNIT_ASSERT_EQUAL("ON"s, std::string(tracked_variable(two, "autocommit")));
        // Names match whole.
        CPPUNIT_ASSERT(tracked_variable(variable_entry("last_gtid2", "x"), "last_gtid").empty());
        CPPUNIT_ASSERT(tracked_variable(variable_entry("last_gti", "x"), "last_gtid").empty());
        CPPUNIT_ASSERT(tracked_variable("", "last_gtid").empty());
        // A broken block: entries before the break count, none after; no overread.
        for (std::size_t n = 0; n < two.size(); ++n) {
            exact_copy copy(std::string_view(two).substr(0, n));
            std::string_view v = tracked_variable(copy.view(), "last_gtid");
            CPPUNIT_ASSERT(v.empty() || v == "0-1-5");
        }
        // An entry whose inner lengths overrun its own data is skipped.
        std::string bad = std::string(1, '\0') +
            "\x03\x09"
            "ab" +
            gtid;
        CPPUNIT_ASSERT_EQUAL("0-1-5"s, std::string(tracked_variable(bad, "last_gtid")));
    }

    void build_ok_strips_tracking_as_the_server_does()
    {
        // Same statements on a connection without CLIENT_SESSION_TRACK.
        std::uint32_t plain = captured::login_untracked.capabilities;
        CPPUNIT_ASSERT(!(plain & cap::session_track));
        struct {
            const captured::exchange& tracked;
            const captured::exchange& untracked;
        } const pairs[] = {{captured::insert_tracked, captured::insert_untracked},
                           {captured::login, captured::login_untracked},
                           {captured::set_autocommit_tracked_deof, captured::set_autocommit_untracked}};
        for (const auto& p : pairs) {
            CPPUNIT_ASSERT_MESSAGE(p.tracked.name, ok_of(p.tracked).status & server_status::session_state_changed);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(p.tracked.name, hex(payload(p.untracked.answer)),
                                         hex(build_ok(ok_of(p.tracked), plain)));
        }
        // Every tracked OK rewritten for such a client carries no tracking and
        // parses the same otherwise.
        for_each_captured_ok([&](const captured::exchange& e, std::string_view p) {
            auto ok = parse_ok(p, e.capabilities);
            CPPUNIT_ASSERT_MESSAGE(e.name, ok.ok());
            std::string out = build_ok(*ok, plain);
            auto back = parse_ok(out, plain);
            CPPUNIT_ASSERT_MESSAGE(e.name, back.ok());
            CPPUNIT_ASSERT(!(back->status & server_status::session_state_changed));
            CPPUNIT_ASSERT_EQUAL(std::uint16_t(ok->status & ~server_status::session_state_changed), back->status);
            CPPUNIT_ASSERT_EQUAL(ok->affected_rows, back->affected_rows);
            CPPUNIT_ASSERT_EQUAL(ok->last_insert_id, back->last_insert_id);
            CPPUNIT_ASSERT_EQUAL(ok->marker, back->marker);
            CPPUNIT_ASSERT_EQUAL(std::string(ok->info), std::string(back->info));
            CPPUNIT_ASSERT(back->session_state.empty());
        });
    }

    void build_ok_is_identity_for_tracking_clients()
    {
        int seen = 0;
        for_each_captured_ok([&](const captured::exchange& e, std::string_view p) {
            auto ok = parse_ok(p, e.capabilities);
            CPPUNIT_ASSERT_MESSAGE(e.name, ok.ok());
            CPPUNIT_ASSERT_EQUAL_MESSAGE(e.name, hex(p), hex(build_ok(*ok, e.capabilities)));
            ++seen;
        });
        CPPUNIT_ASSERT(seen > 30);
    }

    void tracking_list_membership()
    {
        constexpr std::string_view def =
            "autocommit,character_set_client,character_set_connection,"
            "character_set_results,time_zone";
        CPPUNIT_ASSERT(in_tracking_list(def, "autocommit"));
        CPPUNIT_ASSERT(in_tracking_list(def, "TIME_ZONE"));
        CPPUNIT_ASSERT(!in_tracking_list(def, "sql_mode"));
        CPPUNIT_ASSERT(!in_tracking_list(def, "character_set"));   // whole names only
        CPPUNIT_ASSERT(!in_tracking_list(def, "last_gtid"));
        CPPUNIT_ASSERT(in_tracking_list("*", "sql_mode"));
        CPPUNIT_ASSERT(in_tracking_list("last_gtid, *", "sql_mode"));
        CPPUNIT_ASSERT(in_tracking_list(" sql_mode ,last_gtid", "sql_mode"));
        CPPUNIT_ASSERT(!in_tracking_list("", "sql_mode"));
        CPPUNIT_ASSERT(!in_tracking_list(",", ""));
    }

    // SET NAMES latin1 on a session tracking '*' (MariaDB 10.11, captured with
    // t/lib/Causeway/Wire.pm): four variables; a client tracking the default
    // list gets the three character sets, in the server's order.
    void keep_only_the_clients_variables()
    {
        std::string state = variable_entry("character_set_connection", "latin1") +
            variable_entry("sql_mode", "REAL_AS_FLOAT,PIPES_AS_CONCAT,ANSI_QUOTES,IGNORE_SPACE,ANSI") +
            variable_entry("character_set_client", "latin1") + variable_entry("character_set_results", "latin1");
        constexpr std::string_view def =
            "autocommit,character_set_client,character_set_connection,"
            "character_set_results,time_zone";
        CPPUNIT_ASSERT_EQUAL(
            hex(variable_entry("character_set_connection", "latin1") +
                variable_entry("character_set_client", "latin1") + variable_entry("character_set_results", "latin1")),
            hex(keep_tracked_variables(state, def)));
        CPPUNIT_ASSERT_EQUAL(hex(state), hex(keep_tracked_variables(state, "*")));
        CPPUNIT_ASSERT_EQUAL(std::string(), keep_tracked_variables(state, ""));
        // A write's position goes only to a client that tracks last_gtid.
        std::string write = variable_entry("last_gtid", "0-1-13");
        CPPUNIT_ASSERT_EQUAL(std::string(), keep_tracked_variables(write, def));
        CPPUNIT_ASSERT_EQUAL(hex(write), hex(keep_tracked_variables(write, "time_zone,last_gtid")));
        // Other trackers' entries (here the schema, type 1) stay.
        std::string schema = "\x01\x05\x04test"s;
        CPPUNIT_ASSERT_EQUAL(hex(schema), hex(keep_tracked_variables(schema + write, "")));
        // A block it cannot read is passed on as it came.
        std::string broken = write.substr(0, write.size() - 2);
        CPPUNIT_ASSERT_EQUAL(hex(broken), hex(keep_tracked_variables(broken, "")));
    }

    void ok_truncated_and_malformed()
    {
        for (const auto* e :
             {&captured::insert_tracked, &captured::commit, &captured::login, &captured::load_data_ok}) {
            std::string_view whole = payload(e->answer);
            ok_packet full = ok_of(*e);
            // marker, two one-byte lenencs here, status, warnings; then the info.
            const std::size_t fixed = 7, info_end = fixed + 1 + full.info.size();
            for (std::size_t n = 0; n < whole.size(); ++n) {
                exact_copy copy(whole.substr(0, n));
                auto ok = parse_ok(copy.view(), e->capabilities);
                std::string at = std::string(e->name) + " prefix " + std::to_string(n);
                if (n == fixed || n == info_end) {
                    // Lenient at a field boundary: the state block is optional.
                    CPPUNIT_ASSERT_MESSAGE(at, ok.ok());
                    CPPUNIT_ASSERT_EQUAL_MESSAGE(at, full.status, ok->status);
                    CPPUNIT_ASSERT_MESSAGE(at, ok->session_state.empty());
                    CPPUNIT_ASSERT_MESSAGE(at, ok->info.empty() || ok->info == full.info);
                } else {
                    CPPUNIT_ASSERT_MESSAGE(at, !ok.ok());
                }
            }
        }
        CPPUNIT_ASSERT(!parse_ok(payload(captured::err_no_table.answer), 0).ok());
        CPPUNIT_ASSERT(!parse_ok("\x01\x00\x00\x02\x00\x00\x00"sv, 0).ok());   // not a marker
        CPPUNIT_ASSERT(!parse_ok("\x00\xfb\x00\x02\x00\x00\x00"sv, 0).ok());   // NULL affected rows
        CPPUNIT_ASSERT(!parse_ok("\x00\xff\x00\x02\x00\x00\x00"sv, 0).ok());
        // An info length past the end.
        CPPUNIT_ASSERT(!parse_ok("\x00\x00\x00\x02\x00\x00\x00\x09"
                                 "abc"sv,
                                 cap::session_track)
                            .ok());
        // A session-state length past the end.
        CPPUNIT_ASSERT(!parse_ok("\x00\x00\x00\x02\x40\x00\x00\x00\x13\x00"sv, cap::session_track).ok());
        // Eight-byte lenencs.
        auto big = parse_ok("\x00\xfe\x01\x02\x03\x04\x05\x06\x07\x08\xfc\x34\x12\x02\x00\x01\x00"sv, 0);
        CPPUNIT_ASSERT(big.ok());
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(0x0807060504030201), big->affected_rows);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(0x1234), big->last_insert_id);
        CPPUNIT_ASSERT_EQUAL(std::uint16_t(1), big->warnings);
    }

    void ok_info_without_session_track()
    {
        // MariaDB: a length-encoded info; MySQL: the rest of the packet.
        ok_packet m = ok_of(captured::insert_untracked);
        CPPUNIT_ASSERT_EQUAL("Records: 2  Duplicates: 0  Warnings: 0"s, std::string(m.info));
        auto mysql = parse_ok("\x00\x02\x01\x02\x00\x00\x00Records: 2"sv, 0);
        CPPUNIT_ASSERT(mysql.ok());
        CPPUNIT_ASSERT_EQUAL("Records: 2"s, std::string(mysql->info));
        // build_ok writes MariaDB's form for such a client.
        CPPUNIT_ASSERT_EQUAL(hex("\x00\x02\x01\x02\x00\x00\x00\x0aRecords: 2"sv), hex(build_ok(*mysql, 0)));
        ok_packet bare;
        bare.status = server_status::autocommit;
        CPPUNIT_ASSERT_EQUAL(hex("\x00\x00\x00\x02\x00\x00\x00"sv), hex(build_ok(bare, 0)));
        CPPUNIT_ASSERT_EQUAL(hex("\x00\x00\x00\x02\x00\x00\x00"sv), hex(build_ok(bare, cap::session_track)));
    }

    void captured_eofs()
    {
        auto ps = payloads(captured::select_eof.answer);
        CPPUNIT_ASSERT_EQUAL(std::size_t(8), ps.size());
        for (std::size_t i : {3, 7}) {
            CPPUNIT_ASSERT(is_eof(ps[i]));
            eof_packet e = parse_eof(ps[i]);
            CPPUNIT_ASSERT_EQUAL(std::uint16_t(0), e.warnings);
            CPPUNIT_ASSERT(e.status & server_status::autocommit);
        }
        for (std::size_t i : {0, 1, 2, 4, 5, 6}) CPPUNIT_ASSERT(!is_eof(ps[i]));
        // The first result of two: SERVER_MORE_RESULTS_EXISTS.
        auto multi = payloads(captured::multi_statement_eof.answer);
        CPPUNIT_ASSERT(parse_eof(multi[4]).status & server_status::more_results);
        CPPUNIT_ASSERT(!(parse_eof(multi.back()).status & server_status::more_results));
        // Cursor flags on the EOF that ends an execute with a cursor, and on fetches.
        CPPUNIT_ASSERT(parse_eof(payloads(captured::execute_cursor_eof.answer).back()).status &
                       server_status::cursor_exists);
        CPPUNIT_ASSERT(parse_eof(payloads(captured::fetch_last_eof.answer).back()).status &
                       server_status::last_row_sent);
        CPPUNIT_ASSERT(parse_eof(payloads(captured::select_in_trans.answer).back()).status & server_status::in_trans);
        // The DEPRECATE_EOF end of rows is an OK with marker 0xfe.
        auto d = parse_ok(payloads(captured::select_deof.answer).back(), captured::select_deof.capabilities);
        CPPUNIT_ASSERT(d.ok());
        CPPUNIT_ASSERT_EQUAL(eof_marker, d->marker);
        // Truncated EOFs read as zeros, never past the end.
        std::string_view eof = ps[3];
        for (std::size_t n = 0; n < eof.size(); ++n) {
            exact_copy copy(eof.substr(0, n));
            CPPUNIT_ASSERT_EQUAL(n > 0, is_eof(copy.view()));
            (void)parse_eof(copy.view());
        }
    }

    void captured_errs()
    {
        for (const auto* e : {&captured::err_no_table, &captured::prepare_err}) {
            auto err = parse_err(payload(e->answer));
            CPPUNIT_ASSERT(err.ok());
            CPPUNIT_ASSERT_EQUAL(std::uint16_t(1146), err->code);
            CPPUNIT_ASSERT_EQUAL("42S02"s, std::string(err->sql_state));
            CPPUNIT_ASSERT_EQUAL("Table 'capture.nosuch' doesn't exist"s, std::string(err->message));
        }
        auto denied = parse_err(payload(captured::access_denied.answer));
        CPPUNIT_ASSERT(denied.ok());
        CPPUNIT_ASSERT_EQUAL(er::access_denied, denied->code);
        CPPUNIT_ASSERT_EQUAL("28000"s, std::string(denied->sql_state));
        CPPUNIT_ASSERT_EQUAL("Access denied for user 'cw'@'127.0.0.1' (using password: YES)"s,
                             std::string(denied->message));
        auto second = parse_err(payloads(captured::multi_statement_err.answer).back());
        CPPUNIT_ASSERT(second.ok());
        CPPUNIT_ASSERT_EQUAL(std::uint16_t(1146), second->code);
        CPPUNIT_ASSERT(!parse_err(payload(captured::ping.answer)).ok());
    }

    void err_build_matches_the_server()
    {
        for (const auto* e : {&captured::err_no_table, &captured::access_denied}) {
            auto err = parse_err(payload(e->answer));
            CPPUNIT_ASSERT(err.ok());
            CPPUNIT_ASSERT_EQUAL(hex(payload(e->answer)), hex(build_err(err->code, err->sql_state, err->message)));
        }
        std::string long_message(600, 'm');
        std::string built = build_err(er::malformed_packet, "HY000", long_message);
        auto back = parse_err(built);   // views into `built`
        CPPUNIT_ASSERT(back.ok());
        CPPUNIT_ASSERT_EQUAL(std::size_t(512), back->message.size());
    }

    void err_truncated_and_pre_41()
    {
        std::string_view whole = payload(captured::err_no_table.answer);
        for (std::size_t n = 0; n < whole.size(); ++n) {
            exact_copy copy(whole.substr(0, n));
            auto err = parse_err(copy.view());
            if (n < 3) {
                CPPUNIT_ASSERT(!err.ok());
                continue;
            }
            CPPUNIT_ASSERT(err.ok());
            CPPUNIT_ASSERT_EQUAL(std::uint16_t(1146), err->code);
            // The state is taken only when all of it is there.
            CPPUNIT_ASSERT_EQUAL(n >= 9 ? "42S02"s : ""s, std::string(err->sql_state));
        }
        // Before the handshake completes (e.g. too many connections) there is no state.
        auto early = parse_err("\xff\x10\x04Too many connections"sv);
        CPPUNIT_ASSERT(early.ok());
        CPPUNIT_ASSERT_EQUAL(er::con_count, early->code);
        CPPUNIT_ASSERT(early->sql_state.empty());
        CPPUNIT_ASSERT_EQUAL("Too many connections"s, std::string(early->message));
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(ok_err_test);
