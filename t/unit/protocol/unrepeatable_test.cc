// The unrepeatable-answer predicate (protocol/unrepeatable.hh) as a table:
// every form issue 8 item 3 names, the spellings that are only names, and
// words inside strings, comments and quoted names.
#include <cppunit/extensions/HelperMacros.h>

#include <string>

#include "protocol/unrepeatable.hh"

using namespace causeway::protocol;
using u = unrepeatable;

namespace {

struct row {
    std::string_view sql;
    unrepeatable want;
};

constexpr row rows[] = {
    // Plain reads whose answers repeat.
    {"SELECT v FROM t WHERE id = 1", u::none},
    {"SELECT * FROM t ORDER BY id LIMIT 10", u::none},
    {"SELECT UNIX_TIMESTAMP('2020-01-01 00:00:00')", u::none},   // converts its argument
    {"SELECT t.now, t.rand FROM t", u::none},   // columns
    {"SELECT now, rand, uuid FROM t", u::none},   // columns: no call
    {"SELECT `now`() FROM t", u::none},   // a stored function named now (quoted)
    {"SELECT 'NOW()' FROM t", u::none},   // a string
    {"SELECT v FROM t /* RAND() */", u::none},   // a comment
    {"SELECT x.connection_id FROM x", u::none},
    {"SELECT @x", u::none},   // a read of a variable (the classifier keeps it off replicas)
    {"SELECT v FROM t WHERE d > DATE('2024-01-01')", u::none},
    {"LOAD_FILE", u::none},
    {"SELECT load FROM t", u::none},
    // The clock.
    {"SELECT NOW()", u::clock},
    {"select now ( )", u::clock},
    {"SELECT CURRENT_TIMESTAMP", u::clock},
    {"SELECT current_timestamp(6)", u::clock},
    {"SELECT * FROM t WHERE d < CURRENT_DATE", u::clock},
    {"SELECT CURRENT_TIME, 1", u::clock},
    {"SELECT SYSDATE()", u::clock},
    {"SELECT CURDATE(), CURTIME()", u::clock},
    {"SELECT LOCALTIME, LOCALTIMESTAMP", u::clock},
    {"SELECT UTC_DATE, UTC_TIME(), UTC_TIMESTAMP", u::clock},
    {"SELECT UNIX_TIMESTAMP()", u::clock},
    {"SELECT id FROM t WHERE created > NOW() - INTERVAL 1 DAY", u::clock},
    {"SELECT /*!40001 SYSDATE() */ 1", u::clock},   // executable comment
    // Chance.
    {"SELECT * FROM t ORDER BY RAND() LIMIT 1", u::chance},
    {"SELECT RAND(7)", u::chance},   // seeded: still per-statement state
    {"SELECT UUID()", u::chance},
    {"SELECT uuid_short()", u::chance},
    {"SELECT SYS_GUID()", u::chance},
    {"SELECT RANDOM_BYTES(8)", u::chance},
    // The server session's own values.
    {"SELECT CONNECTION_ID()", u::session},
    {"SELECT LAST_INSERT_ID()", u::session},
    {"SELECT FOUND_ROWS()", u::session},
    {"SELECT ROW_COUNT()", u::session},
    // User-variable assignments.
    {"SELECT @x := v FROM t", u::user_variable},
    {"SELECT v INTO @x FROM t", u::user_variable},
    {"SELECT v FROM t INTO @x", u::user_variable},
    {"SET @x = 1", u::user_variable},
    {"set @`x` := 1", u::user_variable},
    {"SET @@session.sql_mode = '', @y = 2", u::user_variable},
    {"SELECT 1; SET @x = 2", u::user_variable},
    // LOAD DATA / LOAD XML.
    {"LOAD DATA LOCAL INFILE 'f' INTO TABLE t", u::load_data},
    {"load xml infile 'f' into table t", u::load_data},
};

}   // namespace

class unrepeatable_test : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(unrepeatable_test);
    CPPUNIT_TEST(table);
    CPPUNIT_TEST(never_crashes_on_junk);
    CPPUNIT_TEST_SUITE_END();

public:
    void table()
    {
        for (const row& r : rows) {
            unrepeatable got = answer_unrepeatable(r.sql);
            CPPUNIT_ASSERT_MESSAGE(
                "'" + std::string(r.sql) + "': got " + to_string(got) + ", want " + to_string(r.want), got == r.want);
        }
    }

    void never_crashes_on_junk()
    {
        const std::string_view junk[] = {
            "",          "(",   "NOW",  "NOW(", "UNIX_TIMESTAMP(", "@", ":=", "'unterminated NOW()", "SELECT `NOW()",
            "/* NOW() ", "SET", "SET @"};
        for (std::string_view j : junk) answer_unrepeatable(j);
        CPPUNIT_ASSERT(answer_unrepeatable("NOW(") == u::clock);
        CPPUNIT_ASSERT(answer_unrepeatable("'unterminated NOW()") == u::none);
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(unrepeatable_test);
