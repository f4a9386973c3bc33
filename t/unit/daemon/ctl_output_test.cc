// causewayctl's output primitives: JSON escaping (quotes, control bytes,
// invalid UTF-8), the writer's commas and nesting, aligned text tables with
// multi-byte characters, and the human formats of ages, round trips and counts.
#include <cppunit/extensions/HelperMacros.h>

#include <cmath>

#include "daemon/ctl_output.hh"
#include "t/unit/daemon/ctl_test_support.hh"

using namespace causeway::daemon;
using causeway::daemon::test::json_check;

namespace {
std::string quoted(std::string_view s)
{
    std::string out;
    json_quote(out, s);
    return out;
}
constexpr std::uint64_t ms = 1000000, s = 1000 * ms;
}   // namespace

class ctl_output_test : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(ctl_output_test);
    CPPUNIT_TEST(json_quote_escapes);
    CPPUNIT_TEST(json_quote_replaces_invalid_utf8);
    CPPUNIT_TEST(json_writer_nests_and_separates);
    CPPUNIT_TEST(json_writer_numbers_and_nulls);
    CPPUNIT_TEST(text_table_aligns);
    CPPUNIT_TEST(text_fields_align);
    CPPUNIT_TEST(human_formats);
    CPPUNIT_TEST_SUITE_END();

