// The statement classifier, as tables: every routing rule of issue 4 item 3
// (kinds, plain reads, hints, table references, SET payloads) and malformed
// input that must never be a plain read and never crash.
#include <cppunit/extensions/HelperMacros.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "protocol/classifier.hh"

using namespace causeway::protocol;
using namespace std::string_view_literals;
using sk = statement_kind;

namespace {

// "db.t,t2,db." : schema.table, table (unqualified), db. (a database).
std::string render_tables(const statement_info& s)
{
    std::string out;
    for (const table_ref& r : s.table_refs()) {
        if (!out.empty()) out += ',';
        if (!r.schema.empty()) out += std::string(r.schema) + ".";
        out += std::string(r.table);
    }
    return out;
}

std::string render_flags(std::uint32_t flags)
{
    std::string out;
    for (std::uint32_t bit = 1; bit != 0; bit <<= 1)
        if (flags & bit) out += std::string(out.empty() ? "" : "|") + to_string(statement_flag(bit));
    return out.empty() ? "none" : out;
}

constexpr const char* any_tables = "*";   // do not check the table list

struct row {
    std::string_view sql;
    statement_kind kind;
    bool plain;
    const char* tables = any_tables;
    std::uint32_t flags = 0;   // these bits must be set (others may be too)
};

void check(const row& r, const lex_options& options = {})
{
    const statement_info s = classify(r.sql, options);
    const std::string what = "'" + std::string(r.sql) + "': kind " + to_string(s.kind) + ", plain " +
        (s.is_plain_read ? "yes" : "no") + ", tables [" + render_tables(s) + "], flags " + render_flags(s.flags);
    CPPUNIT_ASSERT_MESSAGE(what + " (want kind " + to_string(r.kind) + ")", s.kind == r.kind);
    CPPUNIT_ASSERT_MESSAGE(what + " (want plain " + (r.plain ? "yes" : "no") + ")", s.is_plain_read == r.plain);
    if (r.tables != any_tables)
        CPPUNIT_ASSERT_MESSAGE(what + " (want tables [" + r.tables + "])", render_tables(s) == r.tables);
    CPPUNIT_ASSERT_MESSAGE(what + " (want flags " + render_flags(r.flags) + ")", (s.flags & r.flags) == r.flags);
    // Invariants of every answer.
    if (s.is_plain_read) {
        CPPUNIT_ASSERT_MESSAGE(what, s.kind == sk::read || s.kind == sk::show || s.kind == sk::explain);
        CPPUNIT_ASSERT_MESSAGE(what, s.flags == 0 && s.tables_complete() && s.hint != route_hint::primary);
    }
}

void check_all(std::initializer_list<row> rows, const lex_options& options = {})
{
    for (const row& r : rows) check(r, options);
}

}   // namespace

class classifier_test : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(classifier_test);
    CPPUNIT_TEST(plain_reads);
    CPPUNIT_TEST(locking_reads);
    CPPUNIT_TEST(reads_that_must_run_on_the_primary);
    CPPUNIT_TEST(writes);
    CPPUNIT_TEST(transactions);
    CPPUNIT_TEST(transaction_payloads);
    CPPUNIT_TEST(set_statements);
    CPPUNIT_TEST(set_payloads);
    CPPUNIT_TEST(session_statements);
    CPPUNIT_TEST(show_and_explain);
    CPPUNIT_TEST(comments_and_strings);
    CPPUNIT_TEST(executable_comments);
    CPPUNIT_TEST(hints);
    CPPUNIT_TEST(multi_statements);
    CPPUNIT_TEST(table_references);
    CPPUNIT_TEST(malformed_input);
    CPPUNIT_TEST(sql_mode_options);
    CPPUNIT_TEST(random_bytes_never_crash);
    CPPUNIT_TEST(names_for_logs);
    CPPUNIT_TEST_SUITE_END();

