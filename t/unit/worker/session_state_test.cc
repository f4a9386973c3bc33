// worker::cannot_commit as a table: which statements, run on the primary, may
// answer without a position and still be taken as "nothing written". Every row
// is real SQL through protocol::classify(); forms the classifier was not
// written for must land on "may have committed".
#include <cppunit/extensions/HelperMacros.h>

#include <string>

#include "protocol/classifier.hh"
#include "protocol/ok_err.hh"
#include "worker/session_state.hh"

using namespace causeway;

namespace {

struct row {
    const char* sql;
    bool in_trans;
    bool cannot_commit;
};

constexpr row rows[] = {
    // Reads and session settings that run nothing stored.
    {"SELECT v FROM t WHERE id = 1", false, true},
    {"SET STATEMENT max_statement_time = 1 FOR SELECT * FROM t", false, true},
    {"SET NAMES utf8mb4", false, true},
    {"SET time_zone = '+05:30'", true, true},
    {"SET @x = 5", false, true},
    {"SET SESSION TRANSACTION READ ONLY", false, true},
    {"SET autocommit = 0", false, true},
    {"USE test", false, true},
    {"BEGIN", false, true},
    {"START TRANSACTION READ ONLY", false, true},
    {"ROLLBACK", true, true},
    {"SAVEPOINT a", true, true},
    {"ROLLBACK TO SAVEPOINT a", true, true},
    {"RELEASE SAVEPOINT a", true, true},
    // An open transaction is committed by BEGIN and by autocommit=1.
    {"BEGIN", true, false},
    {"START TRANSACTION", true, false},
    {"SET autocommit = 1", true, false},
    {"SET autocommit = 1, sql_mode = 'ANSI'", true, false},
    // Writes and everything that may switch tracking off or run stored code.
    {"UPDATE t SET v = 1 WHERE id = 1", false, false},
    {"COMMIT", true, false},
    {"SET STATEMENT session_track_system_variables = '' FOR UPDATE t SET v = 1", false, false},
    {"PREPARE s FROM 'UPDATE t SET v = 1'", false, false},
    {"EXECUTE s", false, false},
    {"CALL p(1)", false, false},
    {"SET session_track_system_variables = ''; UPDATE t SET v = 1", false, false},
    {"SELECT f(1)", false, false},
    {"SET @x = f(1)", false, false},
    {"SET @x = (SELECT v FROM t LIMIT 1)", false, false},
    {"DO f(1)", false, false},
    {"CREATE TABLE u (a INT)", false, false},
    {"LOCK TABLES t WRITE", false, false},
    {"XA COMMIT 'x'", false, false},
    {"BEGIN NOT ATOMIC UPDATE t SET v = 1; END", false, false},
    {"SELECT v FROM t FOR UPDATE", false, false},
    {"frobnicate the database", false, false},
};

}   // namespace

class session_state_test : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(session_state_test);
    CPPUNIT_TEST(cannot_commit_table);
    CPPUNIT_TEST(session_id_by_set);
    CPPUNIT_TEST(session_id_by_attribute);
    CPPUNIT_TEST(diagnostics_statements);
    CPPUNIT_TEST(diagnostics_signal_for_a_substituted_error);
    CPPUNIT_TEST(bulk_execute_surgery);
    CPPUNIT_TEST_SUITE_END();

