// worker/answer_rows as tables: the Compression status row of SHOW STATUS and
// information_schema's SESSION_STATUS / GLOBAL_STATUS says ON for a
// compressing client (text and binary rows, any column order), other rows and
// other tables stay; session_track_system_variables rows show the client's
// list instead of the primary connection's '*'.
#include <cppunit/extensions/HelperMacros.h>

#include <initializer_list>
#include <string>

#include "worker/answer_rows.hh"

using namespace causeway::worker;
using namespace std::literals;

namespace {
std::string lenenc(std::string_view s)
{
    return char(s.size()) + std::string(s);
}
// A text row; "NULL" is SQL NULL.
std::string row(std::initializer_list<std::string_view> cols)
{
    std::string r;
    for (auto c : cols) r += c == "NULL" ? "\xfb"s : lenenc(c);
    return r;
}
// A binary row of string columns, none NULL.
std::string binary_row(std::initializer_list<std::string_view> cols)
{
    std::string r = "\x00"s + std::string((cols.size() + 9) / 8, '\0');
    for (auto c : cols) r += lenenc(c);
    return r;
}
std::string definition(std::string_view schema, std::string_view table, std::string_view name)
{
    return lenenc("def") + lenenc(schema) + lenenc(table) + lenenc(table) + lenenc(name) + lenenc(name) +
        "\x0c\x21\x00\x00\x30\x00\x00\xfd\x01\x10\x00\x00\x00"s;
}
answer_rows status_result(bool compression, std::string_view table = "SESSION_STATUS", bool value_first = false)
{
    answer_rows a;
    a.start({.compression = compression});
    a.result_start();
    std::string name = definition("information_schema", table, "VARIABLE_NAME");
    std::string value = definition("information_schema", table, "VARIABLE_VALUE");
    a.column(value_first ? value : name);
    a.column(value_first ? name : value);
    return a;
}
constexpr std::string_view list = "autocommit,time_zone";
}   // namespace

class answer_rows_test : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(answer_rows_test);
    CPPUNIT_TEST(compression_status);
    CPPUNIT_TEST(tracking_list);
    CPPUNIT_TEST_SUITE_END();

public:
    void compression_status()
    {
        // SHOW [SESSION | GLOBAL] STATUS, SELECT * FROM information_schema.SESSION_STATUS.
        for (auto table : {"SESSION_STATUS", "GLOBAL_STATUS", "session_status"}) {
            answer_rows a = status_result(true, table);
            CPPUNIT_ASSERT(a.rows_watched());
            CPPUNIT_ASSERT_EQUAL(row({"Compression", "ON"}), a.row(row({"Compression", "OFF"}), false, list));
            CPPUNIT_ASSERT_EQUAL(row({"COMPRESSION", "ON"}), a.row(row({"COMPRESSION", "OFF"}), false, list));
            CPPUNIT_ASSERT_EQUAL(binary_row({"Compression", "ON"}),
                                 a.row(binary_row({"Compression", "OFF"}), true, list));
            // Other variables, and a value that is not OFF, pass.
            CPPUNIT_ASSERT_EQUAL(std::string(), a.row(row({"Connections", "OFF"}), false, list));
            CPPUNIT_ASSERT_EQUAL(std::string(), a.row(row({"Compression", "ON"}), false, list));
        }
        // SELECT VARIABLE_VALUE, VARIABLE_NAME: the columns are found by their names.
        answer_rows swapped = status_result(true, "SESSION_STATUS", true);
        CPPUNIT_ASSERT_EQUAL(row({"ON", "COMPRESSION"}), swapped.row(row({"OFF", "COMPRESSION"}), false, list));
        // An uncompressed client: OFF is right.
        answer_rows plain = status_result(false);
        CPPUNIT_ASSERT(!plain.active());
        CPPUNIT_ASSERT(!plain.rows_watched());
        // Another table with the same column names, or the value column alone: nothing.
        answer_rows other;
        other.start({.compression = true});
        other.result_start();
        other.column(definition("test", "SESSION_STATUS", "VARIABLE_NAME"));
        other.column(definition("test", "SESSION_STATUS", "VARIABLE_VALUE"));
        CPPUNIT_ASSERT(!other.rows_watched());
        other.result_start();
        other.column(definition("information_schema", "SESSION_STATUS", "VARIABLE_VALUE"));
        CPPUNIT_ASSERT(!other.rows_watched());
        // The next result set of the answer starts afresh.
        answer_rows a = status_result(true);
        a.result_start();
        CPPUNIT_ASSERT(!a.rows_watched());
    }

    void tracking_list()
    {
        answer_rows by_value;   // SELECT @@session_track_system_variables [, ...]
        by_value.start({.tracking = true, .tracking_by_value = true});
        by_value.result_start();
        by_value.column(definition("", "", "@@session_track_system_variables"));
        CPPUNIT_ASSERT_EQUAL(row({list}), by_value.row(row({"*"}), false, list));
        CPPUNIT_ASSERT_EQUAL(binary_row({list}), by_value.row(binary_row({"*"}), true, list));
        CPPUNIT_ASSERT_EQUAL(row({"r1", list}), by_value.row(row({"r1", "*"}), false, list));
        CPPUNIT_ASSERT_EQUAL(row({list, "ANSI", "NULL"}), by_value.row(row({"*", "ANSI", "NULL"}), false, list));
        // Nothing to change, or a row it cannot read: forwarded as it came.
        CPPUNIT_ASSERT_EQUAL(std::string(), by_value.row(row({"r1", "x"}), false, list));
        CPPUNIT_ASSERT_EQUAL(std::string(), by_value.row("\x05*"s, false, list));
        // SHOW VARIABLES / information_schema.SESSION_VARIABLES: (name, value).
        answer_rows pairs;
        pairs.start({.tracking = true});
        CPPUNIT_ASSERT_EQUAL(row({"session_track_system_variables", list}),
                             pairs.row(row({"session_track_system_variables", "*"}), false, list));
        CPPUNIT_ASSERT_EQUAL(row({"SESSION_TRACK_SYSTEM_VARIABLES", list}),
                             pairs.row(row({"SESSION_TRACK_SYSTEM_VARIABLES", "*"}), false, list));
        // Another variable's row is left alone, even with the value '*'.
        CPPUNIT_ASSERT_EQUAL(std::string(), pairs.row(row({"ft_boolean_syntax", "*"}), false, list));
        CPPUNIT_ASSERT_EQUAL(std::string(), pairs.row(row({"*"}), false, list));
        CPPUNIT_ASSERT_EQUAL(std::string(), pairs.row(row({"sql_mode", "ANSI"}), false, list));
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(answer_rows_test);
