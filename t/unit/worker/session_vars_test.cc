// worker/session_vars as tables: which reported session variables are carried
// to replica connections and how they are written; which SETs assign a user
// variable (no report names those); the tracking-lists answer.
#include <cppunit/extensions/HelperMacros.h>

#include <string>

#include "worker/session_vars.hh"

using namespace causeway::worker;

class session_vars_test : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(session_vars_test);
    CPPUNIT_TEST(action_per_variable);
    CPPUNIT_TEST(replay_statements);
    CPPUNIT_TEST(user_variable_assignments);
    CPPUNIT_TEST(tracking_lists_answer);
    CPPUNIT_TEST(statements_that_may_read_the_list);
    CPPUNIT_TEST_SUITE_END();

public:
    void action_per_variable()
    {
        struct {
            const char* name;
            tracked_action action;
        } rows[] = {
            // What a read returns depends on them: carried.
            {"sql_mode", tracked_action::replay},
            {"div_precision_increment", tracked_action::replay},
            {"group_concat_max_len", tracked_action::replay},
            {"time_zone", tracked_action::replay},
            {"character_set_results", tracked_action::replay},
            {"tx_isolation", tracked_action::replay},
            {"max_statement_time", tracked_action::replay},
            {"SQL_SELECT_LIMIT", tracked_action::replay},
            // Followed from the text and the OK's status, or our own tracking.
            {"autocommit", tracked_action::handled},
            {"in_transaction", tracked_action::handled},
            {"transaction_read_only", tracked_action::handled},
            {"tx_read_only", tracked_action::handled},
            {"last_gtid", tracked_action::handled},
            {"session_track_system_variables", tracked_action::handled},
            // The binlog, the next insert, RAND(): nothing a replica read shows.
            {"sql_log_bin", tracked_action::ignore},
            {"gtid_domain_id", tracked_action::ignore},
            {"gtid_seq_no", tracked_action::ignore},
            {"server_id", tracked_action::ignore},
            {"insert_id", tracked_action::ignore},
            {"last_insert_id", tracked_action::ignore},
            {"rand_seed1", tracked_action::ignore},
            {"pseudo_thread_id", tracked_action::ignore},
            {"binlog_format", tracked_action::ignore},
            {"wsrep_on", tracked_action::ignore},
            // SHOW PROFILES must run where the statements ran.
            {"profiling", tracked_action::profiling},
            // Reported wrong after SET timestamp = DEFAULT: the primary decides.
            {"timestamp", tracked_action::primary_only},
            // Not a name we would dare to write back.
            {"odd name", tracked_action::primary_only},
            {"", tracked_action::primary_only},
        };
        for (const auto& r : rows)
            CPPUNIT_ASSERT_EQUAL_MESSAGE(r.name, int(r.action), int(tracked_variable_action(r.name)));
    }

    void replay_statements()
    {
        using namespace std::literals;
        CPPUNIT_ASSERT_EQUAL("\x03SET @@session.sql_mode = 'PIPES_AS_CONCAT,ANSI_QUOTES'"s,
                             *replay_set("sql_mode", "PIPES_AS_CONCAT,ANSI_QUOTES"));
        CPPUNIT_ASSERT_EQUAL("\x03SET @@session.sql_mode = ''"s, *replay_set("sql_mode", ""));
        // Numeric variables refuse a quoted value (ERR 1232).
        CPPUNIT_ASSERT_EQUAL("\x03SET @@session.div_precision_increment = 10"s,
                             *replay_set("div_precision_increment", "10"));
        CPPUNIT_ASSERT_EQUAL("\x03SET @@session.long_query_time = 1.500000"s,
                             *replay_set("long_query_time", "1.500000"));
        CPPUNIT_ASSERT_EQUAL("\x03SET @@session.max_sort_length = -1"s, *replay_set("max_sort_length", "-1"));
        CPPUNIT_ASSERT_EQUAL("\x03SET @@session.time_zone = '+05:30'"s, *replay_set("time_zone", "+05:30"));
        CPPUNIT_ASSERT_EQUAL("\x03SET @@session.lc_time_names = '1.'"s, *replay_set("lc_time_names", "1."));
        CPPUNIT_ASSERT_EQUAL("\x03SET @@session.init_connect = 'it''s'"s, *replay_set("init_connect", "it's"));
        // Backslashes and NUL bytes cannot be written without knowing sql_mode.
        CPPUNIT_ASSERT(!replay_set("sql_mode", "a\\b"));
        CPPUNIT_ASSERT(!replay_set("sql_mode", "a\0b"sv));
        // Only variables whose action is replay.
        CPPUNIT_ASSERT(!replay_set("autocommit", "OFF"));
        CPPUNIT_ASSERT(!replay_set("timestamp", "1000.000000"));
        CPPUNIT_ASSERT(!replay_set("sql_log_bin", "OFF"));
    }

    void user_variable_assignments()
    {
        struct {
            const char* sql;
            bool assigns;
        } rows[] = {
            {"SET @@session.div_precision_increment = ?", false},
            {"SET time_zone = ?", false},
            {"SET SESSION sql_mode = ?, @@group_concat_max_len = ?", false},
            {"set local sql_select_limit = ?", false},
            {"SET sql_mode = CONCAT(@x, ?)", false},   // reads @x, assigns a system variable
            {"SET @x = ?", true},
            {"SET @`x y` = ?", true},
            {"SET time_zone = ?, @x = ?", true},
            {"SET sql_mode = IF(?, 'a', 'b'), @y := ?", true},
            {"SET /* c */ @x = ?", true},
            // Doubt: unterminated, not a SET at all.
            {"SET time_zone = '?", true},
            {"SELECT ?", true},
            {"", true},
        };
        for (const auto& r : rows) CPPUNIT_ASSERT_EQUAL_MESSAGE(r.sql, r.assigns, set_assigns_user_variable(r.sql));
    }

    void tracking_lists_answer()
    {
        auto l = parse_tracking_lists("*;autocommit,time_zone");
        CPPUNIT_ASSERT(l);
        CPPUNIT_ASSERT_EQUAL(std::string("*"), l->session);
        CPPUNIT_ASSERT_EQUAL(std::string("autocommit,time_zone"), l->global);
        l = parse_tracking_lists(";");
        CPPUNIT_ASSERT(l && l->session.empty() && l->global.empty());
        CPPUNIT_ASSERT(!parse_tracking_lists("autocommit"));
    }

    void statements_that_may_read_the_list()
    {
        CPPUNIT_ASSERT(may_read_tracking_list("SELECT @@session_track_system_variables"));
        CPPUNIT_ASSERT(may_read_tracking_list("select @@SESSION.SESSION_TRACK_SYSTEM_VARIABLES"));
        CPPUNIT_ASSERT(may_read_tracking_list("SHOW VARIABLES LIKE 'session_track%'"));
        CPPUNIT_ASSERT(may_read_tracking_list("show session variables"));
        CPPUNIT_ASSERT(may_read_tracking_list("SELECT * FROM information_schema.SESSION_VARIABLES"));
        CPPUNIT_ASSERT(!may_read_tracking_list("SELECT c FROM sbtest1 WHERE id=5"));
        CPPUNIT_ASSERT(!may_read_tracking_list("SELECT 'variable'"));
        CPPUNIT_ASSERT(!may_read_tracking_list(""));
        CPPUNIT_ASSERT(!may_read_tracking_list("ariables"));
        CPPUNIT_ASSERT(!may_read_tracking_list("SELECT name FROM app_variables"));
        CPPUNIT_ASSERT(!may_read_tracking_list("SELECT * FROM variables"));
        CPPUNIT_ASSERT(may_read_tracking_list("  SHOW GLOBAL VARIABLES"));
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(session_vars_test);
