// The statement classifier: what a COM_QUERY (or COM_STMT_PREPARE) text does,
// for routing. One pass over the bytes, no allocation, no exceptions: names
// are string_views into the input, which must outlive the result. It is not a
// parser: it reads what routing needs and answers "not a plain read" whenever
// it is not sure. Routing policy itself lives in worker/router, not here.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "protocol/sql_lexer.hh"

namespace causeway::protocol {

enum class statement_kind : std::uint8_t {
    read,   // SELECT/VALUES/WITH..SELECT; replica-safe iff is_plain_read
    write,   // DML, DDL, GRANT, FLUSH, KILL, LOAD DATA, admin: primary
    locking_read,   // SELECT .. FOR UPDATE | FOR SHARE | LOCK IN SHARE MODE
    must_primary,   // a SELECT with session or server side effects (see flags)
    begin,   // BEGIN [WORK], START TRANSACTION [WITH CONSISTENT SNAPSHOT]
    begin_read_only,   // START TRANSACTION READ ONLY
    begin_read_write,   // START TRANSACTION READ WRITE
    commit,   // COMMIT [WORK] [AND [NO] CHAIN] [[NO] RELEASE]: chain, release
    rollback,   // ROLLBACK [WORK] [AND [NO] CHAIN] [[NO] RELEASE]
    savepoint,   // SAVEPOINT name
    rollback_to_savepoint,   // ROLLBACK [WORK] TO [SAVEPOINT] name: the transaction goes on
    release_savepoint,   // RELEASE SAVEPOINT name
    set_transaction_read_only,   // SET [SESSION] TRANSACTION READ ONLY, SET tx_read_only=1: see scope
    set_transaction_read_write,   // SET [SESSION] TRANSACTION READ WRITE, SET tx_read_only=0
    set_autocommit,   // SET autocommit = v (possibly among other assignments): autocommit
    set_session_state,   // other SET (NAMES, CHARACTER SET, @user, sql_mode, ROLE, ...)
    set_global,   // any GLOBAL/PERSIST assignment: primary only, never replayed
    use_database,   // USE name: name
    create_temporary_table,   // CREATE TEMPORARY TABLE [schema.]name: schema, name
    drop_table,   // DROP [TEMPORARY] TABLE list: tables, temporary
    lock_tables,   // LOCK TABLE[S] list: tables
    unlock_tables,   // UNLOCK TABLE[S]
    xa,   // XA ...: xa
    handler,   // HANDLER t OPEN/READ/CLOSE (server-side cursor state)
    call,   // CALL [schema.]proc(...)
    do_stmt,   // DO expr
    show,   // SHOW ...; replica-safe iff is_plain_read
    explain,   // EXPLAIN/DESCRIBE/ANALYZE <stmt>, DESCRIBE t; replica-safe iff is_plain_read
    multi_statement,   // two or more non-empty statements: kinds_seen, merged flags/tables
    unknown,   // anything else (PREPARE, EXECUTE, BEGIN NOT ATOMIC, junk): primary
};
inline constexpr std::size_t statement_kind_count = std::size_t(statement_kind::unknown) + 1;

// Why a statement is not a plain read (and what else it does). Bits of
// statement_info::flags; any bit set means "not a plain read".
enum statement_flag : std::uint32_t {
    flag_unterminated = 1u << 0,   // a string, quoted name or comment never closed
    flag_doubtful = 1u << 1,   // lexer doubt, unbalanced parentheses, junk in a statement head
    flag_too_many_tables = 1u << 2,   // more table references than max_table_refs
    flag_tables_unknown = 1u << 3,   // a table reference could not be read, or the kind is not tracked
    flag_escaped_name = 1u << 4,   // a name with a doubled backquote: reported nowhere
    flag_locking = 1u << 5,   // FOR UPDATE, FOR SHARE, LOCK IN SHARE MODE
    flag_into = 1u << 6,   // SELECT ... INTO @var | OUTFILE | DUMPFILE
    flag_user_variable_read = 1u << 7,   // @x: the replica connection's value may differ
    flag_user_variable_assign = 1u << 8,   // := outside SET
    flag_primary_function = 1u << 9,   // LAST_INSERT_ID, GET_LOCK, NEXTVAL, NEXT VALUE FOR, ...
    flag_unknown_function = 1u << 10,   // a stored function or UDF (may write), or not a known built-in
    flag_server_variable = 1u << 11,   // @@last_insert_id, @@server_id, @@gtid_*, @@read_only, ...
    flag_server_specific = 1u << 12,   // SHOW STATUS/WARNINGS/..., information_schema.PROCESSLIST, mysql.*
    flag_calc_found_rows = 1u << 13,   // SQL_CALC_FOUND_ROWS: FOUND_ROWS() will be asked of the primary
    flag_executes = 1u << 14,   // ANALYZE <stmt>, EXPLAIN ANALYZE: runs the statement
    flag_explain_write = 1u << 15,   // EXPLAIN of a statement that is not a read
    flag_multi = 1u << 16,   // more than one statement
    flag_deep_nesting = 1u << 17,   // parentheses deeper than the classifier tracks
    // FOUND_ROWS(), ROW_COUNT(): the outcome of the session's previous
    // statement, known only to the server that ran it.
    flag_previous_outcome = 1u << 18,
};

enum class tx_scope : std::uint8_t {
    none,
    // SET TRANSACTION ... (no GLOBAL/SESSION): MariaDB applies it to the next
    // transaction only, then reverts to the session default.
    next_transaction,
    // SET SESSION TRANSACTION ...: every later transaction of the session (not
    // one already running).
    session,
    global,   // SET GLOBAL TRANSACTION ...: new sessions only; this one is unaffected
};

enum class autocommit_value : std::uint8_t {
    unchanged,
    on,
    off,
    unknown /* not a literal: assume off */
};
enum class access_mode : std::uint8_t {
    unchanged,
    read_only,
    read_write
};
enum class xa_action : std::uint8_t {
    none,
    start,
    end,
    prepare,
    commit,
    rollback,
    recover,
    other
};

// A table (or, for writes, another object) named by the statement. schema is
// empty when unqualified: it then lives in the connection's current database.
// Names are as written (backquotes removed, case kept: MariaDB compares
// database and table names case-sensitively unless lower_case_table_names).
// For writes the list also holds the other objects the statement touches:
// databases (CREATE/DROP/ALTER DATABASE db: schema "db", table empty), views,
// sequences, routines, triggers, and CALL's procedure.
struct table_ref {
    std::string_view schema;
    std::string_view table;
    bool operator==(const table_ref&) const = default;
};

inline constexpr std::size_t max_table_refs = 16;

struct statement_info {
    statement_kind kind = statement_kind::unknown;
    // Provably safe on a caught-up replica: kind is read, show or explain, no
    // flag is set, every table reference is listed and the hint is not primary.
    // "Caught up" is still the router's job, for the current database and for
    // every schema in tables.
    bool is_plain_read = false;
    route_hint hint = route_hint::none;
    std::uint32_t flags = 0;   // statement_flag bits