public:
    void json_quote_escapes()
    {
        CPPUNIT_ASSERT_EQUAL(std::string("\"plain\""), quoted("plain"));
        CPPUNIT_ASSERT_EQUAL(std::string("\"a\\\"b\\\\c\""), quoted("a\"b\\c"));
        CPPUNIT_ASSERT_EQUAL(std::string("\"\\n\\r\\t\\u0001\\u001f\\u007f\""), quoted("\n\r\t\x01\x1f\x7f"));
        CPPUNIT_ASSERT_EQUAL(std::string("\"\\u0000x\""), quoted(std::string_view("\0x", 2)));
        CPPUNIT_ASSERT_EQUAL(std::string("\"/\""), quoted("/"));
        CPPUNIT_ASSERT_EQUAL(std::string("\"\""), quoted(""));
    }

    void json_quote_replaces_invalid_utf8()
    {
        // Valid sequences of 2, 3 and 4 bytes pass through unchanged.
        CPPUNIT_ASSERT_EQUAL(std::string("\"caf\xc3\xa9 \xe2\x98\xba \xf0\x9f\x98\x80\""),
                             quoted("caf\xc3\xa9 \xe2\x98\xba \xf0\x9f\x98\x80"));
        CPPUNIT_ASSERT_EQUAL(std::string("\"\\ufffd\""), quoted("\xff"));   // never valid
        CPPUNIT_ASSERT_EQUAL(std::string("\"a\\ufffdb\""),
                             quoted("a\xc3"
                                    "b"));   // truncated
        CPPUNIT_ASSERT_EQUAL(std::string("\"\\ufffd\\ufffd\""), quoted("\xc0\xaf"));   // overlong '/'
        CPPUNIT_ASSERT_EQUAL(std::string("\"\\ufffd\\ufffd\\ufffd\""), quoted("\xed\xa0\x80"));   // surrogate
        CPPUNIT_ASSERT_EQUAL(std::string("\"x\\ufffd\\ufffd\""), quoted("x\xe2\x98"));   // cut: per byte
        std::string all;
        for (int c = 0; c < 256; ++c) all += char(c);
        std::string why;
        CPPUNIT_ASSERT_MESSAGE(why, json_check::valid(quoted(all), &why));
    }

    void json_writer_nests_and_separates()
    {
        json_writer k;
        k.begin_object().field("a", std::uint64_t(1)).key("b").begin_array().value("x").value(false).end_array();
        k.key("c").begin_object().field("d", std::int64_t(-2)).end_object().key("e").null().end_object();
        CPPUNIT_ASSERT_EQUAL(std::string("{\"a\":1,\"b\":[\"x\",false],\"c\":{\"d\":-2},\"e\":null}\n"), k.str());
        CPPUNIT_ASSERT(json_check::valid(k.str()));
        json_writer empty;
        empty.begin_object().key("l").begin_array().end_array().end_object();
        CPPUNIT_ASSERT_EQUAL(std::string("{\"l\":[]}\n"), empty.str());
        json_writer nested;
        nested.begin_array().begin_array().end_array().begin_object().end_object().begin_array().value(1).end_array();
        nested.end_array();
        CPPUNIT_ASSERT_EQUAL(std::string("[[],{},[1]]\n"), nested.str());
        json_writer partial;
        partial.begin_object();
        CPPUNIT_ASSERT_EQUAL(std::string("{"), partial.str());   // no newline until complete
    }

    void json_writer_numbers_and_nulls()
    {
        json_writer j;
        j.begin_array();
        j.value(std::uint64_t(18446744073709551615ull)).value(std::int64_t(-9223372036854775807ll - 1));
        j.value(1.23456, 3).value(std::nan(""), 2);
        j.value(std::optional<std::uint64_t>()).value(std::optional<std::uint64_t>(7));
        j.value(std::optional<bool>()).value(std::optional<bool>(true));
        j.value_ms(std::optional<std::uint64_t>(1500000)).value_ms(std::nullopt);
        j.value_us(std::optional<std::uint64_t>(45678)).value_us(std::nullopt);
        j.end_array();
        CPPUNIT_ASSERT_EQUAL(std::string("[18446744073709551615,-9223372036854775808,1.235,null,null,7,null,true,"
                                         "1.500,null,45.7,null]\n"),
                             j.str());
        CPPUNIT_ASSERT(json_check::valid(j.str()));
    }

    void text_table_aligns()
    {
        text_table t;
        t.column("NAME");
        t.column("RTT", text_table::align::right);
        t.column("NOTE");
        t.row({"primary", "45 µs", "x"});
        t.row({"r10", "1.2 ms"});   // a missing cell prints empty; no trailing blanks
        CPPUNIT_ASSERT_EQUAL(std::string("NAME        RTT  NOTE\n"
                                         "primary   45 µs  x\n"
                                         "r10      1.2 ms\n"),
                             t.render());
        CPPUNIT_ASSERT_EQUAL(std::size_t(5), display_width("45 µs"));
        CPPUNIT_ASSERT_EQUAL(std::size_t(0), display_width(""));
    }

    void text_fields_align()
    {
        text_fields f;
        f.add("instance", "/causeway-6446");
        f.add("floor", "0-1-5");
        f.add("empty", "");
        CPPUNIT_ASSERT_EQUAL(std::string("instance  /causeway-6446\nfloor     0-1-5\nempty\n"), f.render());
    }

    void human_formats()
    {
        CPPUNIT_ASSERT_EQUAL(std::string("never"), format_age(std::nullopt));
        CPPUNIT_ASSERT_EQUAL(std::string("0.0 ms"), format_age(std::uint64_t(0)));
        CPPUNIT_ASSERT_EQUAL(std::string("3.2 ms"), format_age(std::uint64_t(3200000)));
        CPPUNIT_ASSERT_EQUAL(std::string("12 ms"), format_age(std::uint64_t(12 * ms + 900000)));
        CPPUNIT_ASSERT_EQUAL(std::string("999 ms"), format_age(std::uint64_t(999 * ms)));
        CPPUNIT_ASSERT_EQUAL(std::string("1.5 s"), format_age(std::uint64_t(1500 * ms)));
        CPPUNIT_ASSERT_EQUAL(std::string("2m05s"), format_age(std::uint64_t(125 * s)));
        CPPUNIT_ASSERT_EQUAL(std::string("3h02m"), format_age(std::uint64_t((3 * 3600 + 150) * s)));
        CPPUNIT_ASSERT_EQUAL(std::string("2d03h"), format_age(std::uint64_t((51 * 3600 + 59) * s)));

        CPPUNIT_ASSERT_EQUAL(std::string("-"), format_rtt(std::nullopt));
        CPPUNIT_ASSERT_EQUAL(std::string("46 µs"), format_rtt(std::uint64_t(45678)));
        CPPUNIT_ASSERT_EQUAL(std::string("1.2 ms"), format_rtt(std::uint64_t(1234567)));

        CPPUNIT_ASSERT_EQUAL(std::string("0"), format_count(0));
        CPPUNIT_ASSERT_EQUAL(std::string("999"), format_count(999));
        CPPUNIT_ASSERT_EQUAL(std::string("1,000"), format_count(1000));
        CPPUNIT_ASSERT_EQUAL(std::string("12,345,678"), format_count(12345678));

        CPPUNIT_ASSERT_EQUAL(std::string("100 B"), format_bytes(100));
        CPPUNIT_ASSERT_EQUAL(std::string("512 KiB"), format_bytes(512 * 1024));
        CPPUNIT_ASSERT_EQUAL(std::string("64.0 MiB"), format_bytes(64ull << 20));
        CPPUNIT_ASSERT_EQUAL(std::string("2.0 GiB"), format_bytes(2ull << 30));

        CPPUNIT_ASSERT_EQUAL(std::string("12.3%"), format_percent(12.34));
        CPPUNIT_ASSERT_EQUAL(std::string("2024-05-01 12:00:00 UTC"), format_utc(1714564800ull * s + 5, false));
        CPPUNIT_ASSERT_EQUAL(std::string("2024-05-01T12:00:00Z"), format_utc(1714564800ull * s, true));
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(ctl_output_test);