public:
    void plain_reads()
    {
        check_all({
            {"SELECT c FROM sbtest1 WHERE id=5012", sk::read, true, "sbtest1"},
            {"select c from sbtest1 where id=5012", sk::read, true, "sbtest1"},
            {"SeLeCt 1", sk::read, true, ""},
            {"SELECT 1", sk::read, true, ""},
            {"SELECT @@version", sk::read, true, ""},
            {"SELECT @@session.sql_mode, @@max_connections", sk::read, true, ""},
            {"  \n\t SELECT\n1\n", sk::read, true, ""},
            {"SELECT NOW(), UUID(), RAND(), SLEEP(0), CONCAT('a', 'b')", sk::read, true, ""},
            {"SELECT COUNT(*), MAX(k) FROM sbtest1 GROUP BY k HAVING COUNT(*) > 1", sk::read, true, "sbtest1"},
            {"SELECT DISTINCT c FROM sbtest1 WHERE id BETWEEN 1 AND 100 ORDER BY c", sk::read, true, "sbtest1"},
            {"SELECT SUM(k) FROM sbtest1 WHERE id IN (1, 2, 3)", sk::read, true, "sbtest1"},
            {"SELECT 1 FROM DUAL", sk::read, true, ""},
            {"(SELECT a FROM t1) UNION (SELECT a FROM t2)", sk::read, true, "t1,t2"},
            {"((SELECT 1))", sk::read, true, ""},
            {"SELECT * FROM t1 UNION ALL SELECT * FROM t2 EXCEPT SELECT * FROM t3", sk::read, true, "t1,t2,t3"},
            {"WITH c AS (SELECT a FROM t) SELECT * FROM c", sk::read, true, "t,c"},
            {"WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 5) SELECT n FROM c", sk::read,
             true, "c"},
            {"with a as (select 1), b as (select 2 from u) select * from a, b", sk::read, true, "u,a,b"},
            {"VALUES (1, 2), (3, 4)", sk::read, true, ""},
            {"SELECT SUBSTRING(c FROM 2 FOR 3), TRIM(LEADING 'x' FROM c), EXTRACT(YEAR FROM d) FROM t", sk::read, true,
             "t"},
            {"SELECT CAST(a AS DECIMAL(10,2)), CONVERT(b, CHAR(3)), CONVERT(c USING utf8mb4) FROM t", sk::read, true,
             "t"},
            {"SELECT * FROM t WHERE MATCH(a) AGAINST('x' IN BOOLEAN MODE)", sk::read, true, "t"},
            {"SELECT ROW_NUMBER() OVER (PARTITION BY a ORDER BY b) FROM t", sk::read, true, "t"},
            {"SELECT a FROM t WINDOW w AS (PARTITION BY a)", sk::read, true, "t"},
            {"SELECT CASE WHEN a > 1 THEN 'x' ELSE 'y' END FROM t", sk::read, true, "t"},
            {"SELECT IF(a, 1, 2), IFNULL(b, 0), COALESCE(c, d) FROM t", sk::read, true, "t"},
            {"SELECT DATE_ADD(NOW(), INTERVAL 1 DAY)", sk::read, true, ""},
            {"SELECT * FROM t FOR SYSTEM_TIME AS OF TIMESTAMP '2020-01-01 00:00:00'", sk::read, true, "t"},
            {"SELECT * FROM jt, JSON_TABLE('[1]', '$[*]' COLUMNS (a INT PATH '$', o FOR ORDINALITY)) AS j", sk::read,
             true, "jt"},
            {"SELECT SQL_NO_CACHE STRAIGHT_JOIN a FROM t1 STRAIGHT_JOIN t2", sk::read, true, "t1,t2"},
            {"SELECT c FROM sbtest1 WHERE id=?", sk::read, true, "sbtest1"},
            {"SELECT a FROM t WHERE b LIKE 'x\\_%' ESCAPE '\\\\'", sk::read, true, "t"},
            {"SELECT CURRENT_USER, CURRENT_TIMESTAMP, DATABASE(), USER(), VERSION()", sk::read, true, ""},
            {"SELECT * FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = 'db'", sk::read, true,
             "information_schema.COLUMNS"},
            // Each server's own statistics (AUTO_INCREMENT, rows, sizes, cardinality).
            {"SELECT * FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'db'", sk::must_primary, false,
             "information_schema.TABLES", flag_server_specific},
            {"SELECT * FROM information_schema.PARTITIONS", sk::must_primary, false, "information_schema.PARTITIONS",
             flag_server_specific},
            {"SELECT * FROM information_schema.STATISTICS", sk::must_primary, false, "information_schema.STATISTICS",
             flag_server_specific},
            {"SELECT x'41', b'01', 0x41, N'x', _utf8mb4'y' COLLATE utf8mb4_bin", sk::read, true, ""},
        });
    }

    void locking_reads()
    {
        check_all({
            {"SELECT * FROM t WHERE id = 1 FOR UPDATE", sk::locking_read, false, "t", flag_locking},
            {"select * from t where id = 1 for update nowait", sk::locking_read, false, "t", flag_locking},
            {"SELECT * FROM t FOR UPDATE SKIP LOCKED", sk::locking_read, false, "t", flag_locking},
            {"SELECT * FROM t FOR UPDATE WAIT 5", sk::locking_read, false, "t", flag_locking},
            {"SELECT * FROM t LOCK IN SHARE MODE", sk::locking_read, false, "t", flag_locking},
            {"SELECT * FROM t FOR SHARE", sk::locking_read, false, "t", flag_locking},
            {"(SELECT * FROM t) FOR UPDATE", sk::locking_read, false, "t", flag_locking},
            {"SELECT * FROM t WHERE a IN (SELECT a FROM u FOR UPDATE)", sk::locking_read, false, "t,u"},
            {"WITH c AS (SELECT * FROM t FOR UPDATE) SELECT * FROM c", sk::locking_read, false},
            {"SELECT * FROM t\nFOR\n/* x */ UPDATE", sk::locking_read, false},
            {"SELECT 'FOR UPDATE' FROM t", sk::read, true, "t"},
            {"SELECT `for`, `update` FROM t", sk::read, true, "t"},
        });
    }

    void reads_that_must_run_on_the_primary()
    {
        check_all({
            {"SELECT LAST_INSERT_ID()", sk::must_primary, false, "", flag_primary_function},
            {"select last_insert_id()", sk::must_primary, false, "", flag_primary_function},
            {"SELECT GET_LOCK('a', 10)", sk::must_primary, false, "", flag_primary_function},
            {"SELECT RELEASE_LOCK('a')", sk::must_primary, false, "", flag_primary_function},
            {"SELECT RELEASE_ALL_LOCKS()", sk::must_primary, false, "", flag_primary_function},
            {"SELECT IS_FREE_LOCK('a'), IS_USED_LOCK('a')", sk::must_primary, false, "", flag_primary_function},
            {"SELECT FOUND_ROWS()", sk::must_primary, false, "", flag_previous_outcome},
            {"SELECT ROW_COUNT()", sk::must_primary, false, "", flag_previous_outcome},
            {"select found_rows() from dual", sk::must_primary, false, "", flag_previous_outcome},
            {"SELECT FOUND_ROWS(), LAST_INSERT_ID()", sk::must_primary, false, "",
             flag_previous_outcome | flag_primary_function},
            {"SELECT found_rows FROM t", sk::read, true, "t", 0},
            {"SELECT NEXTVAL(s)", sk::must_primary, false, "", flag_primary_function},
            {"SELECT SETVAL(s, 10)", sk::must_primary, false, "", flag_primary_function},
            {"SELECT LASTVAL(s)", sk::must_primary, false, "", flag_primary_function},
            {"SELECT NEXT VALUE FOR s", sk::must_primary, false, "", flag_primary_function},
            {"SELECT PREVIOUS VALUE FOR db.s", sk::must_primary, false, "", flag_primary_function},
            {"SELECT MASTER_POS_WAIT('log', 4)", sk::must_primary, false, "", flag_primary_function},
            {"SELECT MASTER_GTID_WAIT('0-1-1', 1)", sk::must_primary, false, "", flag_primary_function},
            {"SELECT CONNECTION_ID()", sk::must_primary, false, "", flag_primary_function},
            {"SELECT a FROM t WHERE id = LAST_INSERT_ID()", sk::must_primary, false, "t"},
            {"SELECT @x", sk::must_primary, false, "", flag_user_variable_read},
            {"SELECT * FROM t WHERE id = @id", sk::must_primary, false, "t", flag_user_variable_read},
            {"SELECT @`quoted var`, @'v2'", sk::must_primary, false, "", flag_user_variable_read},
            {"SELECT @rownum := @rownum + 1 FROM t", sk::must_primary, false, "t", flag_user_variable_assign},
            {"SELECT a INTO @x FROM t", sk::must_primary, false, "t", flag_into},
            {"SELECT a FROM t INTO @x", sk::must_primary, false, "t", flag_into},
            {"SELECT * FROM t INTO OUTFILE '/tmp/x'", sk::must_primary, false, "t", flag_into},
            {"SELECT * FROM t INTO DUMPFILE '/tmp/x'", sk::must_primary, false, "t", flag_into},
            {"SELECT SQL_CALC_FOUND_ROWS * FROM t LIMIT 10", sk::must_primary, false, "t", flag_calc_found_rows},
            {"SELECT @@last_insert_id", sk::must_primary, false, "", flag_server_variable},
            {"SELECT @@session.warning_count", sk::must_primary, false, "", flag_server_variable},
            {"SELECT @@GLOBAL.gtid_binlog_pos", sk::must_primary, false, "", flag_server_variable},
            {"SELECT @@server_id, @@read_only", sk::must_primary, false, "", flag_server_variable},
            {"SELECT @@global.tx_isolation", sk::must_primary, false, "", flag_server_variable},
            {"SELECT @@Global.`max_connections`", sk::must_primary, false, "", flag_server_variable},
            {"SELECT my_func(1)", sk::must_primary, false, "", flag_unknown_function},
            {"SELECT db2.my_func(a) FROM t", sk::must_primary, false, "t", flag_unknown_function},
            {"SELECT `concat`('a')", sk::must_primary, false, "", flag_unknown_function},
            {"SELECT CONCAT ('a')", sk::must_primary, false, "", flag_unknown_function},
            {"SELECT LOAD_FILE('/etc/hosts')", sk::must_primary, false, "", flag_primary_function},
            {"SELECT * FROM information_schema.PROCESSLIST", sk::must_primary, false, "information_schema.PROCESSLIST",
             flag_server_specific},
            {"SELECT * FROM performance_schema.threads", sk::must_primary, false, any_tables, flag_server_specific},
            {"SELECT * FROM mysql.gtid_slave_pos", sk::must_primary, false, any_tables, flag_server_specific},
            {"SELECT 'LAST_INSERT_ID()', \"@x\", `@y` FROM t", sk::read, true, "t"},
            // Non-reserved keywords can name stored functions.
            {"SELECT status(1)", sk::must_primary, false, "", flag_unknown_function},
            {"SELECT data(1), value(2)", sk::must_primary, false, "", flag_unknown_function},
            {"SELECT datetime(1)", sk::must_primary, false, "", flag_unknown_function},
            {"SELECT CONCAT(a, json(1)) FROM t", sk::must_primary, false, "t", flag_unknown_function},
            {"SELECT columns(1)", sk::must_primary, false, "", flag_unknown_function},
            {"SELECT against('x')", sk::must_primary, false, "", flag_unknown_function},
            {"SELECT CAST(a AS DATETIME(6)), CAST(b AS CHAR(2)) FROM t", sk::read, true, "t"},
            {"SELECT a FROM t WHERE a = ANY (SELECT a FROM u)", sk::must_primary, false, "t,u"},   // conservative
            {"SELECT a FROM t WHERE a > ALL (SELECT a FROM u)", sk::read, true, "t,u"},
            {"SELECT s.nextval", sk::must_primary, false, "", flag_primary_function},
            {"SELECT db.s.currval", sk::must_primary, false, "", flag_primary_function},
        });
    }

    void writes()
    {
        check_all({
            {"INSERT INTO t VALUES (1)", sk::write, false, "t"},
            {"insert into db.t (a, b) values (1, 2), (3, 4)", sk::write, false, "db.t"},
            {"INSERT LOW_PRIORITY IGNORE INTO t SET a = 1", sk::write, false, "t"},
            {"INSERT t VALUES (1) ON DUPLICATE KEY UPDATE a = VALUES(a)", sk::write, false, "t"},
            {"INSERT INTO t1 SELECT * FROM db2.t2 JOIN t3 USING (id)", sk::write, false, "t1,db2.t2,t3"},
            {"REPLACE INTO t VALUES (1)", sk::write, false, "t"},
            {"UPDATE t SET a = 1 WHERE id = 2", sk::write, false, "t"},
            {"UPDATE LOW_PRIORITY t1, db2.t2 SET t1.a = t2.a WHERE t1.id = t2.id", sk::write, false, "t1,db2.t2"},
            {"UPDATE t1 JOIN t2 ON t1.id = t2.id SET t1.a = (SELECT MAX(b) FROM t3)", sk::write, false, "t1,t2,t3"},
            {"DELETE FROM t WHERE id = 1", sk::write, false, "t"},
            {"DELETE t1, t2 FROM t1 INNER JOIN db2.t2 ON t1.id = t2.id", sk::write, false, "t1,db2.t2"},
            {"DELETE QUICK FROM a.t1, b.t2 USING a.t1 JOIN b.t2 JOIN c.t3", sk::write, false, "a.t1,b.t2,c.t3"},
            {"WITH c AS (SELECT id FROM t2) UPDATE t1 SET a = 1 WHERE id IN (SELECT id FROM c)", sk::write, false,
             "t2,t1,c"},
            {"WITH c AS (SELECT 1) DELETE FROM t WHERE 1", sk::write, false, "t"},
            {"LOAD DATA INFILE '/tmp/x' INTO TABLE db.t FIELDS TERMINATED BY ','", sk::write, false, "db.t"},
            {"LOAD DATA LOCAL INFILE 'x' REPLACE INTO TABLE t", sk::write, false, "t"},
            {"LOAD XML INFILE 'x' INTO TABLE t", sk::write, false, "t"},
            {"CREATE TABLE db.t (a INT PRIMARY KEY, b INT REFERENCES p(id))", sk::write, false, "db.t,p"},
            {"CREATE TABLE IF NOT EXISTS t LIKE db2.u", sk::write, false, "t,db2.u"},
            {"CREATE TABLE t (LIKE u)", sk::write, false, "t,u"},
            {"CREATE OR REPLACE TABLE t AS SELECT * FROM u", sk::write, false, "t,u"},
            {"CREATE DATABASE IF NOT EXISTS db3", sk::write, false, "db3."},
            {"CREATE SCHEMA `db 4`", sk::write, false, "db 4."},
            {"DROP DATABASE db3", sk::write, false, "db3."},
            {"ALTER DATABASE db3 CHARACTER SET utf8mb4", sk::write, false, "db3."},
            {"ALTER DATABASE CHARACTER SET utf8mb4", sk::write, false, ""},
            {"ALTER TABLE t ADD COLUMN c INT, ADD INDEX (c)", sk::write, false, "t"},
            {"ALTER ONLINE IGNORE TABLE db.t RENAME TO db2.t", sk::write, false, "db.t,db2.t"},
            {"ALTER TABLE t EXCHANGE PARTITION p WITH TABLE db2.t2", sk::write, false, "t,db2.t2"},
            {"RENAME TABLE a TO b, db.c TO db2.d", sk::write, false, "a,b,db.c,db2.d"},
            {"TRUNCATE TABLE db.t", sk::write, false, "db.t"},
            {"TRUNCATE t", sk::write, false, "t"},
            {"CREATE INDEX i ON db.t (a)", sk::write, false, "db.t"},
            {"CREATE UNIQUE INDEX i ON t (a)", sk::write, false, "t"},
            {"DROP INDEX i ON t", sk::write, false, "t"},
            {"CREATE VIEW db.v AS SELECT * FROM t", sk::write, false, "db.v,t"},
            {"CREATE OR REPLACE ALGORITHM=MERGE DEFINER=`u`@`h` SQL SECURITY INVOKER VIEW v AS SELECT 1", sk::write,
             false, "v"},
            {"CREATE DEFINER=CURRENT_USER() TRIGGER tr BEFORE INSERT ON db.t FOR EACH ROW SET NEW.a = 1", sk::write,
             false, "tr,db.t"},
            {"DROP VIEW IF EXISTS v1, db.v2", sk::write, false, "v1,db.v2"},
            {"DROP PROCEDURE IF EXISTS db.p", sk::write, false, "db.p"},
            {"CREATE SEQUENCE s START WITH 1", sk::write, false, "s"},
            {"OPTIMIZE TABLE t1, db.t2", sk::write, false, "t1,db.t2"},
            {"ANALYZE TABLE t", sk::write, false, "t"},
            {"ANALYZE NO_WRITE_TO_BINLOG TABLE t", sk::write, false, "t"},
            {"REPAIR TABLE t", sk::write, false, "t"},
            {"CHECK TABLE t", sk::write, false, "t"},
            {"GRANT SELECT ON db.* TO 'u'@'%'", sk::write, false, "", flag_tables_unknown},
            {"REVOKE ALL ON *.* FROM u", sk::write, false, any_tables, flag_tables_unknown},
            {"FLUSH TABLES WITH READ LOCK", sk::write, false, "", flag_tables_unknown},
            {"KILL QUERY 12", sk::write, false, "", flag_tables_unknown},
            {"CREATE USER u IDENTIFIED BY 'x'", sk::write, false, "", flag_tables_unknown},
            {"SET PASSWORD FOR u = PASSWORD('x')", sk::write, false, "", flag_tables_unknown},
            {"PURGE BINARY LOGS TO 'x'", sk::write, false},
            {"START SLAVE", sk::write, false},
            {"STOP REPLICA", sk::write, false},
            {"CHANGE MASTER TO MASTER_HOST='h'", sk::write, false},
            {"PREPARE s FROM 'SELECT 1'", sk::unknown, false},
            {"EXECUTE s", sk::unknown, false},
            {"DEALLOCATE PREPARE s", sk::unknown, false},
            {"BEGIN NOT ATOMIC SELECT 1; END", sk::multi_statement, false},
            {"TABLE t", sk::unknown, false},
        });
    }

    void transactions()
    {
        check_all({
            {"BEGIN", sk::begin, false},
            {"begin work", sk::begin, false},
            {"START TRANSACTION", sk::begin, false},
            {"START TRANSACTION WITH CONSISTENT SNAPSHOT", sk::begin, false},
            {"START TRANSACTION READ ONLY", sk::begin_read_only, false},
            {"start transaction read only, with consistent snapshot", sk::begin_read_only, false},
            {"START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY", sk::begin_read_only, false},
            {"START TRANSACTION READ WRITE", sk::begin_read_write, false},
            {"START TRANSACTION READ ONLY, READ WRITE", sk::unknown, false},
            {"START TRANSACTION READ SOMETIMES", sk::unknown, false},
            {"COMMIT", sk::commit, false},
            {"commit work", sk::commit, false},
            {"COMMIT AND CHAIN", sk::commit, false},
            {"COMMIT WORK AND NO CHAIN NO RELEASE", sk::commit, false},
            {"COMMIT RELEASE", sk::commit, false},
            {"ROLLBACK", sk::rollback, false},
            {"ROLLBACK WORK AND CHAIN", sk::rollback, false},
            {"ROLLBACK TO SAVEPOINT sp1", sk::rollback_to_savepoint, false},
            {"rollback work to sp1", sk::rollback_to_savepoint, false},
            {"SAVEPOINT sp1", sk::savepoint, false},
            {"RELEASE SAVEPOINT sp1", sk::release_savepoint, false},
            {"XA START 'x'", sk::xa, false},
            {"XA END 'x'", sk::xa, false},
            {"XA PREPARE 'x'", sk::xa, false},
            {"XA COMMIT 'x' ONE PHASE", sk::xa, false},
            {"XA ROLLBACK 'x'", sk::xa, false},
            {"XA RECOVER", sk::xa, false},
        });
    }

    void transaction_payloads()
    {
        auto s = classify("COMMIT AND CHAIN RELEASE");
        CPPUNIT_ASSERT(s.chain && s.release);
        s = classify("COMMIT AND NO CHAIN NO RELEASE");
        CPPUNIT_ASSERT(!s.chain && !s.release);
        s = classify("ROLLBACK AND CHAIN");
        CPPUNIT_ASSERT(s.kind == sk::rollback && s.chain && !s.release);
        s = classify("ROLLBACK TO SAVEPOINT `my sp`");
        CPPUNIT_ASSERT(s.kind == sk::rollback_to_savepoint && s.name == "my sp");
        s = classify("SAVEPOINT sp1");
        CPPUNIT_ASSERT(s.name == "sp1");
        s = classify("RELEASE SAVEPOINT sp2");
        CPPUNIT_ASSERT(s.name == "sp2");
        const struct {
            std::string_view sql;
            xa_action action;
        } xa_rows[] = {{"XA START 'a'", xa_action::start},   {"XA BEGIN 'a'", xa_action::start},
                       {"XA END 'a'", xa_action::end},       {"XA PREPARE 'a'", xa_action::prepare},
                       {"XA COMMIT 'a'", xa_action::commit}, {"XA ROLLBACK 'a'", xa_action::rollback},
                       {"XA RECOVER", xa_action::recover}};
        for (const auto& r : xa_rows) CPPUNIT_ASSERT_MESSAGE(std::string(r.sql), classify(r.sql).xa == r.action);
    }

    void set_statements()
    {
        check_all({
            {"SET autocommit = 0", sk::set_autocommit, false},
            {"SET autocommit=1", sk::set_autocommit, false},
            {"set @@autocommit := OFF", sk::set_autocommit, false},
            {"SET SESSION autocommit = ON", sk::set_autocommit, false},
            {"SET @@session.autocommit = 'OFF'", sk::set_autocommit, false},
            {"SET GLOBAL autocommit = 0", sk::set_global, false},
            {"SET TRANSACTION READ ONLY", sk::set_transaction_read_only, false},
            {"SET SESSION TRANSACTION READ ONLY", sk::set_transaction_read_only, false},
            {"SET LOCAL TRANSACTION ISOLATION LEVEL READ COMMITTED, READ ONLY", sk::set_transaction_read_only, false},
            {"SET TRANSACTION READ WRITE", sk::set_transaction_read_write, false},
            {"SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ WRITE", sk::set_transaction_read_write, false},
            {"SET TRANSACTION ISOLATION LEVEL SERIALIZABLE", sk::set_session_state, false},
            {"SET GLOBAL TRANSACTION READ ONLY", sk::set_global, false},
            {"SET tx_read_only = 1", sk::set_transaction_read_only, false},
            {"SET @@session.transaction_read_only = OFF", sk::set_transaction_read_write, false},
            {"SET NAMES utf8mb4", sk::set_session_state, false},
            {"SET NAMES 'utf8mb4' COLLATE 'utf8mb4_general_ci'", sk::set_session_state, false},
            {"SET CHARACTER SET utf8", sk::set_session_state, false},
            {"SET CHARSET latin1", sk::set_session_state, false},
            {"SET sql_mode = 'STRICT_ALL_TABLES'", sk::set_session_state, false},
            {"SET @a = 1, @b := 'x'", sk::set_session_state, false},
            {"SET @OLD_SQL_MODE=@@SQL_MODE, SQL_MODE='NO_AUTO_VALUE_ON_ZERO'", sk::set_session_state, false},
            {"SET SESSION wait_timeout = 60, LOCAL net_read_timeout = 30", sk::set_session_state, false},
            {"SET ROLE admin", sk::set_session_state, false},
            {"SET DEFAULT ROLE admin FOR u", sk::write, false},
            {"SET GLOBAL max_connections = 100", sk::set_global, false},
            {"SET @@global.max_connections = 100", sk::set_global, false},
            {"SET max_connections = 1, GLOBAL read_only = 1", sk::set_global, false},
            {"SET PERSIST max_connections = 100", sk::set_global, false},
            {"SET STATEMENT max_statement_time = 1 FOR SELECT * FROM t", sk::read, true, "t"},
            {"SET STATEMENT sql_mode = '' FOR UPDATE t SET a = 1", sk::write, false, "t"},
            {"SET", sk::unknown, false},
            {"SET x", sk::unknown, false},
        });
    }

    void set_payloads()
    {
        const struct {
            std::string_view sql;
            autocommit_value autocommit;
            access_mode access;
            tx_scope scope;
            bool replayable;
        } rows[] = {
            {"SET autocommit = 0", autocommit_value::off, access_mode::unchanged, tx_scope::none, true},
            {"SET autocommit = true", autocommit_value::on, access_mode::unchanged, tx_scope::none, true},
            {"SET autocommit = @x", autocommit_value::unknown, access_mode::unchanged, tx_scope::none, true},
            {"SET autocommit = 1 + 0", autocommit_value::unknown, access_mode::unchanged, tx_scope::none, true},
            {"SET autocommit = 0, sql_mode = ''", autocommit_value::off, access_mode::unchanged, tx_scope::none, true},
            {"SET TRANSACTION READ ONLY", autocommit_value::unchanged, access_mode::read_only,
             tx_scope::next_transaction, true},
            {"SET SESSION TRANSACTION READ ONLY", autocommit_value::unchanged, access_mode::read_only,
             tx_scope::session, true},
            {"SET TRANSACTION READ WRITE", autocommit_value::unchanged, access_mode::read_write,
             tx_scope::next_transaction, true},
            {"SET GLOBAL TRANSACTION READ ONLY", autocommit_value::unchanged, access_mode::read_only, tx_scope::global,
             false},
            {"SET tx_read_only = 1", autocommit_value::unchanged, access_mode::read_only, tx_scope::next_transaction,
             true},
            {"SET SESSION tx_read_only = ON", autocommit_value::unchanged, access_mode::read_only, tx_scope::session,
             true},
            {"SET tx_read_only = 0", autocommit_value::unchanged, access_mode::read_write, tx_scope::session, true},
            {"SET transaction_read_only = @v", autocommit_value::unchanged, access_mode::read_write, tx_scope::session,
             true},
            {"SET NAMES utf8mb4", autocommit_value::unchanged, access_mode::unchanged, tx_scope::none, true},
            {"SET @a = (SELECT MAX(id) FROM t)", autocommit_value::unchanged, access_mode::unchanged, tx_scope::none,
             false},
            {"SET @a = LAST_INSERT_ID()", autocommit_value::unchanged, access_mode::unchanged, tx_scope::none, false},
            {"SET @a = my_func()", autocommit_value::unchanged, access_mode::unchanged, tx_scope::none, false},
            {"SET @a = GET_LOCK('x', 1)", autocommit_value::unchanged, access_mode::unchanged, tx_scope::none, false},
            {"SET @a = @@server_id", autocommit_value::unchanged, access_mode::unchanged, tx_scope::none, false},
            {"SET sql_mode = CONCAT(@@sql_mode, ',STRICT_ALL_TABLES')", autocommit_value::unchanged,
             access_mode::unchanged, tx_scope::none, true},
            {"SET sql_mode = @old_mode", autocommit_value::unchanged, access_mode::unchanged, tx_scope::none, true},
            {"SET GLOBAL max_connections = 1", autocommit_value::unchanged, access_mode::unchanged, tx_scope::none,
             false},
            {"SET @a = 'x", autocommit_value::unchanged, access_mode::unchanged, tx_scope::none, false},
        };
        const struct {
            std::string_view sql;
            int assignments;
        } counts[] = {{"SET autocommit = 0", 1},
                      {"SET autocommit = 0, sql_mode = ''", 2},
                      {"SET @a = 1, @b = (SELECT 1), c = 2", 3},
                      {"SET NAMES utf8", 1},
                      {"SET SESSION TRANSACTION READ ONLY", 1},
                      {"SELECT 1", 0}};
        for (const auto& c : counts)
            CPPUNIT_ASSERT_EQUAL_MESSAGE(std::string(c.sql), c.assignments, int(classify(c.sql).assignments));
        for (const auto& r : rows) {
            const auto s = classify(r.sql);
            const std::string what(r.sql);
            CPPUNIT_ASSERT_MESSAGE(what + ": autocommit", s.autocommit == r.autocommit);
            CPPUNIT_ASSERT_MESSAGE(what + ": access", s.access == r.access);
            CPPUNIT_ASSERT_MESSAGE(what + ": scope", s.scope == r.scope);
            CPPUNIT_ASSERT_MESSAGE(what + ": replayable", s.replayable == r.replayable);
        }
    }

    void session_statements()
    {
        check_all({
            {"USE db2", sk::use_database, false},
            {"use `my db`", sk::use_database, false},
            {"USE", sk::unknown, false},
            {"CREATE TEMPORARY TABLE tmp (a INT)", sk::create_temporary_table, false, "tmp"},
            {"CREATE TEMPORARY TABLE IF NOT EXISTS db.tmp SELECT * FROM t", sk::create_temporary_table, false,
             "db.tmp,t"},
            {"create or replace temporary table `tmp` like t", sk::create_temporary_table, false, "tmp,t"},
            {"DROP TABLE t1, db.t2", sk::drop_table, false, "t1,db.t2"},
            {"DROP TEMPORARY TABLE IF EXISTS tmp", sk::drop_table, false, "tmp"},
            {"LOCK TABLES t1 READ, db.t2 AS x WRITE, t3 READ LOCAL", sk::lock_tables, false, "t1,db.t2,t3"},
            {"LOCK TABLE t WRITE", sk::lock_tables, false, "t"},
            {"UNLOCK TABLES", sk::unlock_tables, false},
            {"unlock table", sk::unlock_tables, false},
            {"HANDLER t OPEN", sk::handler, false, "t"},
            {"HANDLER t READ `PRIMARY` NEXT", sk::handler, false},
            {"CALL p(1, @x)", sk::call, false, "p"},
            {"CALL db2.p()", sk::call, false, "db2.p"},
            {"DO SLEEP(1)", sk::do_stmt, false},
            {"DO GET_LOCK('a', 1)", sk::do_stmt, false},
        });
        auto s = classify("USE `my db`");
        CPPUNIT_ASSERT(s.name == "my db");
        s = classify("USE db2 ;");
        CPPUNIT_ASSERT(s.name == "db2" && s.kind == sk::use_database);
        s = classify("CREATE TEMPORARY TABLE db.tmp (a INT)");
        CPPUNIT_ASSERT(s.schema == "db" && s.name == "tmp");
        s = classify("DROP TEMPORARY TABLE tmp");
        CPPUNIT_ASSERT(s.temporary);
        s = classify("DROP TABLE t");
        CPPUNIT_ASSERT(!s.temporary);
    }

    void show_and_explain()
    {
        check_all({
            {"SHOW TABLES", sk::show, true, ""},
            {"show full tables from db2 like 'x%'", sk::show, true, "db2."},
            {"SHOW DATABASES", sk::show, true, ""},
            {"SHOW COLUMNS FROM t", sk::show, true, "t"},
            {"SHOW FULL COLUMNS FROM t FROM db2", sk::show, true, "db2.t"},
            {"SHOW INDEX FROM db2.t", sk::show, false, "db2.t", flag_server_specific},
            {"SHOW KEYS FROM t", sk::show, false, "t", flag_server_specific},
            {"SHOW TABLE STATUS FROM db2 WHERE Name = 't'", sk::show, false, "db2.", flag_server_specific},
            {"SHOW CREATE TABLE db2.t", sk::show, false, "db2.t", flag_server_specific},
            {"SHOW CREATE VIEW db2.v", sk::show, true, "db2.v"},
            {"SHOW CREATE DATABASE db2", sk::show, true, "db2."},
            {"SHOW CREATE PROCEDURE p", sk::show, true, "p"},
            {"SHOW GRANTS", sk::show, true, ""},
            {"SHOW GRANTS FOR 'u'@'localhost'", sk::show, true, ""},
            {"SHOW CHARACTER SET", sk::show, true, ""},
            {"SHOW COLLATION LIKE 'utf8%'", sk::show, true, ""},
            {"SHOW ENGINES", sk::show, true, ""},
            {"SHOW TRIGGERS FROM db", sk::show, true, "db."},
            {"SHOW PROCEDURE STATUS WHERE Db = 'x'", sk::show, true, ""},
            {"SHOW WARNINGS", sk::show, false, "", flag_server_specific},
            {"SHOW ERRORS", sk::show, false, "", flag_server_specific},
            {"SHOW COUNT(*) WARNINGS", sk::show, false, "", flag_server_specific},
            {"SHOW MASTER STATUS", sk::show, false, "", flag_server_specific},
            {"SHOW BINLOG STATUS", sk::show, false, "", flag_server_specific},
            {"SHOW BINARY LOGS", sk::show, false, "", flag_server_specific},
            {"SHOW BINLOG EVENTS", sk::show, false, "", flag_server_specific},
            {"SHOW SLAVE STATUS", sk::show, false, "", flag_server_specific},
            {"SHOW STATUS", sk::show, false, "", flag_server_specific},
            {"SHOW SESSION STATUS LIKE 'Handler%'", sk::show, false, "", flag_server_specific},
            {"SHOW GLOBAL VARIABLES", sk::show, false, "", flag_server_specific},
            {"SHOW VARIABLES LIKE 'x'", sk::show, false, "", flag_server_specific},
            {"SHOW PROCESSLIST", sk::show, false, "", flag_server_specific},
            {"SHOW FULL PROCESSLIST", sk::show, false, "", flag_server_specific},
            {"SHOW PROFILES", sk::show, false, "", flag_server_specific},
            {"SHOW ENGINE INNODB STATUS", sk::show, false, "", flag_server_specific},
            {"SHOW OPEN TABLES", sk::show, false, "", flag_server_specific},
            {"SHOW TABLES WHERE my_func(1)", sk::show, false, "", flag_unknown_function},
            // EXPLAIN and ANALYZE show the answering server's plan (B10): the primary's.
            {"EXPLAIN SELECT * FROM t WHERE id = 1", sk::explain, false, "t", flag_server_specific},
            {"explain extended select 1", sk::explain, false, "", flag_server_specific},
            {"EXPLAIN EXTENDED SELECT * FROM t WHERE id > 1", sk::explain, false, "t", flag_server_specific},
            {"EXPLAIN PARTITIONS SELECT * FROM t", sk::explain, false, "t", flag_server_specific},
            {"EXPLAIN FORMAT=JSON SELECT * FROM db.t", sk::explain, false, "db.t", flag_server_specific},
            {"EXPLAIN (SELECT 1) UNION (SELECT 2)", sk::explain, false, "", flag_server_specific},
            {"EXPLAIN UPDATE t SET a = 1", sk::explain, false, "t", flag_explain_write | flag_server_specific},
            {"EXPLAIN DELETE FROM t", sk::explain, false, "t", flag_explain_write | flag_server_specific},
            {"EXPLAIN INSERT INTO t VALUES (1)", sk::explain, false, "t", flag_explain_write | flag_server_specific},
            {"EXPLAIN SELECT LAST_INSERT_ID()", sk::explain, false, "", flag_primary_function | flag_server_specific},
            {"EXPLAIN ANALYZE SELECT * FROM t", sk::explain, false, "t", flag_executes | flag_server_specific},
            {"ANALYZE SELECT * FROM t", sk::explain, false, "t", flag_executes | flag_server_specific},
            {"ANALYZE FORMAT=JSON SELECT * FROM t", sk::explain, false, "t", flag_executes | flag_server_specific},
            {"ANALYZE UPDATE t SET a = 1", sk::write, false, "t", flag_executes | flag_server_specific},
            {"ANALYZE DELETE FROM t", sk::write, false, "t", flag_executes | flag_server_specific},
            {"EXPLAIN FOR CONNECTION 12", sk::explain, false, "", flag_server_specific},
            {"DESCRIBE t", sk::explain, true, "t"},
            {"DESC db2.t", sk::explain, true, "db2.t"},
            {"desc t col1", sk::explain, true, "t"},
            {"EXPLAIN t", sk::explain, true, "t"},
        });
    }

    void comments_and_strings()
    {
        check_all({
            {"/* a comment */ SELECT 1", sk::read, true, ""},
            {"-- a comment\nSELECT 1", sk::read, true, ""},
            {"--\tcomment\nSELECT 1", sk::read, true, ""},
            {"# a comment\nSELECT 1", sk::read, true, ""},
            {"SELECT 1 -- trailing", sk::read, true, ""},
            {"SELECT 1 --", sk::read, true, ""},
            {"SELECT 1 # trailing", sk::read, true, ""},
            {"SELECT 1 --1", sk::read, true, ""},
            {"SELECT /* FROM x */ a FROM t", sk::read, true, "t"},
            {"SELECT a FROM /* comment */ t /* another */ WHERE 1", sk::read, true, "t"},
            {"SELECT a FROM db /* x */ . /* y */ t", sk::read, true, "db.t"},
            {"/* UPDATE t SET a = 1 */ SELECT 1", sk::read, true, ""},
            {"-- DELETE FROM t\nSELECT 1", sk::read, true, ""},
            {"SELECT 1 /* ; DELETE FROM t */", sk::read, true, ""},
            {"SELECT 1 -- ; DELETE FROM t", sk::read, true, ""},
            {"SELECT 1 --; DELETE FROM t", sk::multi_statement, false},
            {"/* x */ /* y */ -- z\n# w\n   INSERT INTO t VALUES (1)", sk::write, false, "t"},
            {"SELECT 'a;b', \"c;d\" FROM t", sk::read, true, "t"},
            {"SELECT 'it''s', \"say \"\"hi\"\"\", 'back\\'slash' FROM t", sk::read, true, "t"},
            {"SELECT 'DELETE FROM t; DROP TABLE x' AS s", sk::read, true, ""},
            {"SELECT '\\\\' FROM t", sk::read, true, "t"},
            {"SELECT '/*', '*/', '--', '#' FROM t", sk::read, true, "t"},
            {"SELECT `select`, `from` FROM `from`", sk::read, true, "from"},
            {"SELECT `a``b` FROM t", sk::read, true, "t"},
            {"SELECT 'x' FROM `weird``name`", sk::read, false, "", flag_escaped_name},
            {"SELECT `a;b` FROM t", sk::read, true, "t"},
        });
    }

    void executable_comments()
    {
        check_all({
            {"/*!40101 SET NAMES utf8 */", sk::set_session_state, false},
            {"/*! SELECT 1 */", sk::read, true, ""},
            {"SELECT /*!50100 SQL_NO_CACHE */ a FROM t", sk::read, true, "t"},
            {"SELECT * FROM t /*!50100 FOR UPDATE */", sk::locking_read, false, "t"},
            {"SELECT * FROM t /*!FOR UPDATE*/", sk::locking_read, false, "t"},
            {"SELECT * FROM t /*M!100100 FOR UPDATE */", sk::locking_read, false, "t"},
            {"SELECT * FROM t /*M! LOCK IN SHARE MODE */", sk::locking_read, false, "t"},
            {"SELECT 1 /*!99999 , LAST_INSERT_ID() */", sk::read, true, ""},
            {"SELECT 1 /*M!999999 , LAST_INSERT_ID() */", sk::read, true, ""},
            {"SELECT 1 /*!50700 , LAST_INSERT_ID() */", sk::read, true, ""},   // MySQL 5.7+: MariaDB skips it
            {"SELECT 1 /*M!50700 , LAST_INSERT_ID() */", sk::must_primary, false, ""},
            {"SELECT 1 /*!100100 , LAST_INSERT_ID() */", sk::must_primary, false, ""},
            {"SELECT 1 /*!40000 ; DELETE FROM t */", sk::multi_statement, false},
            {"/*!40000 DELETE FROM t */", sk::write, false, "t"},
            {"/*!99999 DELETE FROM t */ SELECT 1", sk::read, true, ""},
            {"/*!99999 /* nested */ DELETE FROM t */ SELECT 1", sk::read, true, ""},
            {"/*! SELECT /* inner */ 1 */", sk::read, true, ""},
            {"/*!40101 SELECT 'x */' */", sk::read, false, "", flag_doubtful},   // see below
            {"SELECT 1 /*!40101 , 2", sk::read, false, "", flag_unterminated},
            {"SELECT 1 /*!40101 /*!40101 , 2 */ */", sk::read, false, "", flag_doubtful},
            {"SELECT 1 /*!40101 # x */\n, @x */", sk::must_primary, false, "", flag_doubtful},
            {"SELECT 1 /*!999999 , 2", sk::read, false, "", flag_unterminated},
            // A server that skips the comment ends it inside the string and runs LAST_INSERT_ID().
            {"SELECT /*!40101 ' */ LAST_INSERT_ID() /*' */", sk::read, false, "", flag_doubtful},
        });
    }

    void hints()
    {
        const struct {
            std::string_view sql;
            route_hint hint;
            bool plain;
        } rows[] = {
            {"/* causeway:primary */ SELECT 1", route_hint::primary, false},
            {"SELECT /* causeway:replica */ 1", route_hint::replica, true},
            {"SELECT 1 /*causeway:PRIMARY*/", route_hint::primary, false},
            {"/*+ causeway : replica */ SELECT * FROM t", route_hint::replica, true},
            {"/* CAUSEWAY:Replica */ UPDATE t SET a = 1", route_hint::replica, false},
            {"/* causeway:replica */ /* causeway:primary */ SELECT 1", route_hint::primary, false},
            {"/* causeway:primary */ /* causeway:replica */ SELECT 1", route_hint::primary, false},
            {"/* causeway:primaryx */ SELECT 1", route_hint::none, true},
            {"/* not causeway:primary */ SELECT 1", route_hint::none, true},
            {"SELECT '/* causeway:primary */'", route_hint::none, true},
            {"-- causeway:primary\nSELECT 1", route_hint::none, true},
        };
        for (const auto& r : rows) {
            const auto s = classify(r.sql);
            CPPUNIT_ASSERT_MESSAGE(std::string(r.sql), s.hint == r.hint);
            CPPUNIT_ASSERT_MESSAGE(std::string(r.sql), s.is_plain_read == r.plain);
        }
    }

    void multi_statements()
    {
        check_all({
            {"SELECT 1;", sk::read, true, ""},
            {"SELECT 1 ; ", sk::read, true, ""},
            {"SELECT 1; -- trailing comment", sk::read, true, ""},
            {"SELECT 1; /* trailing */ ;; ", sk::read, true, ""},
            {"SELECT 1; SELECT 2", sk::multi_statement, false, "", flag_multi},
            {"SELECT * FROM t1; SELECT * FROM db.t2", sk::multi_statement, false, "t1,db.t2"},
            {"SELECT 1; DELETE FROM t", sk::multi_statement, false, "t"},
            {"INSERT INTO t VALUES (1); INSERT INTO t VALUES (2)", sk::multi_statement, false, "t"},
            {"BEGIN; UPDATE t SET a = 1; COMMIT", sk::multi_statement, false, "t"},
            {"USE db2; SELECT * FROM t", sk::multi_statement, false, "t"},
            {"CREATE PROCEDURE p() BEGIN SELECT 1; END", sk::multi_statement, false},
        });
        const auto s = classify("BEGIN; UPDATE t SET a = 1; COMMIT;");
        const std::uint32_t want =
            (1u << unsigned(sk::begin)) | (1u << unsigned(sk::write)) | (1u << unsigned(sk::commit));
        CPPUNIT_ASSERT_EQUAL(want, s.kinds_seen);
        CPPUNIT_ASSERT(classify("SELECT 1").kinds_seen == (1u << unsigned(sk::read)));
        CPPUNIT_ASSERT(!classify("SET @a = 1; SET @b = 2").replayable);
    }

    void table_references()
    {
        check_all({
            {"SELECT * FROM db.t", sk::read, true, "db.t"},
            {"SELECT * FROM `db`.`t`", sk::read, true, "db.t"},
            {"SELECT * FROM `db`.t, db2.`t 2`", sk::read, true, "db.t,db2.t 2"},
            {"SELECT * FROM `db.t`", sk::read, true, "db.t"},   // one name with a dot: unqualified
            {"SELECT * FROM t AS a, u b, db.v", sk::read, true, "t,u,db.v"},
            {"SELECT * FROM t1 JOIN t2 ON t1.id = t2.id LEFT JOIN db.t3 USING (id)", sk::read, true, "t1,t2,db.t3"},
            {"SELECT * FROM t1 LEFT OUTER JOIN t2 ON (t1.a = t2.a) NATURAL JOIN t3 CROSS JOIN t4", sk::read, true,
             "t1,t2,t3,t4"},
            {"SELECT * FROM t1 JOIN t2 ON t1.a = t2.a, t3", sk::read, true, "t1,t2,t3"},
            {"SELECT * FROM (t1, t2) JOIN (t3 JOIN db.t4 ON 1) ON 1", sk::read, true, "t1,t2,t3,db.t4"},
            {"SELECT * FROM (SELECT * FROM db2.t) AS x", sk::read, true, "db2.t"},
            {"SELECT * FROM ((SELECT a FROM t1) AS x JOIN t2)", sk::read, true, "t1,t2"},
            {"SELECT * FROM t1, (SELECT * FROM t2) x, t3", sk::read, true, "t1,t2,t3"},
            {"SELECT a, (SELECT MAX(b) FROM db2.u) FROM t WHERE c IN (SELECT c FROM db3.v)", sk::read, true,
             "db2.u,t,db3.v"},
            {"SELECT * FROM t WHERE EXISTS (SELECT 1 FROM u WHERE u.a = t.a)", sk::read, true, "t,u"},
            {"SELECT COALESCE((SELECT a FROM db2.t LIMIT 1), 0)", sk::read, true, "db2.t"},
            {"SELECT t.*, db.t.c FROM db.t", sk::read, true, "db.t"},
            {"SELECT * FROM t PARTITION (p0, p1), u", sk::read, true, "t,u"},
            {"SELECT * FROM t USE INDEX (i1, i2) JOIN u FORCE INDEX FOR JOIN (i3) ON 1", sk::read, true, "t,u"},
            {"SELECT * FROM t1 WHERE a = 1 AND b IN (1, 2), t2", sk::read, true, "t1"},
            {"SELECT * FROM t USE INDEX FOR ORDER BY (i), db2.u", sk::read, true, "t,db2.u"},
            {"SELECT * FROM t IGNORE INDEX FOR GROUP BY (i) JOIN db2.u", sk::read, true, "t,db2.u"},
            {"SELECT * FROM t1 value, db2.t2", sk::read, true, "t1,db2.t2"},
            {"SELECT * FROM t1 AS next, db2.t2", sk::read, true, "t1,db2.t2"},
            {"SELECT * FROM lateral", sk::read, true, "lateral"},
            {"SELECT * FROM status, db2.data", sk::read, true, "status,db2.data"},
            {"SELECT * FROM t FOR SYSTEM_TIME ALL, db2.u", sk::read, true, "t,db2.u"},
            {"SELECT * FROM t FOR SYSTEM_TIME FROM '2020-01-01' TO '2021-01-01'", sk::read, false, any_tables,
             flag_tables_unknown},
            {"SELECT * FROM t, t, db.t", sk::read, true, "t,db.t"},
            {"SELECT * FROM db.t, DB.t", sk::read, true, "db.t,DB.t"},
            {"SELECT * FROM db . t", sk::read, true, "db.t"},
            {"SELECT * FROM 1db.2t", sk::read, true, "1db.2t"},
            {"SELECT * FROM t1 JOIN t2 JOIN t3 JOIN t4 JOIN t5 JOIN t6 JOIN t7 JOIN t8 JOIN t9 JOIN t10 JOIN "
             "t11 JOIN t12 JOIN t13 JOIN t14 JOIN t15 JOIN t16",
             sk::read, true},
            {"SELECT * FROM t1 JOIN t2 JOIN t3 JOIN t4 JOIN t5 JOIN t6 JOIN t7 JOIN t8 JOIN t9 JOIN t10 JOIN "
             "t11 JOIN t12 JOIN t13 JOIN t14 JOIN t15 JOIN t16 JOIN t17",
             sk::read, false, any_tables, flag_too_many_tables},
            {"SELECT * FROM LATERAL (SELECT 1) x", sk::read, true, ""},
            {"SELECT * FROM 'db'.'t'", sk::read, false, any_tables, flag_tables_unknown},
            {"SELECT * FROM ``", sk::read, false, "", flag_tables_unknown},   // found by the fuzzer
            {"SELECT * FROM db.``", sk::read, false, any_tables, flag_tables_unknown},
            {"SELECT * FROM ``.t", sk::read, false, any_tables, flag_tables_unknown},
        });
        const auto s = classify(
            "SELECT * FROM t1 JOIN t2 JOIN t3 JOIN t4 JOIN t5 JOIN t6 JOIN t7 JOIN t8 JOIN t9 "
            "JOIN t10 JOIN t11 JOIN t12 JOIN t13 JOIN t14 JOIN t15 JOIN t16 JOIN t17");
        CPPUNIT_ASSERT(!s.tables_complete());
        CPPUNIT_ASSERT_EQUAL(std::size_t(max_table_refs), s.table_refs().size());
        // Views point into the input.
        const std::string sql = "SELECT * FROM db9.t9";
        const auto v = classify(sql);
        CPPUNIT_ASSERT(v.tables[0].schema.data() == sql.data() + 14);
    }

    void malformed_input()
    {
        check_all({
            {"", sk::unknown, false},
            {"   ", sk::unknown, false},
            {"/* only a comment */", sk::unknown, false},
            {";", sk::unknown, false},
            {"SELECT 'unterminated", sk::read, false, any_tables, flag_unterminated},
            {"SELECT \"unterminated", sk::read, false, any_tables, flag_unterminated},
            {"SELECT 'ends in backslash\\'", sk::read, false, any_tables, flag_unterminated},
            {"SELECT `unterminated", sk::read, false, any_tables, flag_unterminated},
            {"SELECT * FROM `t", sk::read, false, any_tables, flag_unterminated},
            {"SELECT 1 /* unterminated", sk::read, false, any_tables, flag_unterminated},
            {"SELECT 1 /*! unterminated", sk::read, false, any_tables, flag_unterminated},
            {"SELECT @'x", sk::must_primary, false, any_tables, flag_unterminated},
            {"SELECT (1", sk::read, false, any_tables, flag_doubtful},
            {"SELECT 1)", sk::read, false, any_tables, flag_doubtful},
            {"SELECT (((((1)))", sk::read, false, any_tables, flag_doubtful},
            {"SELECT 1 FROM", sk::read, false, "", flag_tables_unknown},
            {"SELECT * FROM t WHERE", sk::read, true, "t"},
            {"SELECT * FROM db.", sk::read, true, "db"},
            {"SELECT\0 1"sv, sk::read, false, any_tables, flag_doubtful},
            {"SELECT 1 \x01"sv, sk::read, false, any_tables, flag_doubtful},
            {"\xff\xfe\x00\x01garbage"sv, sk::unknown, false},
            {"SELECT \xc3\xa9t\xc3\xa9 FROM caf\xc3\xa9", sk::read, true, "caf\xc3\xa9"},
            {"(", sk::unknown, false},
            {"(UPDATE t SET a = 1)", sk::unknown, false},
            {")", sk::unknown, false},
            {"@x", sk::unknown, false},
            {"'SELECT 1'", sk::unknown, false},
            {"SELECT @", sk::read, true, ""},
            {"WITH", sk::unknown, false},
            {"WITH c AS (SELECT 1", sk::unknown, false},
            {"WITH c AS SELECT 1", sk::unknown, false},
            {"SHOW", sk::show, false},
            {"EXPLAIN", sk::unknown, false},
            {"BEGIN junk", sk::begin, false, any_tables, flag_doubtful},
            {"COMMIT AND", sk::commit, false, any_tables, flag_doubtful},
            {"ROLLBACK TO", sk::rollback_to_savepoint, false, any_tables, flag_doubtful},
            {"INSERT", sk::write, false, any_tables, flag_tables_unknown},
            {"CREATE", sk::write, false, any_tables, flag_tables_unknown},
            {"LOAD DATA INFILE 'x'", sk::write, false, any_tables, flag_tables_unknown},
        });
        // Deep nesting is flagged, not a crash; a long flat text is linear.
        std::string deep = "SELECT ";
        for (int i = 0; i < 10000; ++i) deep += "(";
        deep += "1";
        for (int i = 0; i < 10000; ++i) deep += ")";
        auto s = classify(deep);
        CPPUNIT_ASSERT(s.kind == sk::read && !s.is_plain_read && s.has(flag_deep_nesting));
        std::string big = "SELECT c FROM t WHERE id IN (0";
        for (int i = 1; i < 200000; ++i) big += "," + std::to_string(i);
        big += ")";
        s = classify(big);
        CPPUNIT_ASSERT(s.is_plain_read && render_tables(s) == "t");
    }

    void sql_mode_options()
    {
        lex_options no_bs;
        no_bs.no_backslash_escapes = true;
        // With NO_BACKSLASH_ESCAPES the backslash ends nothing: the DELETE is real.
        check({"SELECT 'a\\'; DELETE FROM t; -- '", sk::multi_statement, false, "t"}, no_bs);
        check({"SELECT 'a\\'; DELETE FROM t; -- '", sk::read, true, ""});
        check({"SELECT 'a\\' FROM t", sk::read, true, "t"}, no_bs);
        lex_options ansi;
        ansi.ansi_quotes = true;
        check({"SELECT \"a\" FROM \"db\".\"t\"", sk::read, true, "db.t"}, ansi);
        check({"SELECT * FROM \"db\".\"t\"", sk::read, false, any_tables, flag_tables_unknown});
        check({"SELECT \"my_func\"(1)", sk::must_primary, false, "", flag_unknown_function}, ansi);
        lex_options old;
        old.server_version = 50500;
        check({"SELECT 1 /*!100100 , LAST_INSERT_ID() */", sk::read, true, ""}, old);
        check({"SELECT 1 /*!50100 , LAST_INSERT_ID() */", sk::must_primary, false, ""}, old);
        lex_options mixed;
        mixed.server_version = 101106;
        mixed.oldest_server_version = 100600;
        check({"SELECT 1 /*!100700 , 2 */", sk::read, false, "", flag_doubtful}, mixed);
        check({"SELECT 1 /*!100500 , 2 */", sk::read, true, ""}, mixed);
        check({"SELECT 1 /*!101200 , 2 */", sk::read, true, ""}, mixed);
        lex_options gbk;
        gbk.multibyte_unsafe_charset = true;
        check({"SELECT '\xbf\\' FROM t", sk::read, false, any_tables, flag_doubtful}, gbk);
        check({"SELECT 'abc' FROM t", sk::read, true, "t"}, gbk);
    }

    void random_bytes_never_crash()
    {
        // Deterministic: printable-heavy soup built from SQL fragments and raw
        // bytes. Only invariants are checked (the fuzz target goes further).
        static const char* const fragments[] = {
            "SELECT ",
            "FROM ",
            "t",
            ".",
            "`",
            "'",
            "\"",
            "\\",
            "/*",
            "*/",
            "/*!",
            "/*M!100100",
            "--",
            " ",
            "\n",
            "#",
            ";",
            "(",
            ")",
            ",",
            "@",
            "@@",
            ":=",
            "FOR ",
            "UPDATE ",
            "WITH ",
            "AS ",
            "JOIN ",
            "INTO ",
            "SET ",
            "LAST_INSERT_ID(",
            "f(",
            "DELETE ",
            "BEGIN",
            "\x80",
            "\0",
        };
        std::mt19937 rng(42);
        for (int round = 0; round < 20000; ++round) {
            std::string sql;
            const int parts = int(rng() % 24);
            for (int i = 0; i < parts; ++i) {
                if (rng() % 5 == 0) {
                    sql += char(rng() % 256);
                } else {
                    const char* f = fragments[rng() % std::size(fragments)];
                    sql += f[0] ? std::string(f) : std::string(1, '\0');
                }
            }
            const auto s = classify(sql);
            if (s.is_plain_read) {
                CPPUNIT_ASSERT(s.flags == 0 && s.tables_complete());
                CPPUNIT_ASSERT(s.kind == sk::read || s.kind == sk::show || s.kind == sk::explain);
            }
            for (const table_ref& r : s.table_refs()) {
                CPPUNIT_ASSERT(
                    r.table.empty() ||
                    (r.table.data() >= sql.data() && r.table.data() + r.table.size() <= sql.data() + sql.size()));
            }
        }
    }

    void names_for_logs()
    {
        for (std::size_t k = 0; k < statement_kind_count; ++k)
            CPPUNIT_ASSERT(std::strcmp(to_string(statement_kind(k)), "invalid") != 0);
        for (std::uint32_t bit = 1; bit <= flag_previous_outcome; bit <<= 1)
            CPPUNIT_ASSERT(std::strcmp(to_string(statement_flag(bit)), "invalid") != 0);
        CPPUNIT_ASSERT_EQUAL(std::string("do"), std::string(to_string(sk::do_stmt)));
        CPPUNIT_ASSERT_EQUAL(std::string("locking"), std::string(to_string(flag_locking)));
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(classifier_test);