public:
    void cannot_commit_table()
    {
        for (const row& r : rows) {
            protocol::statement_info s = protocol::classify(r.sql);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(std::string(r.sql) + (r.in_trans ? " (in a transaction)" : ""),
                                         r.cannot_commit, worker::cannot_commit(s, r.in_trans));
        }
    }

    void session_id_by_set()
    {
        using worker::session_id_from_set;
        struct {
            const char* sql;
            const char* id;   // nullptr: not the form; "!": a malformed id
        } rows[] = {
            {"SET @causeway_session_id = 'cart-42'", "cart-42"},
            {"set @CAUSEWAY_SESSION_ID:=\"u7\";", "u7"},
            {"  SET  @causeway_session_id=1234  ", "1234"},
            {"SET @causeway_session_id = 'a b'", "!"},
            {"SET @causeway_session_id = ''", "!"},
            {"SET @causeway_session_id = 'x', @y = 1", nullptr},
            {"SET @causeway_session_idx = 'x'", nullptr},
            {"SET @other = 'x'", nullptr},
            {"SELECT @causeway_session_id := 'x'", nullptr},
            {"SET @causeway_session_id = CONCAT('a', 'b')", nullptr},
            {"SET @causeway_session_id = 'unterminated", nullptr},
        };
        for (const auto& r : rows) {
            auto got = session_id_from_set(r.sql);
            if (!r.id) {
                CPPUNIT_ASSERT_MESSAGE(r.sql, !got);
            } else if (std::string(r.id) == "!") {
                CPPUNIT_ASSERT_MESSAGE(r.sql, got && !*got);
            } else {
                CPPUNIT_ASSERT_MESSAGE(r.sql, got && *got);
                CPPUNIT_ASSERT_EQUAL_MESSAGE(r.sql, std::string(r.id), **got);
            }
        }
    }

    void diagnostics_statements()
    {
        for (const char* sql :
             {"SHOW WARNINGS", "show warnings limit 10", "SHOW ERRORS", "SHOW COUNT(*) WARNINGS",
              "  GET DIAGNOSTICS @n = NUMBER", "GET CURRENT DIAGNOSTICS CONDITION 1 @m = MESSAGE_TEXT",
              "SELECT @@warning_count", "select @@session.error_count, 1"})
            CPPUNIT_ASSERT_MESSAGE(sql, worker::reads_diagnostics(sql));
        for (const char* sql : {"SHOW TABLES", "SELECT 1", "SHOW STATUS", "GET_LOCK('x', 0)", "SELECT warnings FROM t"})
            CPPUNIT_ASSERT_MESSAGE(sql, !worker::reads_diagnostics(sql));
        // FOUND_ROWS() and ROW_COUNT() alone read the previous statement's outcome.
        for (const char* sql : {"SELECT FOUND_ROWS()", "select row_count()", "SELECT FOUND_ROWS() AS n FROM DUAL",
                                "SELECT ROW_COUNT(), FOUND_ROWS() + 1"})
            CPPUNIT_ASSERT_MESSAGE(sql, worker::reads_previous_outcome(protocol::classify(sql)));
        for (const char* sql : {"SELECT FOUND_ROWS(), LAST_INSERT_ID()", "SELECT FOUND_ROWS() INTO @n",
                                "SELECT FOUND_ROWS(), v FROM t", "SELECT /* causeway:primary */ FOUND_ROWS()",
                                "SELECT FOUND_ROWS(), @x", "SELECT 1", "SELECT found_rows FROM t"})
            CPPUNIT_ASSERT_MESSAGE(sql, !worker::reads_previous_outcome(protocol::classify(sql)));
    }

    void diagnostics_signal_for_a_substituted_error()
    {
        using namespace std::string_literals;
        const std::string replica_err = protocol::build_err(
            1290, "HY000",
            "The MariaDB server is running with the --read-only option so it cannot execute this statement");
        const std::string as_primary = worker::as_primary_error_in_read_only_transaction(replica_err);
        CPPUNIT_ASSERT_EQUAL(protocol::build_err(1792, "25006", "Cannot execute statement in a READ ONLY transaction"),
                             as_primary);
        CPPUNIT_ASSERT_EQUAL(
            "\x03SIGNAL SQLSTATE '25006' SET MYSQL_ERRNO = 1792, "
            "MESSAGE_TEXT = 'Cannot execute statement in a READ ONLY transaction'"s,
            worker::diagnostics_signal(as_primary));
        CPPUNIT_ASSERT_EQUAL("\x03SIGNAL SQLSTATE '42000' SET MYSQL_ERRNO = 1064, MESSAGE_TEXT = 'near ''x'''"s,
                             worker::diagnostics_signal(protocol::build_err(1064, "42000", "near 'x'")));
        // A backslash would read differently under NO_BACKSLASH_ESCAPES; nothing to send for bad bytes.
        CPPUNIT_ASSERT(worker::diagnostics_signal(protocol::build_err(1064, "42000", "a\\b")).empty());
        CPPUNIT_ASSERT(worker::diagnostics_signal("\x00\x00"s).empty());
    }

    void bulk_execute_surgery()
    {
        using namespace std::string_literals;
        // Statement 7, two parameters (INT, VARCHAR), one row (5, "ab"): with types, then without.
        const std::string row = "\x00\x05\x00\x00\x00\x00\x02"s + "ab";
        const std::string typed = "\xfa\x07\x00\x00\x00\x80\x00\x03\x00\xfd\x00"s + row;
        const std::string bare = "\xfa\x07\x00\x00\x00\x00\x00"s + row;
        worker::bulk_view v = worker::parse_bulk_execute(typed, 2);
        CPPUNIT_ASSERT(v.ok && v.statement_id == 7 && v.types_included);
        CPPUNIT_ASSERT_EQUAL("\x03\x00\xfd\x00"s, std::string(v.types));
        v = worker::parse_bulk_execute(bare, 2);
        CPPUNIT_ASSERT(v.ok && v.statement_id == 7 && !v.types_included && v.types.empty());
        CPPUNIT_ASSERT(!worker::parse_bulk_execute(typed.substr(0, 9), 2).ok);   // types cut short
        CPPUNIT_ASSERT(!worker::parse_bulk_execute("\xfa\x07\x00"s, 2).ok);
        // Another backend's id; the types it never saw go in with their flag, the row untouched.
        CPPUNIT_ASSERT_EQUAL("\xfa\x2a\x00\x00\x00\x80\x00\x03\x00\xfd\x00"s + row,
                             worker::rewrite_bulk_execute(bare, 2, 42, "\x03\x00\xfd\x00"s));
        // The client's own types stay: only the id changes.
        CPPUNIT_ASSERT_EQUAL("\xfa\x2a\x00\x00\x00\x80\x00\x03\x00\xfd\x00"s + row,
                             worker::rewrite_bulk_execute(typed, 2, 42, "\x08\x00\x08\x00"s));
        CPPUNIT_ASSERT_EQUAL("\xfa\x2a\x00\x00\x00\x00\x00"s + row, worker::rewrite_bulk_execute(bare, 2, 42, ""));
    }

    void session_id_by_attribute()
    {
        auto attrs = [](std::initializer_list<std::pair<std::string, std::string>> kv) {
            std::string out;
            for (const auto& [k, v] : kv) out += char(k.size()) + k + char(v.size()) + v;
            return out;
        };
        auto id =
            worker::session_id_from_attributes(attrs({{"_client_name", "libmariadb"}, {"causeway_session_id", "s1"}}));
        CPPUNIT_ASSERT(id && *id == "s1");
        id = worker::session_id_from_attributes(attrs({{"_client_name", "libmariadb"}}));
        CPPUNIT_ASSERT(id && id->empty());
        id = worker::session_id_from_attributes(attrs({{"causeway_session_id", "a?b"}}));
        CPPUNIT_ASSERT(!id);
        id = worker::session_id_from_attributes(std::string("\x05") + "ab");   // truncated: nothing found
        CPPUNIT_ASSERT(id && id->empty());
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(session_state_test);
