// GTID positions: parsing of what MariaDB prints (several domains, blanks and
// newlines), rejection of malformed text without crashing, per-domain
// ordering ("covers"), merge-max and formatting back to text.
#include <cppunit/extensions/HelperMacros.h>

#include <limits>

#include "protocol/gtid.hh"

using namespace causeway::protocol;

namespace {
gtid_position parse_ok(const std::string& text)
{
    auto p = parse_gtid_position(text);
    CPPUNIT_ASSERT_MESSAGE(p ? "" : p.err().message, p.ok());
    return *p;
}
}   // namespace

class gtid_test : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(gtid_test);
    CPPUNIT_TEST(parses_several_domains);
    CPPUNIT_TEST(empty_is_empty_position);
    CPPUNIT_TEST(rejects_malformed);
    CPPUNIT_TEST(capacity);
    CPPUNIT_TEST(covers_per_domain);
    CPPUNIT_TEST(merge_max);
    CPPUNIT_TEST(meet);
    CPPUNIT_TEST(formats_round_trip);
    CPPUNIT_TEST(whole_lists);
    CPPUNIT_TEST_SUITE_END();

public:
    void parses_several_domains()
    {
        auto p = parse_ok("0-1-22,1-2-7");
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), p.size());
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(22), p.seqno(0));
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(7), p.seqno(1));
        CPPUNIT_ASSERT_EQUAL(std::uint32_t(2), p.find(1)->server);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(0), p.seqno(5));

        // Sorted by domain whatever the input order; blanks and newlines around items.
        auto q = parse_ok(" 7-3-100,\n 2-1-5 ,\t0-1-1\r\n");
        CPPUNIT_ASSERT_EQUAL(std::size_t(3), q.size());
        CPPUNIT_ASSERT_EQUAL(std::uint32_t(0), q[0].domain);
        CPPUNIT_ASSERT_EQUAL(std::uint32_t(2), q[1].domain);
        CPPUNIT_ASSERT_EQUAL(std::uint32_t(7), q[2].domain);

        auto big = parse_ok("4294967295-4294967295-18446744073709551615");
        CPPUNIT_ASSERT_EQUAL(std::numeric_limits<std::uint64_t>::max(), big.seqno(4294967295u));
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(5), parse_ok("0-1-005").seqno(0));
    }

    void empty_is_empty_position()
    {
        CPPUNIT_ASSERT(parse_ok("").empty());
        CPPUNIT_ASSERT(parse_ok(" \n ").empty());
    }

    void rejects_malformed()
    {
        const char* bad[] = {
            "garbage",
            "0-1",
            "0-1-",
            "-1-2",
            "0--2",
            "0-1-2,",
            ",0-1-2",
            "0-1-2,,1-1-1",
            "0-1-x",
            "0-1-2x",
            "a-1-2",
            "-0-1-2",
            "0-1--2",
            "0-1-+2",
            "+0-1-2",
            "0-1-2-3",
            "0 -1-2",
            "0-1- 2",
            "4294967296-1-1",
            "0-4294967296-1",
            "0-1-18446744073709551616",
            "0-1-99999999999999999999999",
            "0-1-2;1-1-1",
            "0-1-2 1-1-1",
            "0-1-5,0-2-7",
        };
        for (const char* text : bad) {
            auto p = parse_gtid_position(text);
            CPPUNIT_ASSERT_MESSAGE(std::string("accepted '") + text + "'", !p.ok());
            CPPUNIT_ASSERT(!p.err().message.empty());
        }
        CPPUNIT_ASSERT(!parse_gtid_position(std::string_view("0-1-2\0", 6)).ok());
    }

    void capacity()
    {
        std::string text;
        for (std::size_t d = 0; d < gtid_max_domains; ++d) text += (d ? "," : "") + std::to_string(d) + "-1-1";
        auto full = parse_ok(text);
        CPPUNIT_ASSERT_EQUAL(gtid_max_domains, full.size());
        auto over = parse_gtid_position(text + ",99-1-1");
        CPPUNIT_ASSERT(!over.ok());
        CPPUNIT_ASSERT(over.err().message.find("more domains") != std::string::npos);

        gtid_position p = full;
        CPPUNIT_ASSERT(!p.set(gtid{99, 1, 1}));
        CPPUNIT_ASSERT(!p.merge_max(gtid{99, 1, 1}));
        CPPUNIT_ASSERT(p == full);
        CPPUNIT_ASSERT(p.merge_max(gtid{3, 2, 9}));   // existing domain still fits
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(9), p.seqno(3));
    }

    void covers_per_domain()
    {
        auto a = parse_ok("0-1-10,1-1-5");
        CPPUNIT_ASSERT(a.covers(parse_ok("0-1-10")));
        CPPUNIT_ASSERT(a.covers(parse_ok("0-2-9,1-9-5")));   // server id does not matter
        CPPUNIT_ASSERT(a.covers(parse_ok("")));
        CPPUNIT_ASSERT(a.covers(a));
        CPPUNIT_ASSERT(!a.covers(parse_ok("0-1-11")));
        CPPUNIT_ASSERT(!a.covers(parse_ok("1-1-6")));
        CPPUNIT_ASSERT(!a.covers(parse_ok("2-1-1")));   // a domain a has not seen
        CPPUNIT_ASSERT(!parse_ok("").covers(a));
        // Not a total order: neither covers the other.
        auto b = parse_ok("0-1-11,1-1-4");
        CPPUNIT_ASSERT(!a.covers(b) && !b.covers(a));
    }

    void merge_max()
    {
        auto a = parse_ok("0-1-10,1-1-5");
        CPPUNIT_ASSERT(a.merge_max(parse_ok("0-2-8,1-3-9,4-1-1")));
        CPPUNIT_ASSERT_EQUAL(std::string("0-1-10,1-3-9,4-1-1"), a.to_string());
        CPPUNIT_ASSERT(a.covers(parse_ok("0-1-10,1-1-5")));
        CPPUNIT_ASSERT(a.covers(parse_ok("0-2-8,1-3-9,4-1-1")));
    }

    void meet()
    {
        auto a = parse_ok("0-1-10,1-1-5,2-1-3");
        a.meet(parse_ok("0-2-8,1-3-9,5-1-1"));
        CPPUNIT_ASSERT_EQUAL(std::string("0-1-8,1-1-5"), a.to_string());
        a.meet(gtid_position{});
        CPPUNIT_ASSERT(a.empty());
    }

    void formats_round_trip()
    {
        for (const char* text : {"", "0-1-22", "0-1-22,1-2-7", "3-4294967295-18446744073709551615"}) {
            auto p = parse_ok(text);
            CPPUNIT_ASSERT_EQUAL(std::string(text), p.to_string());
            CPPUNIT_ASSERT(parse_ok(p.to_string()) == p);
        }
        auto p = parse_ok("0-1-22,1-2-7");
        char small[5];
        CPPUNIT_ASSERT_EQUAL(std::size_t(0), p.format(small));
        std::string longest;
        for (std::size_t d = 0; d < gtid_max_domains; ++d)
            longest += (d ? "," : "") + std::to_string(4294967295u - d) + "-4294967295-18446744073709551615";
        auto l = parse_ok(longest);
        CPPUNIT_ASSERT(longest.size() <= gtid_max_text);
        CPPUNIT_ASSERT_EQUAL(longest.size(), l.to_string().size());
    }

    // A server's whole position, past gtid_max_domains: sorted, strict, and
    // compared per domain like a position.
    void whole_lists()
    {
        std::string text;
        for (int d = 99; d >= 0; --d) text += (d != 99 ? "," : "") + std::to_string(d) + "-1-" + std::to_string(d + 1);
        auto list = parse_gtid_list(" " + text + " ");
        CPPUNIT_ASSERT(list.ok());
        CPPUNIT_ASSERT_EQUAL(std::size_t(100), list->size());
        for (std::size_t i = 0; i < list->size(); ++i) {
            CPPUNIT_ASSERT_EQUAL(std::uint32_t(i), (*list)[i].domain);
            CPPUNIT_ASSERT_EQUAL(std::uint64_t(i + 1), (*list)[i].seqno);
        }
        CPPUNIT_ASSERT(parse_gtid_list("").ok() && parse_gtid_list("")->empty());
        for (const char* bad : {"1-1-1,1-1-2", "1-1-1,", ",1-1-1", "1-1", "1-1-x", "-1-1-1"})
            CPPUNIT_ASSERT_MESSAGE(bad, !parse_gtid_list(bad).ok());

        auto have = *parse_gtid_list("0-1-5,7-1-3,40-2-9");
        struct row {
            const char* required;
            bool covered;
        };
        const row rows[] = {
            {"", true},
            {"0-1-5", true},
            {"0-1-6", false},
            {"40-1-9,0-1-1", true},
            {"41-1-1", false},
            {"7-1-4", false},
            {"0-1-5,7-1-3,40-1-9", true},
            {"1-1-0", true},
        };
        for (const row& r : rows)
            CPPUNIT_ASSERT_EQUAL_MESSAGE(r.required, r.covered, list_covers(have, *parse_gtid_list(r.required)));
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(gtid_test);