    std::uint8_t table_count = 0;
    std::array<table_ref, max_table_refs> tables{};   // distinct, in order of appearance

    // Payload of some kinds (empty / default otherwise):
    std::string_view name;   // use_database: the database; create_temporary_table: the table;
        // savepoint, rollback_to_savepoint, release_savepoint: the savepoint
    std::string_view schema;   // create_temporary_table: the schema if qualified
    autocommit_value autocommit = autocommit_value::unchanged;   // any SET that assigns autocommit
    access_mode access = access_mode::unchanged;   // any SET that assigns transaction access mode
    tx_scope scope = tx_scope::none;   // of that access mode (or isolation level)
    bool chain = false;   // commit, rollback: AND CHAIN (a new transaction starts)
    bool release = false;   // commit, rollback: RELEASE (the server disconnects)
    bool temporary = false;   // drop_table: DROP TEMPORARY TABLE
    xa_action xa = xa_action::none;
    // SET kinds: the text can be replayed verbatim on a replica connection
    // with the same effect: session scope, only literals, @@variables, user
    // variables and pure built-ins (no subquery, no stored function).
    bool replayable = false;
    // SET kinds: how many assignments (SET autocommit=0, sql_mode='' -> 2;
    // SET NAMES, SET TRANSACTION ... -> 1). Saturates at 255.
    std::uint8_t assignments = 0;
    std::uint32_t kinds_seen = 0;   // bit (1 << kind) for every statement in the text

    std::span<const table_ref> table_refs() const { return {tables.data(), table_count}; }
    bool tables_complete() const { return !(flags & (flag_too_many_tables | flag_tables_unknown | flag_escaped_name)); }
    bool has(statement_flag f) const { return (flags & f) != 0; }
};

// Classifies one COM_QUERY / COM_STMT_PREPARE text (any bytes, any size).
//
// How the router uses it (its decision table owns the policy; this is the
// contract it can rely on):
//  - hint primary: primary. Otherwise is_plain_read is the only "may go to a
//    replica" answer; everything else goes to the primary, and a hint replica
//    should be honoured at most for kind read/show/explain.
//  - A plain read may use a replica that has applied the session position of
//    the connection's database and of every schema in tables (DATABASE mode),
//    and no table in tables may be one of the connection's temporary tables
//    (unqualified names are in the current database).
//  - Databases a write touches: every schema in tables, plus the current
//    database if a reference is unqualified. When !tables_complete() the router
//    cannot know them and must fall back (e.g. record under all databases).
//  - The begin kinds, commit, rollback, xa, lock_tables, set_autocommit, set_transaction_*
//    change transaction state; use_database and create_temporary_table /
//    drop_table change what later reads mean; set_session_state (replayable)
//    is replayed on replica connections. Predictions only: the server's OK
//    status flags (IN_TRANS, AUTOCOMMIT) and session tracking are the truth,
//    and multi_statement (see kinds_seen) is only knowable that way.
//  - Pass lex_options from the session: sql_mode NO_BACKSLASH_ESCAPES and
//    ANSI_QUOTES, a big5/cp932/gbk/sjis client charset, the backend versions.
//
// Not visible to a text classifier, so not claimed: what views, triggers,
// stored functions and foreign-key cascades read or write in other databases;
// which databases an information_schema query describes (treat it as every
// database under DATABASE mode); sql_mode=ORACLE syntax. CTE names are
// reported as table references (harmless: unqualified, current database).
statement_info classify(std::string_view sql, const lex_options& options = {});

const char* to_string(statement_kind kind);
const char* to_string(statement_flag flag);   // one bit: "locking", "unknown_function", ...

}   // namespace causeway::protocol
