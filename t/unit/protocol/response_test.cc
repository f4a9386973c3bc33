// The result-set state machine driven through every captured answer packet by
// packet: the role of each packet, done() exactly after the last one, the
// status flags it reports; fed whole and fed as the relay does (first byte
// only where needs_whole_packet() says so). Then LOAD DATA LOCAL, cursors,
// and synthetic cases the server would not produce on demand.
#include <cppunit/extensions/HelperMacros.h>

#include <map>
#include <random>

#include "protocol/ok_err.hh"
#include "protocol/response.hh"
#include "t/unit/protocol/captured.hh"
#include "t/unit/protocol/wire.hh"

using namespace causeway::protocol;
using namespace std::literals;
using causeway::protocol::test::exact_copy;
using causeway::protocol::test::payload;
using causeway::protocol::test::split_wire;

namespace {

char letter(packet_role r)
{
    switch (r) {
        case packet_role::data: return 'D';
        case packet_role::ok: return 'O';
        case packet_role::eof: return 'E';
        case packet_role::err: return 'R';
        case packet_role::local_infile: return 'L';
        case packet_role::prepare_ok: return 'P';
        case packet_role::malformed: return 'M';
    }
    return '?';
}

struct run_result {
    std::string roles;
    bool done_early = false;   // done() before the last packet
    bool done_at_end = false;
    std::uint16_t status = 0;
};

// Feeds the answer's packets; `minimal` passes only the first byte of packets
// the tracker does not need whole, as the relay does for rows.
run_result drive(response_tracker& t, std::string_view answer, bool minimal)
{
    run_result r;
    auto packets = split_wire(answer);
    for (std::size_t i = 0; i < packets.size(); ++i) {
        if (t.done()) r.done_early = true;
        const auto& p = packets[i];
        bool whole = t.needs_whole_packet(std::uint8_t(p.payload[0]), p.length);
        exact_copy copy(minimal && !whole ? p.payload.substr(0, 1) : p.payload);
        r.roles += letter(t.on_packet(copy.view(), p.length));
    }
    r.done_at_end = t.done();
    r.status = t.status();
    return r;
}

run_result drive(const captured::exchange& e, bool minimal)
{
    response_tracker t;
    t.begin(command(e.command), e.capabilities);
    return drive(t, e.answer, minimal);
}

// "DDE*E": '*' stands for any number of 'D'.
bool roles_match(const std::string& pattern, const std::string& roles)
{
    auto star = pattern.find('*');
    if (star == std::string::npos) return pattern == roles;
    std::string head = pattern.substr(0, star), tail = pattern.substr(star + 1);
    if (roles.size() < head.size() + tail.size()) return false;
    if (!roles.starts_with(head) || !roles.ends_with(tail)) return false;
    return roles.substr(head.size(), roles.size() - head.size() - tail.size()).find_first_not_of('D') ==
        std::string::npos;
}

struct expectation {
    const char* roles;
    std::uint16_t status_set = 0;   // flags the last OK/EOF must carry
    std::uint16_t status_clear = 0;   // and must not
};

using namespace server_status;

// D data, O ok, E eof, R err, L local_infile, P prepare_ok. Every captured
// answer to a command has a line here.
const std::map<std::string, expectation> expected = {
    {"set_track_gtid", {"O", autocommit}},
    {"insert_tracked", {"O", autocommit | session_state_changed}},
    {"select_eof", {"DDDEDDDE", autocommit}},
    {"select_empty_eof", {"DDDEE", autocommit}},
    {"multi_statement_eof", {"DDEDEDDEDE", autocommit, more_results}},
    {"multi_statement_err", {"DDEDER", autocommit | more_results}},   // the ERR ends it; status from the EOF before
    {"multi_statement_ok_first", {"ODDEDE", autocommit, more_results}},
    {"call_eof", {"DDEDEDDEDEO", autocommit, more_results}},
    {"err_no_table", {"R"}},
    {"begin", {"O", in_trans | autocommit}},
    {"select_in_trans", {"DDEDE", in_trans}},
    {"insert_in_trans", {"O", in_trans, session_state_changed}},
    {"commit", {"O", autocommit | session_state_changed, in_trans}},
    {"autocommit_off", {"O", 0, autocommit}},
    {"autocommit_on", {"O", autocommit}},
    {"init_db", {"O", session_state_changed}},
    {"ping", {"O", autocommit}},
    {"statistics", {"D"}},
    {"field_list_eof", {"DDE", autocommit}},
    {"set_option_eof", {"E", autocommit}},
    {"load_data_request", {"L"}},
    {"prepare_select_eof", {"PDEDDE"}},
    {"prepare_insert_eof", {"PDE"}},
    {"prepare_no_params_eof", {"PDE"}},
    {"prepare_call_eof", {"P"}},
    {"prepare_err", {"R"}},
    {"execute_eof", {"DDDEDDDE", autocommit, cursor_exists}},
    {"execute_cursor_eof", {"DDDE", cursor_exists}},
    {"fetch_first_eof", {"DDE", cursor_exists, last_row_sent}},
    {"select_while_cursor_open_eof", {"DDEDE", autocommit, cursor_exists}},   // the flag is per command
    {"fetch_last_eof", {"DE", last_row_sent}},
    {"execute_cursor_empty_eof", {"DDDE", cursor_exists}},
    {"fetch_after_empty_eof", {"E", last_row_sent}},
    {"execute_insert_cursor", {"O", session_state_changed, cursor_exists}},
    {"execute_call_eof", {"DDEDEDDEDEO", autocommit, more_results}},
    {"execute_no_params_eof", {"DDEDE", autocommit}},
    {"stmt_reset", {"O"}},
    {"reset_connection", {"O"}},
    {"process_info", {"DDDDDDDDDDE*E", autocommit}},
    {"refresh", {"O"}},
    {"debug", {"E"}},
    // Stored programs with an open cursor (B6): every EOF carries CURSOR_EXISTS, rows follow.
    {"compound_for_loop_eof", {"DDEDEDDEDEO", autocommit | session_state_changed, more_results}},
    {"compound_cursor_eof", {"DDEDEO", autocommit, more_results}},
    {"execute_call_cursor_flag_eof", {"DDEDEDDEDEO", autocommit, more_results}},
    {"select_deof", {"DDDDDDO", autocommit}},
    {"select_empty_deof", {"DDDO", autocommit}},
    {"multi_statement_deof", {"DDDODDDO", autocommit, more_results}},
    {"multi_statement_ok_first_deof", {"ODDDO", autocommit, more_results}},
    {"call_deof", {"DDDODDDOO", autocommit, more_results}},
    {"field_list_deof", {"DDO", autocommit}},
    {"set_option_deof", {"O", autocommit}},
    {"debug_deof", {"O", autocommit}},
    {"process_info_deof", {"DDDDDDDDDD*O", autocommit}},
    {"prepare_select_deof", {"PDDD"}},
    {"prepare_insert_deof", {"PD"}},
    {"prepare_call_deof", {"P"}},
    {"execute_deof", {"DDDDDDO", autocommit}},
    {"execute_cursor_deof", {"DDDO", cursor_exists}},
    {"fetch_first_deof", {"DDO", cursor_exists, last_row_sent}},
    {"fetch_last_deof", {"DO", last_row_sent}},
    {"execute_cursor_empty_deof", {"DDDO", cursor_exists}},
    {"execute_call_deof", {"DDDODDDOO", autocommit, more_results}},
    {"compound_for_loop_deof", {"DDDODDDOO", autocommit, more_results}},
    {"set_autocommit_tracked_deof", {"O", session_state_changed, autocommit}},
    {"insert_untracked", {"O", autocommit}},
    {"set_autocommit_untracked", {"O", 0, autocommit}},
};

bool tracked_by_response_tracker(const captured::exchange& e)
{
    // COM_CHANGE_USER is a second login (client_auth.cc), not a response.
    return e.command && e.command != std::uint8_t(command::change_user) && !e.answer.empty();
}

std::string ok_form(std::uint16_t status, std::string_view tail = {})
{
    std::string p = "\xfe\x00\x00"s;
    p += char(status & 0xff);
    p += char(status >> 8);
    p += "\x00\x00"s;
    p += tail;
    return p;
}

}   // namespace

