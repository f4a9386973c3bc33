// What a client session carries besides its sockets: who it is for the
// session table (its keys), what must be replayed on replica connections so
// they behave like the primary one (SET, USE), the temporary tables it made,
// and its prepared statements. Pure bookkeeping: no I/O, unit-testable.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/config.hh"
#include "common/result.hh"
#include "protocol/classifier.hh"

namespace causeway::worker {

// Every primary connection tracks every system variable ('*', last_gtid
// included): each write's GTID comes back in its OK, and so does each session
// variable a statement changed, whatever the form (a procedure, EXECUTE, a
// multi-statement, a prepared SET): learn_session_variables() carries them to
// the replica connections. The client still sees only what it tracks itself
// (client_session::client_tracking_). Sent again whenever the client may have
// changed the list (or reset it).
inline constexpr std::string_view track_all_variables_query = "\x03SET @@session.session_track_system_variables = '*'";
// Read before the above (see parse_tracking_lists): the session's list (the
// client's own after its SET, or a procedure's) and the server's default (what
// a new or reset session starts with).
inline constexpr std::string_view tracking_lists_query =
    "\x03SELECT CONCAT(@@session.session_track_system_variables, ';', @@global.session_track_system_variables)";

// The position fence (see client_session::start_fence): every transaction the
// primary has binlogged so far, this session's included.
inline constexpr std::string_view primary_position_query = "\x03SELECT @@global.gtid_binlog_pos";

// Tags of internal commands the session waits for (above any statement id, the
// other tag internal commands carry): the MASTER_GTID_WAIT of a waiting read,
// and the position fence.
inline constexpr std::uint64_t gtid_wait_tag = 1ull << 40;
inline constexpr std::uint64_t fence_tag = gtid_wait_tag + 1;
// The answer of tracking_lists_query: on a new or reset session (the client
// tracks the server's default); right after the client's own SET of the list
// (the session's list is the client's); anywhere else, where a '*' may be ours.
inline constexpr std::uint64_t tracking_fresh_tag = gtid_wait_tag + 2;
inline constexpr std::uint64_t tracking_set_tag = gtid_wait_tag + 3;
inline constexpr std::uint64_t tracking_check_tag = gtid_wait_tag + 4;
constexpr bool is_tracking_tag(std::uint64_t tag)
{
    return tag >= tracking_fresh_tag && tag <= tracking_check_tag;
}
// A SIGNAL that gives a replica's diagnostics area the error the client got
// instead of the replica's own (diagnostics_signal()): its ERR is expected.
inline constexpr std::uint64_t diagnostics_tag = gtid_wait_tag + 5;
// An optimistic transaction's statements replayed on the primary: this + their index.
inline constexpr std::uint64_t migration_tag = gtid_wait_tag + 16;
// ... and the prepares of its executes that run before them: this + their index.
inline constexpr std::uint64_t migration_prepare_tag = migration_tag + (1ull << 32);

// "db?sessionId=X" -> ("db", "X"). A name without '?' has no id. Anything
// else after '?' is an error (a client would otherwise silently get the
// fallback session).
struct dbname_parts {
    std::string database;
    std::string session_id;   // empty: none given
};
common::result<dbname_parts> split_session_id(std::string_view dbname);

// Ways to name the session for clients whose connection URL cannot carry
// `db?sessionId=X` (Connector/J drops it, Go's DSN and SQLAlchemy's URL refuse
// it): the connection attribute `causeway_session_id`, or the statement
// `SET @causeway_session_id = 'X'` (any client). Empty: none given; an error
// when a value is given but not a valid id (same rules as the suffix).
inline constexpr std::string_view session_id_attribute = "causeway_session_id";
common::result<std::string> session_id_from_attributes(std::string_view connect_attrs);
// The id a `SET @causeway_session_id = 'X'` names (exactly that form, one
// assignment, a quoted string or a number); nullopt for any other statement.
std::optional<common::result<std::string>> session_id_from_set(std::string_view sql);

// Which session-table entries a statement reads from and writes to.
struct session_identity {
    std::uint64_t connection = 0;   // unique per connection across workers and restarts
    std::string user;
    std::string database;   // current database, without ?sessionId
    std::string provided;   // PROVIDED_IN_DBNAME id, empty when none
};

// A session key: what shm::session_table::key() hashes.
struct key_source {
    std::uint8_t kind;   // shm::session_kind
    std::string id;   // for connection: the decimal id
    bool operator<(const key_source& o) const { return kind != o.kind ? kind < o.kind : id < o.id; }
    bool operator==(const key_source& o) const = default;
};

// The keys of `id` under `cfg`'s session_id, for a statement naming `tables`
// (DATABASE: the current database, every schema named, and always the "any
// database" key, which every DATABASE read checks: a write can change other
// databases than its text names, through a trigger, a foreign key's cascade
// or a stored program, so no write is left out of it).
void session_keys(const common::config& cfg, const session_identity& id, const protocol::statement_info* stmt,
                  std::vector<key_source>& out);

// The SQL of a COM_QUERY or COM_STMT_PREPARE payload. The server ignores
// trailing NUL bytes (mariadb-slap sends one); the classifier must too.
inline std::string_view statement_text(std::string_view payload)
{
    std::string_view sql = payload.substr(1);
    while (!sql.empty() && sql.back() == '\0') sql.remove_suffix(1);
    return sql;
}

// Case-insensitive text tests for the few statements recognised by a word:
// `text` starts (after blanks) with `word`; `word` occurs anywhere in it.
bool starts_with_word(std::string_view text, std::string_view word);
bool mentions(std::string_view text, std::string_view word);

// ERR 1792 (25006): what the server answers a write inside a read-only transaction.
inline constexpr std::uint16_t er_read_only_transaction = 1792;
inline constexpr std::string_view read_only_transaction_message = "Cannot execute statement in a READ ONLY transaction";

// Whether `sql` reads the diagnostics area of the previous statement (SHOW
// WARNINGS / ERRORS / COUNT(*) ..., GET DIAGNOSTICS, @@warning_count,
// @@error_count): it must run where that statement ran.
bool reads_diagnostics(std::string_view sql);
// Whether `s` reads only the outcome of the previous statement (FOUND_ROWS(),
// ROW_COUNT()) and nothing else that must stay on the primary (no table, no
// other session function, no primary hint): it too runs where that ran.
bool reads_previous_outcome(const protocol::statement_info& s);

// Whether statement `s`, run on the primary (`in_trans`: inside a transaction),
// provably commits nothing, so that its OK without last_gtid means "nothing
// written" (see client_session::note_unproven_commit()).
bool cannot_commit(const protocol::statement_info& s, bool in_trans);

// Session state to replay on replica connections, in order. Repeats of the
// same statement are kept once (connection pools send SET NAMES on every
// checkout); of the entries with one key (the USE, one learnt variable) only
// the last is kept. Past `max_entries` the state is "unknown" and reads stay
// on the primary until the session is reset.
class replay_log {
public:
    static constexpr std::size_t max_entries = 64;
    static constexpr std::string_view use_key = "USE";
    // Appends a command payload (COM_QUERY or COM_INIT_DB bytes).
    void add(std::string_view payload, std::string_view key = {});
    // A session change that cannot be replayed: replicas cannot match the primary.
    void mark_unknown() { overflowed_ = true; }
    void clear();
    bool overflowed() const { return overflowed_; }
    // Entries a connection that has applied up to `generation` still needs.
    std::uint64_t generation() const { return generation_; }
    // Payloads to send to a connection whose applied generation is `applied`;
    // when compaction removed entries it had not seen, everything is resent.
    std::vector<std::string_view> pending(std::uint64_t applied) const;

private:
    struct entry {
        std::string payload;
        std::string key;
        std::uint64_t generation;
    };
    std::vector<entry> entries_;
    std::uint64_t generation_ = 0;
    bool overflowed_ = false;
};

// Temporary tables this connection created: they exist only on the primary.
class temporary_tables {
public:
    // `qualified` is "schema.table", the schema made explicit.
    void created(const std::string& qualified) { names_.insert(qualified); }
    void dropped(const std::string& qualified) { names_.erase(qualified); }
    bool touches(const protocol::statement_info& s, std::string_view current_db) const;
    bool empty() const { return names_.empty(); }
    void clear() { names_.clear(); }

private:
    std::set<std::string> names_;   // "schema.table"
};

// A prepared statement as the client knows it, and its ids on each backend.
// Each execute classifies `sql` again (a few hundred ns): the views into it
// that routing needs stay valid, and nothing is kept twice.
struct prepared_statement {
    std::string sql;   // to prepare it lazily on a replica
    std::uint16_t params = 0;
    std::string param_types;   // the last types block the client sent (2 bytes per param)
    bool long_data = false;   // SEND_LONG_DATA since the last execute: primary only
    std::map<int, std::uint32_t> ids;   // backend index -> server statement id (primary: the client's)
    std::set<int> has_types;   // backends that have seen a types block
};

// A replica's ERR for a statement of a read-only transaction pinned to it, as
// the primary would answer: a write there fails because the transaction is
// read-only (1792), not because the replica is (1290). Empty: keep the ERR.
std::string as_primary_error_in_read_only_transaction(std::string_view err_payload);

// The COM_QUERY payload of a SIGNAL that leaves the error `err_payload` (an
// ERR packet) in a server's diagnostics area exactly as the server's own
// error would (SHOW WARNINGS, @@error_count, GET DIAGNOSTICS): sent where the
// client was given that error instead of the server's. Empty if unparsable.
std::string diagnostics_signal(std::string_view err_payload);

// COM_STMT_EXECUTE surgery: the statement id is at bytes 1..4; after flags (1),
// iteration count (4) and the NULL bitmap ((params+7)/8) comes the
// new-params-bound byte and, when it is 1, 2 bytes of type per parameter.
struct execute_view {
    std::uint32_t statement_id = 0;
    std::uint8_t flags = 0;   // cursor type; nonzero opens a cursor
    bool types_included = false;
    std::string_view types;   // when included
    bool ok = false;   // parsed (needs the statement's parameter count)
};
execute_view parse_execute(std::string_view payload, std::uint16_t params);
// The same execute for another backend: its statement id, and the types block
// inserted when the client relied on types that backend never saw.
std::string rewrite_execute(std::string_view payload, std::uint16_t params, std::uint32_t backend_id,
                            std::string_view types_to_insert);

// COM_STMT_BULK_EXECUTE (MariaDB) surgery: the statement id is at bytes 1..4,
// then 2 bytes of flags; with bulk_send_types set, 2 bytes of type per
// parameter follow. The rows after them (an indicator byte per parameter,
// then its value) pass untouched.
inline constexpr std::uint16_t bulk_send_types = 128;   // STMT_BULK_FLAG_CLIENT_SEND_TYPES
struct bulk_view {
    std::uint32_t statement_id = 0;
    std::uint16_t flags = 0;
    bool types_included = false;
    std::string_view types;   // when included
    bool ok = false;   // parsed (needs the statement's parameter count)
};
bulk_view parse_bulk_execute(std::string_view payload, std::uint16_t params);
// The same bulk execute for another backend: its statement id, and the types
// block (with its flag) inserted when the client relied on types that
// backend never saw.
std::string rewrite_bulk_execute(std::string_view payload, std::uint16_t params, std::uint32_t backend_id,
                                 std::string_view types_to_insert);

}   // namespace causeway::worker
