// protocol/result_rows: column definitions (with and without MariaDB's
// extended metadata), text and binary rows split into cells and joined back
// byte for byte, a changed string cell re-encoded, and rows that do not fit
// their columns refused.
#include <cppunit/extensions/HelperMacros.h>

#include <string>
#include <vector>

#include "protocol/result_rows.hh"

using namespace causeway::protocol;
using namespace std::literals;

namespace {
std::string lenenc(std::string_view s)
{
    return char(s.size()) + std::string(s);
}
// ColumnDefinition41 of a VAR_STRING (253) column; `extended`: MariaDB's extended type info.
std::string definition(std::string_view schema, std::string_view table, std::string_view name,
                       std::string_view extended = {}, std::uint8_t type = 253)
{
    std::string d = lenenc("def") + lenenc(schema) + lenenc("alias") + lenenc(table) + lenenc("Value") + lenenc(name);
    if (!extended.empty()) d += lenenc(extended);
    d += "\x0c\x21\x00\x00\x30\x00\x00"s;
    d += char(type);
    d += "\x01\x10\x00\x00\x00"s;
    return d;
}
}   // namespace

class result_rows_test : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(result_rows_test);
    CPPUNIT_TEST(column_definitions);
    CPPUNIT_TEST(text_rows);
    CPPUNIT_TEST(binary_rows);
    CPPUNIT_TEST_SUITE_END();

public:
    void column_definitions()
    {
        std::string d =
            definition("information_schema", "SESSION_STATUS", "VARIABLE_VALUE");   // c's views point into it
        auto c = parse_column_definition(d);
        CPPUNIT_ASSERT(c);
        CPPUNIT_ASSERT_EQUAL("information_schema"sv, c->schema);
        CPPUNIT_ASSERT_EQUAL("SESSION_STATUS"sv, c->org_table);
        CPPUNIT_ASSERT_EQUAL("VARIABLE_VALUE"sv, c->org_name);
        CPPUNIT_ASSERT_EQUAL(std::uint8_t(253), c->type);
        // Extended metadata (format=json) before the fixed block.
        c = parse_column_definition(definition("test", "t", "j", "\x00\x04json"sv, 252));
        CPPUNIT_ASSERT(c);
        CPPUNIT_ASSERT_EQUAL(std::uint8_t(252), c->type);
        CPPUNIT_ASSERT(!parse_column_definition(definition("test", "t", "j").substr(0, 20)));
        CPPUNIT_ASSERT(!parse_column_definition(""));
    }

    void text_rows()
    {
        std::string row = lenenc("Compression") + "\xfb"s + lenenc("OFF");
        std::vector<row_cell> cells;
        CPPUNIT_ASSERT(split_row(row, nullptr, cells));
        CPPUNIT_ASSERT_EQUAL(std::size_t(3), cells.size());
        CPPUNIT_ASSERT(cells[1].null);
        CPPUNIT_ASSERT_EQUAL("OFF"sv, cells[2].bytes);
        CPPUNIT_ASSERT_EQUAL(row, join_row(row, false, cells));
        cells[2].bytes = "ON";
        CPPUNIT_ASSERT_EQUAL(lenenc("Compression") + "\xfb"s + lenenc("ON"), join_row(row, false, cells));
        CPPUNIT_ASSERT(!split_row("\x05OFF"sv, nullptr, cells));
    }

    void binary_rows()
    {
        // (INT 7, NULL VARCHAR, DATETIME, VARCHAR 'OFF', DOUBLE, NULL-typed column)
        std::vector<std::uint8_t> types{3, 253, 12, 253, 5, 6};
        // NULL bitmap: bits from 2; column 1 (bit 3) and column 5 (bit 7) are NULL.
        std::string row =
            "\x00\x88"s + "\x07\x00\x00\x00"s + "\x04\xea\x07\x01\x02"s + lenenc("OFF") + std::string(8, '\x01');
        std::vector<row_cell> cells;
        CPPUNIT_ASSERT(split_row(row, &types, cells));
        CPPUNIT_ASSERT_EQUAL(std::size_t(6), cells.size());
        CPPUNIT_ASSERT(!cells[0].null && !cells[0].text);
        CPPUNIT_ASSERT(cells[1].null && cells[5].null);
        CPPUNIT_ASSERT_EQUAL(std::size_t(5), cells[2].bytes.size());
        CPPUNIT_ASSERT(cells[3].text);
        CPPUNIT_ASSERT_EQUAL("OFF"sv, cells[3].bytes);
        CPPUNIT_ASSERT_EQUAL(row, join_row(row, true, cells));
        cells[3].bytes = "ON";
        std::string want =
            "\x00\x88"s + "\x07\x00\x00\x00"s + "\x04\xea\x07\x01\x02"s + lenenc("ON") + std::string(8, '\x01');
        CPPUNIT_ASSERT_EQUAL(want, join_row(row, true, cells));
        // Too short, bytes left over, an unknown type, not a binary row.
        CPPUNIT_ASSERT(!split_row(row.substr(0, row.size() - 1), &types, cells));
        CPPUNIT_ASSERT(!split_row(row + "x", &types, cells));
        std::vector<std::uint8_t> unknown{3, 253, 12, 253, 5, 100};
        CPPUNIT_ASSERT(!split_row(row, &unknown, cells));
        CPPUNIT_ASSERT(!split_row("\x01" + row.substr(1), &types, cells));
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(result_rows_test);