class response_test : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(response_test);
    CPPUNIT_TEST(every_captured_answer_ends_at_its_last_packet);
    CPPUNIT_TEST(relay_feeding_gives_the_same_roles);
    CPPUNIT_TEST(every_prefix_of_an_answer_is_not_done);
    CPPUNIT_TEST(multi_results_report_more_results_between_sets);
    CPPUNIT_TEST(load_data_local_infile);
    CPPUNIT_TEST(prepare_reports_the_statement_id);
    CPPUNIT_TEST(cursor_execute_then_fetches);
    CPPUNIT_TEST(commands_without_an_answer);
    CPPUNIT_TEST(err_ends_rows_and_columns_eof_must_be_eof);
    CPPUNIT_TEST(big_rows_that_start_with_fe_are_rows);
    CPPUNIT_TEST(deprecate_eof_ok_form_as_a_first_packet);
    CPPUNIT_TEST(warnings_of_the_last_terminator);
    CPPUNIT_TEST(packets_after_done_or_empty_are_malformed);
    CPPUNIT_TEST(result_set_for_a_command_that_has_none_is_malformed);
    CPPUNIT_TEST(random_packet_sequences_never_crash);
    CPPUNIT_TEST_SUITE_END();

public:
    void every_captured_answer_ends_at_its_last_packet()
    {
        int checked = 0;
        for (const auto& e : captured::all) {
            if (!tracked_by_response_tracker(e)) continue;
            auto it = expected.find(e.name);
            CPPUNIT_ASSERT_MESSAGE(std::string("no expectation for ") + e.name, it != expected.end());
            run_result r = drive(e, false);
            std::string what = std::string(e.name) + ": roles " + r.roles + ", expected " + it->second.roles;
            CPPUNIT_ASSERT_MESSAGE(what, roles_match(it->second.roles, r.roles));
            CPPUNIT_ASSERT_MESSAGE(what + " (done before the last packet)", !r.done_early);
            bool infile = r.roles == "L";
            CPPUNIT_ASSERT_MESSAGE(what + " (not done after the last packet)", r.done_at_end != infile);
            CPPUNIT_ASSERT_MESSAGE(what + " (status)", (r.status & it->second.status_set) == it->second.status_set);
            CPPUNIT_ASSERT_MESSAGE(what + " (status)", !(r.status & it->second.status_clear));
            ++checked;
        }
        CPPUNIT_ASSERT_EQUAL(int(expected.size()), checked);
    }

    void relay_feeding_gives_the_same_roles()
    {
        for (const auto& e : captured::all) {
            if (!tracked_by_response_tracker(e)) continue;
            run_result whole = drive(e, false), minimal = drive(e, true);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(e.name, whole.roles, minimal.roles);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(e.name, whole.done_at_end, minimal.done_at_end);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(e.name, whole.status, minimal.status);
        }
    }

    void every_prefix_of_an_answer_is_not_done()
    {
        // An answer cut after any packet but the last leaves the tracker waiting.
        for (const auto& e : captured::all) {
            if (!tracked_by_response_tracker(e)) continue;
            auto packets = split_wire(e.answer);
            std::size_t offset = 0;
            for (std::size_t k = 0; k + 1 < packets.size(); ++k) {
                offset += header_size + packets[k].length;
                response_tracker t;
                t.begin(command(e.command), e.capabilities);
                run_result r = drive(t, e.answer.substr(0, offset), false);
                CPPUNIT_ASSERT_MESSAGE(std::string(e.name) + " after " + std::to_string(k + 1), !r.done_at_end);
            }
        }
    }

    void multi_results_report_more_results_between_sets()
    {
        for (const auto* e : {&captured::multi_statement_eof, &captured::call_eof, &captured::multi_statement_deof,
                              &captured::call_deof, &captured::execute_call_eof, &captured::execute_call_deof,
                              &captured::multi_statement_ok_first, &captured::multi_statement_ok_first_deof}) {
            response_tracker t;
            t.begin(command(e->command), e->capabilities);
            int ends = 0;
            auto packets = split_wire(e->answer);
            for (std::size_t i = 0; i < packets.size(); ++i) {
                packet_role role = t.on_packet(packets[i].payload, packets[i].length);
                if (role == packet_role::data || role == packet_role::malformed) continue;
                bool last = i + 1 == packets.size();
                // Only the end of rows of a set counts (not the classic EOF after columns).
                if (last || (t.status() & server_status::more_results)) {
                    ++ends;
                    CPPUNIT_ASSERT_EQUAL_MESSAGE(e->name, last, t.done());
                    CPPUNIT_ASSERT_EQUAL_MESSAGE(e->name, !last, bool(t.status() & server_status::more_results));
                }
            }
            CPPUNIT_ASSERT_MESSAGE(e->name, ends >= 2);
            CPPUNIT_ASSERT(t.done());
        }
    }

    void load_data_local_infile()
    {
        response_tracker t;
        t.begin(command::query, captured::load_data_request.capabilities);
        auto request = split_wire(captured::load_data_request.answer);
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), request.size());
        CPPUNIT_ASSERT(t.needs_whole_packet(local_infile_marker, request[0].length));
        CPPUNIT_ASSERT(t.on_packet(request[0].payload, request[0].length) == packet_role::local_infile);
        CPPUNIT_ASSERT_EQUAL("rows.txt"s, std::string(request[0].payload.substr(1)));
        CPPUNIT_ASSERT(t.awaiting_client_data());
        CPPUNIT_ASSERT(!t.done());
        // The server says nothing until the file's empty packet: anything now is wrong.
        {
            response_tracker early = t;
            auto ok = split_wire(captured::load_data_ok.answer);
            CPPUNIT_ASSERT(early.on_packet(ok[0].payload, ok[0].length) == packet_role::malformed);
        }
        // The client's packets: the file, then an empty one.
        auto file = split_wire(captured::load_data_ok.request);
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), file.size());
        CPPUNIT_ASSERT_EQUAL(std::uint32_t(0), file.back().length);
        t.local_infile_sent();
        CPPUNIT_ASSERT(!t.awaiting_client_data());
        run_result r = drive(t, captured::load_data_ok.answer, false);
        CPPUNIT_ASSERT_EQUAL("O"s, r.roles);
        CPPUNIT_ASSERT(r.done_at_end);
        CPPUNIT_ASSERT(r.status & server_status::session_state_changed);
        // A file the server refuses ends with an ERR after the empty packet.
        response_tracker refused;
        refused.begin(command::query, captured::load_data_request.capabilities);
        CPPUNIT_ASSERT(refused.on_packet(request[0].payload, request[0].length) == packet_role::local_infile);
        refused.local_infile_sent();
        std::string err = build_err(1062, "23000", "Duplicate entry");
        CPPUNIT_ASSERT(refused.on_packet(err, std::uint32_t(err.size())) == packet_role::err);
        CPPUNIT_ASSERT(refused.done());
        // 0xfb answers only a COM_QUERY.
        response_tracker other;
        other.begin(command::stmt_execute, captured::load_data_request.capabilities);
        CPPUNIT_ASSERT(other.on_packet(request[0].payload, request[0].length) == packet_role::malformed);
    }

    void prepare_reports_the_statement_id()
    {
        for (const auto* e :
             {&captured::prepare_select_eof, &captured::prepare_insert_eof, &captured::prepare_no_params_eof,
              &captured::prepare_call_eof, &captured::prepare_select_deof, &captured::prepare_insert_deof,
              &captured::prepare_call_deof}) {
            response_tracker t;
            t.begin(command::stmt_prepare, e->capabilities);
            drive(t, e->answer, false);
            std::string_view ok = payload(e->answer);
            std::uint32_t id = std::uint8_t(ok[1]) | std::uint8_t(ok[2]) << 8 | std::uint8_t(ok[3]) << 16 |
                std::uint32_t(std::uint8_t(ok[4])) << 24;
            CPPUNIT_ASSERT_EQUAL_MESSAGE(e->name, id, t.statement_id());
            CPPUNIT_ASSERT(id != 0);
        }
        // The execute requests name the prepared ids.
        CPPUNIT_ASSERT_EQUAL(payload(captured::prepare_select_eof.answer).substr(1, 4),
                             payload(captured::execute_cursor_eof.request).substr(1, 4));
        // A truncated COM_STMT_PREPARE_OK is malformed.
        std::string_view ok = payload(captured::prepare_select_eof.answer);
        for (std::size_t n = 1; n < 9; ++n) {
            response_tracker t;
            t.begin(command::stmt_prepare, captured::prepare_select_eof.capabilities);
            exact_copy copy(ok.substr(0, n));
            CPPUNIT_ASSERT(t.on_packet(copy.view(), std::uint32_t(n)) == packet_role::malformed);
        }
    }

    void cursor_execute_then_fetches()
    {
        // Verified against MariaDB 10.11: with CURSOR_TYPE_READ_ONLY the execute
        // answer is the column count, the definitions and one EOF (classic) or
        // one 0xfe OK (DEPRECATE_EOF) with SERVER_STATUS_CURSOR_EXISTS, even
        // over no rows; rows come only with COM_STMT_FETCH, each fetch ending
        // with EOF/OK carrying CURSOR_EXISTS, the last with LAST_ROW_SENT.
        for (const auto* e : {&captured::execute_cursor_eof, &captured::execute_cursor_deof,
                              &captured::execute_cursor_empty_eof, &captured::execute_cursor_empty_deof}) {
            auto packets = split_wire(e->answer);
            std::uint8_t columns = std::uint8_t(packets[0].payload[0]);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(e->name, std::size_t(1 + columns + 1), packets.size());
            std::string_view end = packets.back().payload;
            CPPUNIT_ASSERT_EQUAL(eof_marker, std::uint8_t(end[0]));
            CPPUNIT_ASSERT_EQUAL_MESSAGE(
                e->name, (e->capabilities & cap::deprecate_eof) ? std::size_t(7) : std::size_t(5), end.size());
            run_result r = drive(*e, false);
            CPPUNIT_ASSERT(r.done_at_end);
            CPPUNIT_ASSERT(r.status & server_status::cursor_exists);
        }
        // No cursor: the rows follow the metadata.
        CPPUNIT_ASSERT_EQUAL(std::size_t(8), split_wire(captured::execute_eof.answer).size());
        run_result first = drive(captured::fetch_first_eof, false), last = drive(captured::fetch_last_eof, false);
        CPPUNIT_ASSERT(first.status & server_status::cursor_exists);
        CPPUNIT_ASSERT(!(first.status & server_status::last_row_sent));
        CPPUNIT_ASSERT(last.status & server_status::last_row_sent);
        CPPUNIT_ASSERT(!(last.status & server_status::cursor_exists));
    }

    void commands_without_an_answer()
    {
        for (command c : {command::quit, command::stmt_close, command::stmt_send_long_data}) {
            response_tracker t;
            t.begin(c, 0);
            CPPUNIT_ASSERT(t.done());
            CPPUNIT_ASSERT(!t.status_seen());
        }
        CPPUNIT_ASSERT(captured::stmt_close.answer.empty());
    }

    void err_ends_rows_and_columns_eof_must_be_eof()
    {
        // An error while rows stream (the query was killed).
        auto packets = split_wire(captured::select_eof.answer);
        std::string err = build_err(1317, "70100", "Query execution was interrupted");
        response_tracker t;
        t.begin(command::query, captured::select_eof.capabilities);
        for (std::size_t i = 0; i < 5; ++i) t.on_packet(packets[i].payload, packets[i].length);
        CPPUNIT_ASSERT(t.needs_whole_packet(err_marker, std::uint32_t(err.size())));
        CPPUNIT_ASSERT(t.on_packet(err, std::uint32_t(err.size())) == packet_role::err);
        CPPUNIT_ASSERT(t.done());
        // Classic mode: a row where the EOF after the columns belongs is malformed.
        response_tracker c;
        c.begin(command::query, captured::select_eof.capabilities);
        for (std::size_t i = 0; i < 3; ++i) c.on_packet(packets[i].payload, packets[i].length);
        CPPUNIT_ASSERT(c.on_packet(packets[4].payload, packets[4].length) == packet_role::malformed);
        // Same after COM_STMT_PREPARE's parameters and columns.
        auto prep = split_wire(captured::prepare_select_eof.answer);
        for (std::size_t at : {2, 5}) {
            response_tracker p;
            p.begin(command::stmt_prepare, captured::prepare_select_eof.capabilities);
            for (std::size_t i = 0; i < at; ++i) p.on_packet(prep[i].payload, prep[i].length);
            CPPUNIT_ASSERT(p.on_packet(prep[1].payload, prep[1].length) == packet_role::malformed);
        }
    }

    void big_rows_that_start_with_fe_are_rows()
    {
        for (const auto* e : {&captured::select_eof, &captured::select_deof}) {
            auto packets = split_wire(e->answer);
            bool deprecate_eof = e->capabilities & cap::deprecate_eof;
            response_tracker t;
            t.begin(command::query, e->capabilities);
            std::size_t metadata = deprecate_eof ? 3 : 4;
            for (std::size_t i = 0; i < metadata; ++i) t.on_packet(packets[i].payload, packets[i].length);
            // A text row whose first value is >= 16 MiB starts with 0xfe (an
            // 8-byte lenenc) and fills a whole 16 MiB chunk: not the end.
            CPPUNIT_ASSERT(!t.needs_whole_packet(eof_marker, max_payload));
            CPPUNIT_ASSERT(t.on_packet("\xfe"sv, max_payload) == packet_role::data);
            CPPUNIT_ASSERT(!t.done());
            // Classic mode: 0xfe with 9 bytes or more is a row too.
            if (!deprecate_eof) {
                CPPUNIT_ASSERT(t.on_packet("\xfe\x00\x00\x00\x01\x00\x00\x00\x00"sv, 9) == packet_role::data);
                CPPUNIT_ASSERT(!t.done());
            }
            CPPUNIT_ASSERT(t.on_packet(packets.back().payload, packets.back().length) != packet_role::data);
            CPPUNIT_ASSERT(t.done());
        }
        CPPUNIT_ASSERT(!is_end_of_rows("\xfe"sv, max_payload, true));
        CPPUNIT_ASSERT(is_end_of_rows("\xfe"sv, max_payload - 1, true));
        CPPUNIT_ASSERT(!is_end_of_rows("\xfe"sv, 9, false));
        CPPUNIT_ASSERT(is_end_of_rows("\xfe"sv, 8, false));
        CPPUNIT_ASSERT(!is_end_of_rows(""sv, 5, false));
        CPPUNIT_ASSERT(!is_end_of_rows("\x00"sv, 7, true));
    }

    void deprecate_eof_ok_form_as_a_first_packet()
    {
        // With DEPRECATE_EOF the server ends a command that answers with "EOF"
        // (COM_SET_OPTION, COM_DEBUG) with the OK form 0xfe, which can carry
        // info and session state and so be 9 bytes or longer.
        std::uint32_t caps = captured::set_option_deof.capabilities;
        std::string entry =
            "\x0a"
            "autocommit\x03"
            "OFF"s;
        std::string block = "\x00"s + char(entry.size()) + entry;   // SESSION_TRACK_SYSTEM_VARIABLES
        std::string ok = ok_form(server_status::session_state_changed, "\x00"s + char(block.size()) + block);
        CPPUNIT_ASSERT(ok.size() >= 9);
        for (command c : {command::set_option, command::debug, command::query}) {
            response_tracker t;
            t.begin(c, caps);
            CPPUNIT_ASSERT(t.on_packet(ok, std::uint32_t(ok.size())) == packet_role::ok);
            CPPUNIT_ASSERT(t.done());
            CPPUNIT_ASSERT_EQUAL(server_status::session_state_changed, t.status());
        }
        // The OK form reports warnings and status where they are.
        response_tracker w;
        w.begin(command::set_option, caps);
        std::string warned = "\xfe\x01\x00\x02\x00\x03\x00"s;
        CPPUNIT_ASSERT(w.on_packet(warned, 7) == packet_role::ok);
        CPPUNIT_ASSERT_EQUAL(server_status::autocommit, w.status());
    }

    // pool_mode = statement keeps a replica connection whose last answer left
    // warnings (SHOW WARNINGS goes there next): the tracker reports them.
    void warnings_of_the_last_terminator()
    {
        response_tracker t;
        t.begin(command::query, captured::select_eof.capabilities);
        std::string ok = "\x00\x00\x00\x02\x00\x03\x00"s;   // affected 0, id 0, autocommit, 3 warnings
        CPPUNIT_ASSERT(t.on_packet(ok, std::uint32_t(ok.size())) == packet_role::ok);
        CPPUNIT_ASSERT_EQUAL(std::uint16_t(3), t.warnings());
        // Classic EOF after rows: warnings come before the status.
        auto packets = split_wire(captured::select_eof.answer);
        t.begin(command::query, captured::select_eof.capabilities);
        CPPUNIT_ASSERT_EQUAL(std::uint16_t(0), t.warnings());   // begin() forgets the last answer's
        for (std::size_t i = 0; i + 1 < packets.size(); ++i) t.on_packet(packets[i].payload, packets[i].length);
        std::string eof = "\xfe\x01\x00\x02\x00"s;
        CPPUNIT_ASSERT(t.on_packet(eof, 5) == packet_role::eof);
        CPPUNIT_ASSERT(t.done());
        CPPUNIT_ASSERT_EQUAL(std::uint16_t(1), t.warnings());
    }

    void packets_after_done_or_empty_are_malformed()
    {
        response_tracker t;
        CPPUNIT_ASSERT(t.done());
        CPPUNIT_ASSERT(t.on_packet(payload(captured::ping.answer), 7) == packet_role::malformed);
        t.begin(command::query, 0);
        CPPUNIT_ASSERT(t.on_packet(""sv, 0) == packet_role::malformed);
        t.begin(command::ping, 0);
        CPPUNIT_ASSERT(t.on_packet(payload(captured::ping.answer), 7) == packet_role::ok);
        CPPUNIT_ASSERT(t.on_packet(payload(captured::ping.answer), 7) == packet_role::malformed);
    }

    void result_set_for_a_command_that_has_none_is_malformed()
    {
        for (command c : {command::ping, command::init_db, command::stmt_reset, command::reset_connection}) {
            response_tracker t;
            t.begin(c, 0);
            CPPUNIT_ASSERT(t.on_packet("\x01"sv, 1) == packet_role::malformed);
        }
        response_tracker zero;
        zero.begin(command::query, 0);
        CPPUNIT_ASSERT(zero.on_packet("\xfc\x00\x00"sv, 3) == packet_role::malformed);   // zero columns
    }

    void random_packet_sequences_never_crash()
    {
        std::vector<std::pair<std::string_view, std::uint32_t>> pool;
        for (const auto& e : captured::all)
            for (const auto& p : split_wire(e.answer)) pool.emplace_back(p.payload, p.length);
        static const command commands[] = {command::query,      command::stmt_prepare, command::stmt_execute,
                                           command::stmt_fetch, command::field_list,   command::statistics,
                                           command::set_option, command::process_info, command::ping};
        std::mt19937 rng(7);
        for (int round = 0; round < 20000; ++round) {
            response_tracker t;
            t.begin(commands[rng() % std::size(commands)], rng() % 2 ? cap::deprecate_eof : 0);
            for (int i = 0; i < 12 && !t.done(); ++i) {
                if (t.awaiting_client_data()) t.local_infile_sent();
                auto [p, len] = pool[rng() % pool.size()];
                std::size_t cut = rng() % 4 == 0 ? rng() % (p.size() + 1) : p.size();
                exact_copy copy(p.substr(0, cut));
                if (t.on_packet(copy.view(), std::uint32_t(cut)) == packet_role::malformed) break;
            }
        }
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(response_test);
