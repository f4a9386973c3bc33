// Session state that changes how statements lex (protocol/lex_session.hh):
// sql_mode values as the server reports them, and the character sets in
// which 0x5C can end a character; then what the classifier makes of a write
// hidden in what the default rules read as one string.
#include <cppunit/extensions/HelperMacros.h>

#include "protocol/classifier.hh"
#include "protocol/lex_session.hh"

using namespace causeway::protocol;

class lex_session_test : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(lex_session_test);
    CPPUNIT_TEST(sql_mode_values);
    CPPUNIT_TEST(unsafe_character_sets);
    CPPUNIT_TEST(hidden_write_is_seen);
    CPPUNIT_TEST_SUITE_END();

public:
    void sql_mode_values()
    {
        struct {
            const char* sql_mode;
            bool ansi_quotes, no_backslash_escapes;
        } rows[] = {
            {"", false, false},
            {"STRICT_TRANS_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_AUTO_CREATE_USER,NO_ENGINE_SUBSTITUTION", false, false},
            {"NO_BACKSLASH_ESCAPES", false, true},
            {"REAL_AS_FLOAT,PIPES_AS_CONCAT,ANSI_QUOTES,IGNORE_SPACE,ANSI", true, false},   // ANSI, expanded
            {"ansi_quotes,no_backslash_escapes", true, true},
            {"NO_BACKSLASH_ESCAPES_X,XANSI_QUOTES", false, false},   // names, not prefixes
            {"STRICT_ALL_TABLES,", false, false},
        };
        for (const auto& r : rows) {
            lex_options o;
            o.ansi_quotes = o.no_backslash_escapes = true;   // replaced, not merged
            apply_sql_mode(o, r.sql_mode);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(r.sql_mode, r.ansi_quotes, o.ansi_quotes);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(r.sql_mode, r.no_backslash_escapes, o.no_backslash_escapes);
        }
    }

    void unsafe_character_sets()
    {
        for (const char* name : {"gbk", "GBK", "big5", "cp932", "sjis"})
            CPPUNIT_ASSERT_MESSAGE(name, multibyte_unsafe_charset(name));
        for (const char* name : {"utf8mb4", "latin1", "gb2312", "ujis", "euckr", "binary", ""})
            CPPUNIT_ASSERT_MESSAGE(name, !multibyte_unsafe_charset(name));
        // SHOW COLLATION on 10.11: big5 1 84 1025 1108, sjis 13 88 1037 1112,
        // gbk 28 87 1052 1111, cp932 95 96 1119 1120.
        for (std::uint32_t id : {1u, 84u, 13u, 88u, 28u, 87u, 95u, 96u, 1025u, 1052u, 1120u})
            CPPUNIT_ASSERT_MESSAGE(std::to_string(id), multibyte_unsafe_collation(id));
        for (std::uint32_t id : {8u, 33u, 45u, 46u, 63u, 224u, 24u})   // latin1, utf8, utf8mb4, binary, gb2312
            CPPUNIT_ASSERT_MESSAGE(std::to_string(id), !multibyte_unsafe_collation(id));
    }

    void hidden_write_is_seen()
    {
        const char* sql = "SELECT 'a\\'; INSERT INTO t VALUES (1); SELECT 1 -- '";
        CPPUNIT_ASSERT(classify(sql).is_plain_read);   // with backslash escapes: one string
        lex_options nbe;
        apply_sql_mode(nbe, "NO_BACKSLASH_ESCAPES");
        CPPUNIT_ASSERT(!classify(sql, nbe).is_plain_read);
        lex_options gbk;
        gbk.multibyte_unsafe_charset = multibyte_unsafe_collation(28);
        CPPUNIT_ASSERT(!classify("SELECT 'x\xbf\x5c'; INSERT INTO t VALUES (1); SELECT 1 -- '", gbk).is_plain_read);
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(lex_session_test);
