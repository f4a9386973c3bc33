// The routing decision as tables: every path of worker::route() (bridge, hints,
// writes, locking and side-effect reads, transactions, read-only transactions
// and their pin, session state, direct mode, smartscale freshness, selection,
// the bounded wait), each row from real SQL through protocol::classify(); and
// a randomized check of the invariant that smartscale never picks a stale replica.
#include <cppunit/extensions/HelperMacros.h>

#include <algorithm>
#include <array>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "common/config.hh"
#include "protocol/classifier.hh"
#include "protocol/gtid.hh"
#include "shm/counters.hh"
#include "shm/layout.hh"
#include "worker/router.hh"

using namespace causeway;
using common::replica_selection;
using common::routing_mode;
using shm::route_reason;
using worker::requirement_status;
using worker::route_target;
using rr = shm::route_reason;

namespace {

// ------------------------------------------------------------------ the row

// Session facts of a row, OR-ed. The progress block is fresh unless progress_old.
enum session_fact : unsigned {
    in_transaction = 1u << 0,
    autocommit_off = 1u << 1,
    next_read_only = 1u << 2,   // SET TRANSACTION READ ONLY is in effect
    temporary_table = 1u << 3,   // the statement names a temporary table of this connection
    state_unknown = 1u << 4,   // session state could not be carried to replicas
    progress_old = 1u << 5,   // the poller's heartbeat is old
    tables_locked = 1u << 6,   // LOCK TABLES holds locks on the primary
    optimistic = 1u << 7,   // optimistic_transactions: a transaction may start on a replica
    no_primary = 1u << 8,   // the role block names no primary (down, switching, split brain)
    session_wrote = 1u << 9,   // the session's previous transaction wrote
    unrepeatable = 1u << 10,   // the statement's answer cannot be repeated (NOW(), RAND(), ...)
    measuring = 1u << 11,   // SET profiling, FLUSH STATUS: SHOW PROFILES / STATUS show the primary's session
};

constexpr bool usable = true;
constexpr bool unusable = false;

struct candidate {
    int backend;
    bool usable;
    const char* position;   // GTID text, parsed with parse_gtid_position
    unsigned outstanding;
    bool applying = true;   // its replication runs
};

struct expect {
    route_target target;
    int backend;
    route_reason reason;
    bool pin;
    worker::optimistic_refusal refusal = worker::optimistic_refusal::none;
};

constexpr expect primary(route_reason why)
{
    return {route_target::primary, 0, why, false};
}
constexpr expect replica(int backend, route_reason why = rr::replica_caught_up)
{
    return {route_target::replica, backend, why, false};
}
// A read-only transaction starts there and stays.
constexpr expect pinned_to(int backend, route_reason why = rr::replica_caught_up)
{
    return {route_target::replica, backend, why, true};
}
// A transaction that could have started optimistically starts on the primary.
constexpr expect refused(worker::optimistic_refusal why)
{
    return {route_target::primary, 0, rr::primary_transaction, false, why};
}
constexpr expect wait_for_replica{route_target::wait, 0, rr::primary_not_caught_up, false};
// No primary to send it to: the session waits for one (switchover) or refuses.
constexpr expect unavailable{route_target::unavailable, 0, rr::primary_unavailable, false};
// A row that forgot its expectation fails.
constexpr expect unset{route_target::wait, -99, rr::count, false};

// The baseline every row starts from: smartscale, a fresh progress block, a
// known requirement of 0-1-10, replica 1 exactly there and busy, replica 2 one
// seqno behind and idle (so freshness, not load, decides).
struct row {
    const char* what;
    const char* sql;   // nullptr: the statement could not be classified (no statement_info)
    routing_mode mode = routing_mode::smartscale;
    unsigned facts = 0;
    int pinned = -1;
    requirement_status req = requirement_status::known;
    const char* required = "0-1-10";
    std::vector<candidate> cands = {{1, usable, "0-1-10", 3}, {2, usable, "0-1-9", 0}};
    replica_selection sel = replica_selection::least_outstanding;
    unsigned cursor = 0;
    bool may_wait = false;
    bool waited = false;
    expect want = unset;
};

constexpr auto bridge = routing_mode::bridge;
constexpr auto direct = routing_mode::direct;
constexpr auto round_robin = replica_selection::round_robin;
constexpr auto table_full = requirement_status::table_full;
constexpr auto unknown = requirement_status::unknown;

// ------------------------------------------------------------------ the runner

const char* name(route_target t)
{
    switch (t) {
        case route_target::primary: return "primary";
        case route_target::replica: return "replica";
        case route_target::wait: return "wait";
        case route_target::unavailable: return "unavailable";
    }
    return "?";
}

std::string render(route_target t, int backend, route_reason r, bool pin,
                   worker::optimistic_refusal refusal = worker::optimistic_refusal::none)
{
    const char* reason = r == rr::count ? "(unset)" : shm::route_reason_name(r);
    return std::string(name(t)) + " " + std::to_string(backend) + " " + reason + (pin ? " pin" : "") +
        (refusal == worker::optimistic_refusal::none ? "" : " refused:" + std::to_string(int(refusal)));
}

std::optional<protocol::gtid_position> parse(const char* text, std::string& error)
{
    auto p = protocol::parse_gtid_position(text);
    if (!p) {
        error = std::string("bad GTID '") + text + "': " + p.err().message;
        return std::nullopt;
    }
    return *p;
}

// The row's decision, or "" and a message in `error` when the row is malformed.
std::string decide(const row& r, std::string& error)
{
    std::optional<protocol::statement_info> info;
    if (r.sql) info = protocol::classify(r.sql);

    std::vector<worker::read_candidate> cands;
    for (const candidate& c : r.cands) {
        auto pos = parse(c.position, error);
        if (!pos) return "";
        cands.push_back({c.backend, c.usable, *pos, c.outstanding, c.applying});
    }
    auto required = parse(r.required, error);
    if (!required) return "";

    worker::route_request q;
    q.mode = r.mode;
    q.statement = info ? &*info : nullptr;
    q.in_transaction = r.facts & in_transaction;
    q.autocommit_off = r.facts & autocommit_off;
    q.pinned_backend = r.pinned;
    q.next_transaction_read_only = r.facts & next_read_only;
    q.touches_temporary_table = r.facts & temporary_table;
    q.replica_state_unknown = r.facts & state_unknown;
    q.tables_locked = r.facts & tables_locked;
    q.measuring = r.facts & measuring;
    q.optimistic = r.facts & optimistic;
    q.session_wrote = r.facts & session_wrote;
    q.unrepeatable = r.facts & unrepeatable;
    q.progress_fresh = !(r.facts & progress_old);
    q.requirement = r.req;
    q.required = *required;
    q.candidates = cands;
    q.selection = r.sel;
    q.round_robin_cursor = r.cursor;
    q.may_wait = r.may_wait;
    q.waited = r.waited;
    q.primary_available = !(r.facts & no_primary);
    const worker::route_decision d = worker::route(q);
    return render(d.target, d.backend, d.reason, d.pin, d.refusal);
}

// Runs every row and reports all the failing ones at once.
void check_table(const char* table, std::span<const row> rows)
{
    std::string failures;
    for (const row& r : rows) {
        std::string error;
        const std::string got = decide(r, error);
        const std::string want = render(r.want.target, r.want.backend, r.want.reason, r.want.pin, r.want.refusal);
        if (!error.empty())
            failures += std::string("\n  ") + r.what + ": " + error;
        else if (got != want)
            failures += std::string("\n  ") + r.what + " [" + (r.sql ? r.sql : "(no statement)") + "]: got " + got +
                ", want " + want;
    }
    CPPUNIT_ASSERT_MESSAGE(std::string(table) + ":" + failures, failures.empty());
}

// ------------------------------------------------------------------ the tables

const char* const plain_read = "SELECT * FROM t WHERE id = 1";

const std::vector<row> bridge_rows = {
    {.what = "bridge: a plain read with a caught-up replica",
     .sql = plain_read,
     .mode = bridge,
     .want = primary(rr::primary_bridge)},
    {.what = "bridge: a write", .sql = "INSERT INTO t VALUES (1)", .mode = bridge, .want = primary(rr::primary_bridge)},
    {.what = "bridge: the replica hint does not leave the primary",
     .sql = "/* causeway:replica */ SELECT * FROM t",
     .mode = bridge,
     .want = primary(rr::primary_bridge)},
    {.what = "bridge: START TRANSACTION READ ONLY is not pinned",
     .sql = "START TRANSACTION READ ONLY",
     .mode = bridge,
     .want = primary(rr::primary_bridge)},
    {.what = "bridge: checked before a pin (bridge never pins)",
     .sql = plain_read,
     .mode = bridge,
     .pinned = 2,
     .want = primary(rr::primary_bridge)},
    {.what = "bridge: an unclassifiable statement",
     .sql = nullptr,
     .mode = bridge,
     .want = primary(rr::primary_bridge)},
    {.what = "bridge: inside a transaction",
     .sql = plain_read,
     .mode = bridge,
     .facts = in_transaction,
     .want = primary(rr::primary_bridge)},
};

const std::vector<row> hint_rows = {
    {.what = "primary hint on a plain read, replica caught up",
     .sql = "/* causeway:primary */ SELECT * FROM t",
     .want = primary(rr::primary_unclassified)},
    {.what = "primary hint on START TRANSACTION READ ONLY: no pin",
     .sql = "/* causeway:primary */ START TRANSACTION READ ONLY",
     .want = primary(rr::primary_unclassified)},
    {.what = "primary hint in direct mode",
     .sql = "/* causeway:primary */ SELECT * FROM t",
     .mode = direct,
     .want = primary(rr::primary_unclassified)},
    {.what = "replica hint, replica 1 caught up", .sql = "/* causeway:replica */ SELECT * FROM t", .want = replica(1)},
    {.what = "replica hint inside the statement", .sql = "SELECT /* causeway:replica */ * FROM t", .want = replica(1)},
    {.what = "replica hint still obeys freshness: every replica behind",
     .sql = "/* causeway:replica */ SELECT * FROM t",
     .cands = {{1, usable, "0-1-9", 0}, {2, usable, "0-1-8", 0}},
     .want = primary(rr::primary_not_caught_up)},
    {.what = "replica hint, progress block old",
     .sql = "/* causeway:replica */ SELECT * FROM t",
     .facts = progress_old,
     .want = primary(rr::primary_progress_old)},
    {.what = "replica hint, requirement unknown",
     .sql = "/* causeway:replica */ SELECT * FROM t",
     .req = unknown,
     .want = primary(rr::primary_session_unknown)},
    {.what = "replica hint, every replica behind, may wait",
     .sql = "/* causeway:replica */ SELECT * FROM t",
     .cands = {{1, usable, "0-1-9", 0}},
     .may_wait = true,
     .want = wait_for_replica},
    {.what = "replica hint on a write",
     .sql = "/* causeway:replica */ UPDATE t SET a = 1",
     .want = primary(rr::primary_write)},
    {.what = "replica hint on a locking read",
     .sql = "/* causeway:replica */ SELECT * FROM t FOR UPDATE",
     .want = primary(rr::primary_locking_read)},
    {.what = "replica hint inside a transaction",
     .sql = "/* causeway:replica */ SELECT * FROM t",
     .facts = in_transaction,
     .want = primary(rr::primary_transaction)},
    {.what = "replica hint on START TRANSACTION READ ONLY",
     .sql = "/* causeway:replica */ START TRANSACTION READ ONLY",
     .want = pinned_to(1)},
    {.what = "replica hint in direct mode: the stale idle replica",
     .sql = "/* causeway:replica */ SELECT * FROM t",
     .mode = direct,
     .want = replica(2, rr::replica_direct)},
};

const std::vector<row> statement_rows = {
    // Writes.
    {.what = "INSERT", .sql = "INSERT INTO t VALUES (1)", .want = primary(rr::primary_write)},
    {.what = "UPDATE", .sql = "UPDATE t SET a = 1", .want = primary(rr::primary_write)},
    {.what = "DELETE", .sql = "DELETE FROM t", .want = primary(rr::primary_write)},
    {.what = "DDL", .sql = "CREATE TABLE x (a int)", .want = primary(rr::primary_write)},
    {.what = "CALL", .sql = "CALL p()", .want = primary(rr::primary_write)},
    {.what = "DO", .sql = "DO 1", .want = primary(rr::primary_write)},
    {.what = "LOCK TABLES", .sql = "LOCK TABLES t READ", .want = primary(rr::primary_write)},
    {.what = "HANDLER", .sql = "HANDLER t OPEN", .want = primary(rr::primary_write)},
    {.what = "SET NAMES (session state)", .sql = "SET NAMES utf8mb4", .want = primary(rr::primary_write)},
    {.what = "SET GLOBAL", .sql = "SET GLOBAL read_only = 1", .want = primary(rr::primary_write)},
    {.what = "USE", .sql = "USE db2", .want = primary(rr::primary_write)},
    {.what = "SET autocommit", .sql = "SET autocommit = 0", .want = primary(rr::primary_write)},
    {.what = "SET TRANSACTION READ ONLY itself",
     .sql = "SET TRANSACTION READ ONLY",
     .want = primary(rr::primary_write)},
    {.what = "SAVEPOINT", .sql = "SAVEPOINT a", .want = primary(rr::primary_write)},
    {.what = "two reads in one text: multi-statement counts as a write",
     .sql = "SELECT 1; SELECT 2",
     .want = primary(rr::primary_write)},
    {.what = "a write in direct mode",
     .sql = "INSERT INTO t VALUES (1)",
     .mode = direct,
     .want = primary(rr::primary_write)},
    {.what = "a write with a caught-up replica and a wait budget",
     .sql = "UPDATE t SET a = 1",
     .may_wait = true,
     .want = primary(rr::primary_write)},
    // Locking reads.
    {.what = "FOR UPDATE", .sql = "SELECT * FROM t FOR UPDATE", .want = primary(rr::primary_locking_read)},
    {.what = "LOCK IN SHARE MODE",
     .sql = "SELECT * FROM t LOCK IN SHARE MODE",
     .want = primary(rr::primary_locking_read)},
    {.what = "FOR SHARE", .sql = "SELECT * FROM t FOR SHARE", .want = primary(rr::primary_locking_read)},
    {.what = "FOR UPDATE SKIP LOCKED",
     .sql = "SELECT a FROM t WHERE b = 1 FOR UPDATE SKIP LOCKED",
     .want = primary(rr::primary_locking_read)},
    {.what = "LAST_INSERT_ID() ... FOR UPDATE",
     .sql = "SELECT LAST_INSERT_ID() FROM t FOR UPDATE",
     .want = primary(rr::primary_locking_read)},
    {.what = "locking flag on a multi-statement",
     .sql = "SELECT * FROM t FOR UPDATE; SELECT 1",
     .want = primary(rr::primary_locking_read)},
    {.what = "locking flag on INSERT ... SELECT ... FOR UPDATE (counted as locking, not write)",
     .sql = "INSERT INTO t SELECT * FROM u FOR UPDATE",
     .want = primary(rr::primary_locking_read)},
    {.what = "a locking read in direct mode",
     .sql = "SELECT * FROM t FOR UPDATE",
     .mode = direct,
     .want = primary(rr::primary_locking_read)},
    // Reads with side effects or primary-only answers.
    {.what = "SELECT ... INTO @var", .sql = "SELECT a INTO @x FROM t", .want = primary(rr::primary_unclassified)},
    {.what = "SELECT ... INTO OUTFILE",
     .sql = "SELECT a FROM t INTO OUTFILE '/tmp/x'",
     .want = primary(rr::primary_unclassified)},
    {.what = "SELECT ... INTO DUMPFILE",
     .sql = "SELECT a FROM t INTO DUMPFILE '/tmp/x'",
     .want = primary(rr::primary_unclassified)},
    {.what = "SELECT ... INTO in direct mode",
     .sql = "SELECT a INTO @x FROM t",
     .mode = direct,
     .want = primary(rr::primary_unclassified)},
    {.what = "LAST_INSERT_ID()", .sql = "SELECT LAST_INSERT_ID()", .want = primary(rr::primary_unclassified)},
    {.what = "LAST_INSERT_ID() in direct mode",
     .sql = "SELECT LAST_INSERT_ID()",
     .mode = direct,
     .want = primary(rr::primary_unclassified)},
    {.what = "@@last_insert_id", .sql = "SELECT @@last_insert_id", .want = primary(rr::primary_unclassified)},
    {.what = "GET_LOCK", .sql = "SELECT GET_LOCK('a', 1)", .want = primary(rr::primary_unclassified)},
    {.what = "NEXTVAL", .sql = "SELECT NEXTVAL(s)", .want = primary(rr::primary_unclassified)},
    {.what = "a stored function may write",
     .sql = "SELECT my_func(a) FROM t",
     .want = primary(rr::primary_unclassified)},
    {.what = "a user variable differs per connection", .sql = "SELECT @x", .want = primary(rr::primary_unclassified)},
    {.what = "SQL_CALC_FOUND_ROWS",
     .sql = "SELECT SQL_CALC_FOUND_ROWS * FROM t",
     .want = primary(rr::primary_unclassified)},
    {.what = "SHOW STATUS is server specific", .sql = "SHOW STATUS", .want = primary(rr::primary_server_specific)},
    {.what = "SHOW CREATE TABLE (the primary's AUTO_INCREMENT)",
     .sql = "SHOW CREATE TABLE t",
     .want = primary(rr::primary_server_specific)},
    // EXPLAIN and ANALYZE show the answering server's plan, from its own
    // index statistics (make compat B10): the primary's.
    {.what = "EXPLAIN SELECT", .sql = "EXPLAIN SELECT * FROM t", .want = primary(rr::primary_server_specific)},
    {.what = "EXPLAIN EXTENDED",
     .sql = "EXPLAIN EXTENDED SELECT * FROM t WHERE a > 1",
     .want = primary(rr::primary_server_specific)},
    {.what = "EXPLAIN FORMAT=JSON",
     .sql = "EXPLAIN FORMAT=JSON SELECT * FROM t",
     .want = primary(rr::primary_server_specific)},
    {.what = "ANALYZE SELECT", .sql = "ANALYZE SELECT * FROM t", .want = primary(rr::primary_server_specific)},
    {.what = "ANALYZE FORMAT=JSON",
     .sql = "ANALYZE FORMAT=JSON SELECT * FROM t",
     .want = primary(rr::primary_server_specific)},
    {.what = "EXPLAIN in direct mode",
     .sql = "EXPLAIN SELECT * FROM t",
     .mode = direct,
     .want = primary(rr::primary_server_specific)},
    {.what = "ANALYZE UPDATE is a write", .sql = "ANALYZE UPDATE t SET a = 1", .want = primary(rr::primary_write)},
    {.what = "PREPARE (unknown kind)", .sql = "PREPARE s FROM 'SELECT 1'", .want = primary(rr::primary_unclassified)},
    {.what = "junk", .sql = "garbage words here", .want = primary(rr::primary_unclassified)},
    {.what = "an unterminated string", .sql = "SELECT 'unterminated", .want = primary(rr::primary_unclassified)},
    {.what = "an empty text", .sql = "", .want = primary(rr::primary_unclassified)},
    {.what = "no statement_info (huge or binary)", .sql = nullptr, .want = primary(rr::primary_unclassified)},
    {.what = "no statement_info in direct mode",
     .sql = nullptr,
     .mode = direct,
     .want = primary(rr::primary_unclassified)},
    // Plain reads leave the primary.
    {.what = "a plain read, replica 1 exactly at the requirement", .sql = plain_read, .want = replica(1)},
    {.what = "SHOW TABLES", .sql = "SHOW TABLES", .want = replica(1)},
    {.what = "DESCRIBE", .sql = "DESCRIBE t", .want = replica(1)},
    {.what = "WITH ... SELECT", .sql = "WITH c AS (SELECT 1) SELECT * FROM c", .want = replica(1)},
    {.what = "VALUES", .sql = "VALUES (1)", .want = replica(1)},
    {.what = "a schema-qualified read (its databases' positions are in `required`)",
     .sql = "SELECT * FROM db2.t",
     .required = "0-1-12",
     .cands = {{1, usable, "0-1-11", 0}, {2, usable, "0-1-12", 4}},
     .want = replica(2)},
};

const std::vector<row> transaction_rows = {
    {.what = "a plain read inside a transaction",
     .sql = plain_read,
     .facts = in_transaction,
     .want = primary(rr::primary_transaction)},
    {.what = "a plain read with autocommit off",
     .sql = plain_read,
     .facts = autocommit_off,
     .want = primary(rr::primary_transaction)},
    {.what = "a plain read inside a transaction, direct mode",
     .sql = plain_read,
     .mode = direct,
     .facts = in_transaction,
     .want = primary(rr::primary_transaction)},
    {.what = "a plain read with autocommit off, direct mode",
     .sql = plain_read,
     .mode = direct,
     .facts = autocommit_off,
     .want = primary(rr::primary_transaction)},
    {.what = "a write inside a transaction",
     .sql = "INSERT INTO t VALUES (1)",
     .facts = in_transaction,
     .want = primary(rr::primary_transaction)},
    {.what = "a locking read inside a transaction",
     .sql = "SELECT * FROM t FOR UPDATE",
     .facts = in_transaction,
     .want = primary(rr::primary_transaction)},
    {.what = "a temporary table inside a transaction",
     .sql = plain_read,
     .facts = in_transaction | temporary_table,
     .want = primary(rr::primary_transaction)},
    {.what = "unknown session state inside a transaction",
     .sql = plain_read,
     .facts = in_transaction | state_unknown,
     .want = primary(rr::primary_transaction)},
    {.what = "ROLLBACK TO SAVEPOINT inside a transaction",
     .sql = "ROLLBACK TO SAVEPOINT a",
     .facts = in_transaction,
     .want = primary(rr::primary_transaction)},
    {.what = "BEGIN", .sql = "BEGIN", .want = primary(rr::primary_transaction)},
    {.what = "BEGIN WORK", .sql = "BEGIN WORK", .want = primary(rr::primary_transaction)},
    {.what = "START TRANSACTION", .sql = "START TRANSACTION", .want = primary(rr::primary_transaction)},
    {.what = "START TRANSACTION WITH CONSISTENT SNAPSHOT",
     .sql = "START TRANSACTION WITH CONSISTENT SNAPSHOT",
     .want = primary(rr::primary_transaction)},
    {.what = "START TRANSACTION READ WRITE",
     .sql = "START TRANSACTION READ WRITE",
     .want = primary(rr::primary_transaction)},
    {.what = "START TRANSACTION READ WRITE overrides SET TRANSACTION READ ONLY",
     .sql = "START TRANSACTION READ WRITE",
     .facts = next_read_only,
     .want = primary(rr::primary_transaction)},
    {.what = "BEGIN in direct mode", .sql = "BEGIN", .mode = direct, .want = primary(rr::primary_transaction)},
    {.what = "COMMIT", .sql = "COMMIT", .want = primary(rr::primary_transaction)},
    {.what = "COMMIT inside a transaction",
     .sql = "COMMIT",
     .facts = in_transaction,
     .want = primary(rr::primary_transaction)},
    {.what = "COMMIT AND CHAIN", .sql = "COMMIT AND CHAIN", .want = primary(rr::primary_transaction)},
    {.what = "ROLLBACK", .sql = "ROLLBACK", .want = primary(rr::primary_transaction)},
    {.what = "XA START", .sql = "XA START 'x'", .want = primary(rr::primary_transaction)},
    {.what = "XA START after SET TRANSACTION READ ONLY",
     .sql = "XA START 'x'",
     .facts = next_read_only,
     .want = primary(rr::primary_transaction)},
    {.what = "XA COMMIT", .sql = "XA COMMIT 'x'", .want = primary(rr::primary_transaction)},
    {.what = "XA RECOVER", .sql = "XA RECOVER", .want = primary(rr::primary_transaction)},
};

const std::vector<row> read_only_transaction_rows = {
    {.what = "START TRANSACTION READ ONLY, replica 1 caught up",
     .sql = "START TRANSACTION READ ONLY",
     .want = pinned_to(1)},
    {.what = "START TRANSACTION READ ONLY, least outstanding among the caught-up",
     .sql = "START TRANSACTION READ ONLY",
     .cands = {{1, usable, "0-1-10", 3}, {2, usable, "0-1-11", 1}},
     .want = pinned_to(2)},
    {.what = "START TRANSACTION READ ONLY, every replica behind, no wait",
     .sql = "START TRANSACTION READ ONLY",
     .cands = {{1, usable, "0-1-9", 0}, {2, usable, "0-1-9", 0}},
     .want = primary(rr::primary_not_caught_up)},
    {.what = "START TRANSACTION READ ONLY, every replica behind, may wait",
     .sql = "START TRANSACTION READ ONLY",
     .cands = {{1, usable, "0-1-9", 0}},
     .may_wait = true,
     .want = wait_for_replica},
    {.what = "START TRANSACTION READ ONLY after the wait",
     .sql = "START TRANSACTION READ ONLY",
     .waited = true,
     .want = pinned_to(1, rr::replica_after_wait)},
    {.what = "BEGIN after SET TRANSACTION READ ONLY", .sql = "BEGIN", .facts = next_read_only, .want = pinned_to(1)},
    {.what = "START TRANSACTION after SET TRANSACTION READ ONLY",
     .sql = "START TRANSACTION",
     .facts = next_read_only,
     .want = pinned_to(1)},
    {.what = "BEGIN after SET TRANSACTION READ ONLY, every replica behind",
     .sql = "BEGIN",
     .facts = next_read_only,
     .cands = {{1, usable, "0-1-9", 0}, {2, usable, "0-1-9", 0}},
     .want = primary(rr::primary_not_caught_up)},
    {.what = "BEGIN after SET TRANSACTION READ ONLY, no replica at all",
     .sql = "BEGIN",
     .facts = next_read_only,
     .cands = {},
     .want = primary(rr::primary_not_caught_up)},
    {.what = "START TRANSACTION READ ONLY inside a transaction: the implicit commit is on the primary",
     .sql = "START TRANSACTION READ ONLY",
     .facts = in_transaction,
     .want = primary(rr::primary_transaction)},
    {.what = "START TRANSACTION READ ONLY with autocommit off",
     .sql = "START TRANSACTION READ ONLY",
     .facts = autocommit_off,
     .want = primary(rr::primary_transaction)},
    {.what = "START TRANSACTION READ ONLY, progress block old",
     .sql = "START TRANSACTION READ ONLY",
     .facts = progress_old,
     .want = primary(rr::primary_progress_old)},
    {.what = "START TRANSACTION READ ONLY, session table full",
     .sql = "START TRANSACTION READ ONLY",
     .req = table_full,
     .want = primary(rr::primary_table_full)},
    {.what = "START TRANSACTION READ ONLY, requirement unknown",
     .sql = "START TRANSACTION READ ONLY",
     .req = unknown,
     .want = primary(rr::primary_session_unknown)},
    {.what = "optimistic: BEGIN starts on a caught-up replica, pinned",
     .sql = "BEGIN",
     .facts = optimistic,
     .want = pinned_to(1)},
    {.what = "optimistic: START TRANSACTION WITH CONSISTENT SNAPSHOT likewise",
     .sql = "START TRANSACTION WITH CONSISTENT SNAPSHOT",
     .facts = optimistic,
     .want = pinned_to(1)},
    {.what = "optimistic: the first read under autocommit=0 starts one",
     .sql = "SELECT * FROM t",
     .facts = optimistic | autocommit_off,
     .want = pinned_to(1)},
    {.what = "optimistic: a write under autocommit=0 goes to the primary",
     .sql = "UPDATE t SET a = 1",
     .facts = optimistic | autocommit_off,
     .want = primary(rr::primary_transaction)},
    {.what = "optimistic: a locking read under autocommit=0 goes to the primary",
     .sql = "SELECT * FROM t FOR UPDATE",
     .facts = optimistic | autocommit_off,
     .want = primary(rr::primary_transaction)},
    {.what = "optimistic: START TRANSACTION READ WRITE goes to the primary",
     .sql = "START TRANSACTION READ WRITE",
     .facts = optimistic,
     .want = primary(rr::primary_transaction)},
    {.what = "optimistic: inside a transaction already on the primary",
     .sql = "SELECT * FROM t",
     .facts = optimistic | in_transaction,
     .want = primary(rr::primary_transaction)},
    {.what = "optimistic: BEGIN with temporary tables stays on the primary",
     .sql = "BEGIN",
     .facts = optimistic | temporary_table,
     .want = refused(worker::optimistic_refusal::temporary_table)},
    {.what = "optimistic: the first read under autocommit=0 with temporary tables",
     .sql = "SELECT * FROM t",
     .facts = optimistic | autocommit_off | temporary_table,
     .want = refused(worker::optimistic_refusal::temporary_table)},
    {.what = "optimistic: BEGIN after a transaction of the session wrote",
     .sql = "BEGIN",
     .facts = optimistic | session_wrote,
     .want = refused(worker::optimistic_refusal::session_wrote)},
    {.what = "optimistic: the first read under autocommit=0 after a transaction wrote",
     .sql = "SELECT * FROM t",
     .facts = optimistic | autocommit_off | session_wrote,
     .want = refused(worker::optimistic_refusal::session_wrote)},
    {.what = "optimistic: an unrepeatable first read under autocommit=0 (NOW())",
     .sql = "SELECT NOW(), v FROM t",
     .facts = optimistic | autocommit_off | unrepeatable,
     .want = refused(worker::optimistic_refusal::unrepeatable)},
    {.what = "optimistic: BEGIN itself repeats (an unrepeatable statement after it migrates)",
     .sql = "BEGIN",
     .facts = optimistic | unrepeatable,
     .want = pinned_to(1)},
    {.what = "optimistic off: an unrepeatable read under autocommit=0, no refusal counted",
     .sql = "SELECT NOW()",
     .facts = autocommit_off | unrepeatable | session_wrote,
     .want = primary(rr::primary_transaction)},
    {.what = "optimistic: an unrepeatable read outside a transaction is an ordinary read",
     .sql = "SELECT NOW()",
     .facts = optimistic | unrepeatable,
     .want = replica(1)},
    {.what = "optimistic: a write under autocommit=0 after a transaction wrote: no refusal (no read to move)",
     .sql = "UPDATE t SET a = 1",
     .facts = optimistic | autocommit_off | session_wrote,
     .want = primary(rr::primary_transaction)},
    {.what = "optimistic: session_wrote inside a pinned transaction does not move it",
     .sql = "SELECT * FROM t",
     .facts = optimistic | session_wrote,
     .pinned = 2,
     .want = replica(2)},
    {.what = "optimistic: BEGIN with no replica caught up, may wait",
     .sql = "BEGIN",
     .facts = optimistic,
     .cands = {{1, usable, "0-1-9", 0}},
     .may_wait = true,
     .want = wait_for_replica},
    {.what = "optimistic: BEGIN with the session's state unknown on replicas",
     .sql = "BEGIN",
     .facts = optimistic | state_unknown,
     .want = primary(rr::primary_session_unknown)},
    {.what = "optimistic: off, BEGIN goes to the primary", .sql = "BEGIN", .want = primary(rr::primary_transaction)},
    {.what = "a plain read while LOCK TABLES holds locks",
     .sql = "SELECT * FROM t",
     .facts = tables_locked,
     .want = primary(rr::primary_locking_read)},
    {.what = "START TRANSACTION READ ONLY while LOCK TABLES holds locks",
     .sql = "START TRANSACTION READ ONLY",
     .facts = tables_locked,
     .want = primary(rr::primary_locking_read)},
    {.what = "a plain read while profiling (make compat B11) or after FLUSH STATUS",
     .sql = "SELECT * FROM t",
     .facts = measuring,
     .want = primary(rr::primary_server_specific)},
    {.what = "START TRANSACTION READ ONLY while profiling",
     .sql = "START TRANSACTION READ ONLY",
     .facts = measuring,
     .want = primary(rr::primary_server_specific)},
    {.what = "a plain read while profiling, direct mode",
     .sql = "SELECT * FROM t",
     .mode = direct,
     .facts = measuring,
     .want = primary(rr::primary_server_specific)},
    {.what = "START TRANSACTION READ ONLY, session state unknown on replicas",
     .sql = "START TRANSACTION READ ONLY",
     .facts = state_unknown,
     .want = primary(rr::primary_session_unknown)},
    {.what = "START TRANSACTION READ ONLY in direct mode: the stale idle replica",
     .sql = "START TRANSACTION READ ONLY",
     .mode = direct,
     .want = pinned_to(2, rr::replica_direct)},
    {.what = "START TRANSACTION READ ONLY in direct mode, none usable",
     .sql = "START TRANSACTION READ ONLY",
     .mode = direct,
     .cands = {{1, unusable, "0-1-10", 0}},
     .want = primary(rr::primary_not_caught_up)},
    {.what = "START TRANSACTION READ ONLY, the primary in the read pool",
     .sql = "START TRANSACTION READ ONLY",
     .cands = {{0, usable, "0-1-10", 0}, {1, usable, "0-1-9", 0}},
     .want = pinned_to(0)},
};

const std::vector<row> pinned_rows = {
    {.what = "pinned: a plain read goes to the pin, not to a fresher replica",
     .sql = plain_read,
     .facts = in_transaction,
     .pinned = 2,
     .want = replica(2)},
    {.what = "pinned: a write goes there too (the server refuses it)",
     .sql = "INSERT INTO t VALUES (1)",
     .facts = in_transaction,
     .pinned = 2,
     .want = replica(2)},
    {.what = "pinned: a locking read",
     .sql = "SELECT * FROM t FOR UPDATE",
     .facts = in_transaction,
     .pinned = 2,
     .want = replica(2)},
    {.what = "pinned: COMMIT ends it there", .sql = "COMMIT", .facts = in_transaction, .pinned = 2, .want = replica(2)},
    {.what = "pinned: ROLLBACK ends it there",
     .sql = "ROLLBACK",
     .facts = in_transaction,
     .pinned = 2,
     .want = replica(2)},
    {.what = "pinned: the primary hint",
     .sql = "/* causeway:primary */ SELECT * FROM t",
     .facts = in_transaction,
     .pinned = 2,
     .want = replica(2)},
    {.what = "pinned: an unclassifiable statement",
     .sql = nullptr,
     .facts = in_transaction,
     .pinned = 2,
     .want = replica(2)},
    {.what = "pinned: LAST_INSERT_ID()",
     .sql = "SELECT LAST_INSERT_ID()",
     .facts = in_transaction,
     .pinned = 1,
     .want = replica(1)},
    {.what = "pinned: a temporary table",
     .sql = plain_read,
     .facts = in_transaction | temporary_table,
     .pinned = 1,
     .want = replica(1)},
    {.what = "pinned: old progress, unknown requirement, no candidates",
     .sql = plain_read,
     .facts = in_transaction | progress_old,
     .pinned = 2,
     .req = unknown,
     .cands = {},
     .want = replica(2)},
    {.what = "pinned: in direct mode",
     .sql = plain_read,
     .mode = direct,
     .facts = in_transaction,
     .pinned = 1,
     .want = replica(1)},
    {.what = "pinned to the primary in the read pool",
     .sql = plain_read,
     .facts = in_transaction,
     .pinned = 0,
     .want = replica(0)},
};

const std::vector<row> session_state_rows = {
    {.what = "a temporary table, replica caught up",
     .sql = plain_read,
     .facts = temporary_table,
     .want = primary(rr::primary_unclassified)},
    {.what = "a temporary table in direct mode",
     .sql = plain_read,
     .mode = direct,
     .facts = temporary_table,
     .want = primary(rr::primary_unclassified)},
    {.what = "a write to a temporary table",
     .sql = "INSERT INTO tmp1 VALUES (1)",
     .facts = temporary_table,
     .want = primary(rr::primary_write)},
    {.what = "session state unknown on replicas",
     .sql = plain_read,
     .facts = state_unknown,
     .want = primary(rr::primary_session_unknown)},
    {.what = "session state unknown on replicas, direct mode",
     .sql = plain_read,
     .mode = direct,
     .facts = state_unknown,
     .want = primary(rr::primary_session_unknown)},
    {.what = "session state unknown on replicas, may wait",
     .sql = plain_read,
     .facts = state_unknown,
     .cands = {{1, usable, "0-1-9", 0}},
     .may_wait = true,
     .want = primary(rr::primary_session_unknown)},
    {.what = "session state unknown, a write is still a write",
     .sql = "UPDATE t SET a = 1",
     .facts = state_unknown,
     .want = primary(rr::primary_write)},
};

const std::vector<row> direct_rows = {
    {.what = "direct: the stale idle replica is chosen",
     .sql = plain_read,
     .mode = direct,
     .want = replica(2, rr::replica_direct)},
    {.what = "direct: every replica far behind",
     .sql = plain_read,
     .mode = direct,
     .cands = {{1, usable, "0-1-1", 5}, {2, usable, "0-1-2", 6}},
     .want = replica(1, rr::replica_direct)},
    {.what = "direct: old progress and unknown requirement are ignored",
     .sql = plain_read,
     .mode = direct,
     .facts = progress_old,
     .req = unknown,
     .want = replica(2, rr::replica_direct)},
    {.what = "direct: a full table is ignored",
     .sql = plain_read,
     .mode = direct,
     .req = table_full,
     .want = replica(2, rr::replica_direct)},
    {.what = "direct: an unusable replica is skipped",
     .sql = plain_read,
     .mode = direct,
     .cands = {{1, usable, "0-1-3", 9}, {2, unusable, "0-1-10", 0}},
     .want = replica(1, rr::replica_direct)},
    {.what = "direct: none usable",
     .sql = plain_read,
     .mode = direct,
     .cands = {{1, unusable, "0-1-10", 0}, {2, unusable, "0-1-10", 0}},
     .want = primary(rr::primary_not_caught_up)},
    {.what = "direct: no replicas",
     .sql = plain_read,
     .mode = direct,
     .cands = {},
     .want = primary(rr::primary_not_caught_up)},
    {.what = "direct: never waits",
     .sql = plain_read,
     .mode = direct,
     .may_wait = true,
     .want = replica(2, rr::replica_direct)},
    {.what = "direct: round robin from the cursor",
     .sql = plain_read,
     .mode = direct,
     .sel = round_robin,
     .cursor = 1,
     .want = replica(2, rr::replica_direct)},
    {.what = "direct: round robin wraps past an unusable one",
     .sql = plain_read,
     .mode = direct,
     .cands = {{1, usable, "0-1-1", 0}, {2, unusable, "0-1-1", 0}},
     .sel = round_robin,
     .cursor = 1,
     .want = replica(1, rr::replica_direct)},
    {.what = "direct: the primary in the read pool",
     .sql = plain_read,
     .mode = direct,
     .cands = {{0, usable, "0-1-10", 0}, {1, usable, "0-1-1", 2}},
     .want = replica(0, rr::replica_direct)},
};

const std::vector<row> freshness_rows = {
    {.what = "progress not fresh", .sql = plain_read, .facts = progress_old, .want = primary(rr::primary_progress_old)},
    {.what = "progress not fresh comes before a full table",
     .sql = plain_read,
     .facts = progress_old,
     .req = table_full,
     .want = primary(rr::primary_progress_old)},
    {.what = "session table full", .sql = plain_read, .req = table_full, .want = primary(rr::primary_table_full)},
    {.what = "requirement unknown", .sql = plain_read, .req = unknown, .want = primary(rr::primary_session_unknown)},
    {.what = "requirement unknown with an empty position and every replica usable",
     .sql = plain_read,
     .req = unknown,
     .required = "",
     .want = primary(rr::primary_session_unknown)},
    {.what = "covers exactly vs one seqno behind and idle", .sql = plain_read, .want = replica(1)},
    {.what = "both one seqno behind",
     .sql = plain_read,
     .cands = {{1, usable, "0-1-9", 0}, {2, usable, "0-1-9", 0}},
     .want = primary(rr::primary_not_caught_up)},
    {.what = "a replica ahead covers",
     .sql = plain_read,
     .cands = {{1, usable, "0-1-9", 0}, {2, usable, "0-1-900", 7}},
     .want = replica(2)},
    {.what = "the server id is not compared",
     .sql = plain_read,
     .required = "0-9-10",
     .cands = {{1, usable, "0-1-10", 0}},
     .want = replica(1)},
    {.what = "two domains: behind in domain 1 vs caught up in both",
     .sql = plain_read,
     .required = "0-1-10,1-2-5",
     .cands = {{1, usable, "0-1-10,1-2-4", 0}, {2, usable, "0-1-11,1-2-5", 3}},
     .want = replica(2)},
    {.what = "two domains: ahead in one, behind in the other",
     .sql = plain_read,
     .required = "0-1-10,1-2-5",
     .cands = {{1, usable, "0-1-99,1-2-4", 0}, {2, usable, "0-1-9,1-2-99", 0}},
     .want = primary(rr::primary_not_caught_up)},
    {.what = "two domains: a domain missing on the replica is seqno 0",
     .sql = plain_read,
     .required = "0-1-10,1-2-5",
     .cands = {{1, usable, "0-1-20", 0}, {2, usable, "1-2-20", 0}},
     .want = primary(rr::primary_not_caught_up)},
    {.what = "two domains: a required domain at seqno 0 is covered by its absence",
     .sql = plain_read,
     .required = "0-1-10,1-2-0",
     .cands = {{1, usable, "0-1-10", 0}},
     .want = replica(1)},
    {.what = "a domain the session never wrote requires nothing",
     .sql = plain_read,
     .required = "0-1-10",
     .cands = {{1, usable, "0-1-10,7-3-1", 0}},
     .want = replica(1)},
    {.what = "three domains, the third behind",
     .sql = plain_read,
     .required = "0-1-10,1-2-5,2-3-8",
     .cands = {{1, usable, "0-1-10,1-2-5,2-3-7", 0}},
     .want = primary(rr::primary_not_caught_up)},
    {.what = "three domains, all caught up",
     .sql = plain_read,
     .required = "0-1-10,1-2-5,2-3-8",
     .cands = {{1, usable, "2-3-8,0-1-10,1-2-5", 0}},
     .want = replica(1)},
    {.what = "an empty known requirement: any usable replica",
     .sql = plain_read,
     .required = "",
     .cands = {{1, usable, "", 2}, {2, usable, "0-1-1", 1}},
     .want = replica(2)},
    {.what = "an unusable replica that covers is skipped",
     .sql = plain_read,
     .cands = {{1, unusable, "0-1-10", 0}, {2, usable, "0-1-10", 5}},
     .want = replica(2)},
    {.what = "the only covering replica is unusable",
     .sql = plain_read,
     .cands = {{1, unusable, "0-1-10", 0}, {2, usable, "0-1-9", 0}},
     .want = primary(rr::primary_not_caught_up)},
    {.what = "no replicas", .sql = plain_read, .cands = {}, .want = primary(rr::primary_not_caught_up)},
    {.what = "the primary in the read pool, no replica caught up",
     .sql = plain_read,
     .cands = {{0, usable, "0-1-10", 4}, {1, usable, "0-1-9", 0}},
     .want = replica(0)},
    {.what = "the primary in the read pool, a caught-up replica less loaded",
     .sql = plain_read,
     .cands = {{0, usable, "0-1-10", 4}, {1, usable, "0-1-10", 1}},
     .want = replica(1)},
};

const std::vector<row> selection_rows = {
    {.what = "least outstanding: the smallest",
     .sql = plain_read,
     .cands = {{1, usable, "0-1-10", 5}, {2, usable, "0-1-10", 2}, {3, usable, "0-1-10", 7}},
     .want = replica(2)},
    {.what = "least outstanding: a tie goes to the first from the cursor",
     .sql = plain_read,
     .cands = {{1, usable, "0-1-10", 5}, {2, usable, "0-1-10", 2}, {3, usable, "0-1-10", 2}},
     .want = replica(2)},
    {.what = "least outstanding: ties rotate with the cursor",
     .sql = plain_read,
     .cands = {{1, usable, "0-1-10", 5}, {2, usable, "0-1-10", 2}, {3, usable, "0-1-10", 2}},
     .cursor = 2,
     .want = replica(3)},
    {.what = "least outstanding: the cursor does not beat a smaller count",
     .sql = plain_read,
     .cands = {{1, usable, "0-1-10", 0}, {2, usable, "0-1-10", 2}, {3, usable, "0-1-10", 2}},
     .cursor = 2,
     .want = replica(1)},
    {.what = "least outstanding: the idlest is stale",
     .sql = plain_read,
     .cands = {{1, usable, "0-1-10", 5}, {2, usable, "0-1-9", 0}, {3, usable, "0-1-11", 3}},
     .want = replica(3)},
    {.what = "least outstanding: the idlest is unusable",
     .sql = plain_read,
     .cands = {{1, usable, "0-1-10", 5}, {2, unusable, "0-1-10", 0}, {3, usable, "0-1-11", 3}},
     .want = replica(3)},
    {.what = "round robin: cursor 0 takes the first",
     .sql = plain_read,
     .cands = {{1, usable, "0-1-10", 9}, {2, usable, "0-1-10", 0}, {3, usable, "0-1-10", 0}},
     .sel = round_robin,
     .want = replica(1)},
    {.what = "round robin: starts at the cursor",
     .sql = plain_read,
     .cands = {{1, usable, "0-1-10", 0}, {2, usable, "0-1-10", 0}, {3, usable, "0-1-10", 0}},
     .sel = round_robin,
     .cursor = 2,
     .want = replica(3)},
    {.what = "round robin: skips a stale one and wraps",
     .sql = plain_read,
     .cands = {{1, usable, "0-1-10", 0}, {2, usable, "0-1-10", 0}, {3, usable, "0-1-9", 0}},
     .sel = round_robin,
     .cursor = 2,
     .want = replica(1)},
    {.what = "round robin: skips an unusable one",
     .sql = plain_read,
     .cands = {{1, usable, "0-1-10", 0}, {2, unusable, "0-1-10", 0}, {3, usable, "0-1-10", 0}},
     .sel = round_robin,
     .cursor = 1,
     .want = replica(3)},
    {.what = "round robin: turns go round the eligible only (an unusable one does not double the next one's share)",
     .sql = plain_read,
     .cands = {{1, usable, "0-1-10", 0}, {2, unusable, "0-1-10", 0}, {3, usable, "0-1-10", 0}},
     .sel = round_robin,
     .cursor = 2,
     .want = replica(1)},
    {.what = "least outstanding: ties rotate over the eligible only",
     .sql = plain_read,
     .cands = {{1, usable, "0-1-10", 0}, {2, unusable, "0-1-10", 0}, {3, usable, "0-1-10", 0}},
     .cursor = 3,
     .want = replica(3)},
    {.what = "round robin: a cursor past the end is taken modulo",
     .sql = plain_read,
     .cands = {{1, usable, "0-1-10", 0}, {2, usable, "0-1-10", 0}, {3, usable, "0-1-10", 0}},
     .sel = round_robin,
     .cursor = 7,
     .want = replica(2)},
    {.what = "round robin: a huge cursor",
     .sql = plain_read,
     .cands = {{1, usable, "0-1-10", 0}, {2, usable, "0-1-10", 0}, {3, usable, "0-1-10", 0}},
     .sel = round_robin,
     .cursor = 4294967295u,
     .want = replica(1)},
    {.what = "round robin: none caught up",
     .sql = plain_read,
     .cands = {{1, usable, "0-1-9", 0}, {2, usable, "0-1-9", 0}},
     .sel = round_robin,
     .cursor = 1,
     .want = primary(rr::primary_not_caught_up)},
    {.what = "round robin: a read-only transaction",
     .sql = "START TRANSACTION READ ONLY",
     .cands = {{1, usable, "0-1-10", 0}, {2, usable, "0-1-10", 0}},
     .sel = round_robin,
     .cursor = 1,
     .want = pinned_to(2)},
};

const std::vector<row> wait_rows = {
    {.what = "none caught up, may wait",
     .sql = plain_read,
     .cands = {{1, usable, "0-1-9", 0}, {2, usable, "0-1-8", 0}},
     .may_wait = true,
     .want = wait_for_replica},
    {.what = "caught up after the wait",
     .sql = plain_read,
     .cands = {{1, usable, "0-1-10", 0}},
     .waited = true,
     .want = replica(1, rr::replica_after_wait)},
    {.what = "caught up after the wait, round robin",
     .sql = plain_read,
     .cands = {{1, usable, "0-1-10", 0}, {2, usable, "0-1-10", 0}},
     .sel = round_robin,
     .cursor = 1,
     .waited = true,
     .want = replica(2, rr::replica_after_wait)},
    {.what = "still behind after the wait, budget spent",
     .sql = plain_read,
     .cands = {{1, usable, "0-1-9", 0}},
     .waited = true,
     .want = primary(rr::primary_not_caught_up)},
    {.what = "still behind after a first wait, budget left",
     .sql = plain_read,
     .cands = {{1, usable, "0-1-9", 0}},
     .may_wait = true,
     .waited = true,
     .want = wait_for_replica},
    {.what = "one caught up: no wait", .sql = plain_read, .may_wait = true, .want = replica(1)},
    {.what = "may wait, but the only replica behind has its replication stopped: no point waiting",
     .sql = plain_read,
     .cands = {{1, usable, "0-1-9", 0, false}},
     .may_wait = true,
     .want = primary(rr::primary_not_caught_up)},
    {.what = "may wait: one stopped, one applying and behind: wait",
     .sql = plain_read,
     .cands = {{1, usable, "0-1-9", 0, false}, {2, usable, "0-1-8", 0}},
     .may_wait = true,
     .want = wait_for_replica},
    {.what = "may wait, but no replica is usable: no point waiting",
     .sql = plain_read,
     .cands = {{1, unusable, "0-1-10", 0}},
     .may_wait = true,
     .want = primary(rr::primary_not_caught_up)},
    {.what = "may wait with no candidate at all: primary",
     .sql = plain_read,
     .cands = {},
     .may_wait = true,
     .want = primary(rr::primary_not_caught_up)},
    {.what = "may wait, progress old: no wait",
     .sql = plain_read,
     .facts = progress_old,
     .cands = {{1, usable, "0-1-9", 0}},
     .may_wait = true,
     .want = primary(rr::primary_progress_old)},
    {.what = "may wait, table full: no wait",
     .sql = plain_read,
     .req = table_full,
     .cands = {{1, usable, "0-1-9", 0}},
     .may_wait = true,
     .want = primary(rr::primary_table_full)},
    {.what = "may wait, requirement unknown: no wait",
     .sql = plain_read,
     .req = unknown,
     .cands = {{1, usable, "0-1-9", 0}},
     .may_wait = true,
     .want = primary(rr::primary_session_unknown)},
    {.what = "may wait, a temporary table: no wait",
     .sql = plain_read,
     .facts = temporary_table,
     .cands = {{1, usable, "0-1-9", 0}},
     .may_wait = true,
     .want = primary(rr::primary_unclassified)},
    {.what = "may wait, a transaction: no wait",
     .sql = plain_read,
     .facts = in_transaction,
     .cands = {{1, usable, "0-1-9", 0}},
     .may_wait = true,
     .want = primary(rr::primary_transaction)},
};

// No primary (down, a switchover under way, split brain): what needs the
// primary is unavailable; reads whose position a replica has go there, the
// others wait for one within causal_wait_ms, then are unavailable too.
const std::vector<row> no_primary_rows = {
    {.what = "no primary: a write", .sql = "INSERT INTO t VALUES (1)", .facts = no_primary, .want = unavailable},
    {.what = "no primary: a caught-up read still goes to the replica",
     .sql = plain_read,
     .facts = no_primary,
     .want = replica(1)},
    {.what = "no primary: a read none has caught up with waits",
     .sql = plain_read,
     .facts = no_primary,
     .cands = {{1, usable, "0-1-9", 0}},
     .may_wait = true,
     .want = wait_for_replica},
    {.what = "no primary: the wait is spent",
     .sql = plain_read,
     .facts = no_primary,
     .cands = {{1, usable, "0-1-9", 0}},
     .waited = true,
     .want = unavailable},
    {.what = "no primary: the only replica behind has stopped applying: no wait",
     .sql = plain_read,
     .facts = no_primary,
     .cands = {{1, usable, "0-1-9", 0, false}},
     .may_wait = true,
     .want = unavailable},
    {.what = "no primary: inside a transaction",
     .sql = plain_read,
     .facts = no_primary | in_transaction,
     .want = unavailable},
    {.what = "no primary: a locking read",
     .sql = "SELECT * FROM t FOR UPDATE",
     .facts = no_primary,
     .want = unavailable},
    {.what = "no primary: a read-only transaction starts on a caught-up replica",
     .sql = "START TRANSACTION READ ONLY",
     .facts = no_primary,
     .want = pinned_to(1)},
    {.what = "no primary: a pinned read-only transaction carries on",
     .sql = "INSERT INTO t VALUES (1)",
     .facts = no_primary | in_transaction,
     .pinned = 2,
     .want = replica(2)},
    {.what = "no primary: progress old", .sql = plain_read, .facts = no_primary | progress_old, .want = unavailable},
    {.what = "no primary: table full", .sql = plain_read, .facts = no_primary, .req = table_full, .want = unavailable},
    {.what = "no primary: direct mode reads any replica",
     .sql = plain_read,
     .mode = direct,
     .facts = no_primary,
     .cands = {{1, usable, "0-1-1", 0}},
     .want = replica(1, rr::replica_direct)},
    {.what = "no primary: direct mode, no usable replica",
     .sql = plain_read,
     .mode = direct,
     .facts = no_primary,
     .cands = {{1, unusable, "0-1-1", 0}},
     .want = unavailable},
    {.what = "no primary: bridge", .sql = plain_read, .mode = bridge, .facts = no_primary, .want = unavailable},
    {.what = "no primary: a session SET runs on any usable server (replayed later)",
     .sql = "SET NAMES utf8mb4",
     .facts = no_primary,
     .cands = {{1, unusable, "0-1-10", 0}, {2, usable, "0-1-1", 0}},
     .want = replica(2, rr::replica_direct)},
    {.what = "no primary: a session SET, no usable server",
     .sql = "SET NAMES utf8mb4",
     .facts = no_primary,
     .cands = {{1, unusable, "0-1-10", 0}},
     .want = unavailable},
    {.what = "no primary: a session SET inside a transaction",
     .sql = "SET NAMES utf8mb4",
     .facts = no_primary | in_transaction,
     .want = unavailable},
    {.what = "primary up: a session SET goes to the primary",
     .sql = "SET NAMES utf8mb4",
     .want = primary(rr::primary_write)},
};

const std::vector<const std::vector<row>*> all_tables = {
    &bridge_rows, &hint_rows,          &statement_rows, &transaction_rows, &read_only_transaction_rows,
    &pinned_rows, &session_state_rows, &direct_rows,    &freshness_rows,   &selection_rows,
    &wait_rows,   &no_primary_rows,
};

// ------------------------------------------------------------------ the property

// A random GTID text over domains 0 and 1 (either may be absent), and the
// seqno it holds per domain (0 when absent), kept apart from gtid_position so
// that the check does not trust the code under test.
struct random_position {
    std::string text;
    std::array<std::uint64_t, 2> seqno{};
};

random_position random_gtid(std::mt19937& rng)
{
    random_position p;
    for (std::uint32_t domain = 0; domain < 2; ++domain) {
        if (rng() % 4 == 0) continue;
        p.seqno[domain] = rng() % 8;
        if (!p.text.empty()) p.text += ',';
        p.text += std::to_string(domain) + "-" + std::to_string(1 + rng() % 3) + "-" + std::to_string(p.seqno[domain]);
    }
    return p;
}

bool covers(const random_position& applied, const random_position& required)
{
    return applied.seqno[0] >= required.seqno[0] && applied.seqno[1] >= required.seqno[1];
}

}   // namespace

class router_test : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(router_test);
    CPPUNIT_TEST(bridge_mode);
    CPPUNIT_TEST(hints);
    CPPUNIT_TEST(statements);
    CPPUNIT_TEST(transactions);
    CPPUNIT_TEST(read_only_transactions);
    CPPUNIT_TEST(pinned_transactions);
    CPPUNIT_TEST(session_state);
    CPPUNIT_TEST(direct_mode);
    CPPUNIT_TEST(smartscale_freshness);
    CPPUNIT_TEST(replica_selection_policy);
    CPPUNIT_TEST(bounded_wait);
    CPPUNIT_TEST(without_primary);
    CPPUNIT_TEST(candidate_usability);
    CPPUNIT_TEST(enough_rows);
    CPPUNIT_TEST(never_stale);
    CPPUNIT_TEST_SUITE_END();

public:
    void bridge_mode() { check_table("bridge", bridge_rows); }
    void hints() { check_table("hints", hint_rows); }
    void statements() { check_table("statements", statement_rows); }
    void transactions() { check_table("transactions", transaction_rows); }
    void read_only_transactions() { check_table("read-only transactions", read_only_transaction_rows); }
    void pinned_transactions() { check_table("pinned", pinned_rows); }
    void session_state() { check_table("session state", session_state_rows); }
    void direct_mode() { check_table("direct", direct_rows); }
    void smartscale_freshness() { check_table("freshness", freshness_rows); }
    void replica_selection_policy() { check_table("selection", selection_rows); }
    void bounded_wait() { check_table("wait", wait_rows); }
    void without_primary() { check_table("no primary", no_primary_rows); }

    // Which servers may serve reads at all (worker::candidate_usable): one
    // row per reason to refuse, from a usable baseline.
    void candidate_usability()
    {
        using worker::candidate_facts;
        using st = shm::backend_state;
        const candidate_facts base{true, true, true, st::up, false, false, false, false, false};
        struct c_row {
            const char* what;
            candidate_facts f;
            bool want;
        };
        auto with = [&](auto change) {
            candidate_facts f = base;
            change(f);
            return f;
        };
        const c_row rows[] = {
            {"up, fresh, named", base, true},
            {"replication stopped without an error: serves what it has",
             with([](candidate_facts& f) { f.state = st::replication_stopped; }), true},
            {"torn snapshot", with([](candidate_facts& f) { f.snapshot_ok = false; }), false},
            {"entry of another config generation", with([](candidate_facts& f) { f.identity_matches = false; }), false},
            {"old poll", with([](candidate_facts& f) { f.fresh = false; }), false},
            {"down", with([](candidate_facts& f) { f.state = st::down; }), false},
            {"unknown", with([](candidate_facts& f) { f.state = st::unknown; }), false},
            {"the current primary (reads reach it as index 0, with primary_in_read_pool)",
             with([](candidate_facts& f) { f.is_primary = true; }), false},
            {"drained by the operator", with([](candidate_facts& f) { f.drained = true; }), false},
            {"replication stopped on an error", with([](candidate_facts& f) {
                 f.state = st::replication_stopped;
                 f.repl_error = true;
             }),
             false},
            {"lagging past max_replica_lag_ms", with([](candidate_facts& f) { f.lagging = true; }), false},
            {"failed this worker a moment ago", with([](candidate_facts& f) { f.avoided = true; }), false},
        };
        std::string failures;
        for (const auto& r : rows)
            if (worker::candidate_usable(r.f) != r.want)
                failures += std::string("\n  ") + r.what + ": want " + (r.want ? "usable" : "unusable");
        CPPUNIT_ASSERT_MESSAGE("candidates:" + failures, failures.empty());
    }

    void enough_rows()
    {
        std::size_t n = 0;
        for (const auto* t : all_tables) n += t->size();
        CPPUNIT_ASSERT_MESSAGE("rows: " + std::to_string(n), n >= 60);
    }

    // 10,000 random smartscale requests: a decision for a replica names a
    // usable candidate whose position covers the required one in every domain,
    // and was made on a fresh progress block with a known requirement. Also:
    // a plain read with nothing against it and a usable caught-up candidate
    // is never sent to the primary, and least_outstanding takes the idlest of them.
    void never_stale()
    {
        const std::uint32_t seed = 20240611;
        std::mt19937 rng(seed);
        const char* const statements[] = {
            plain_read,
            "SHOW TABLES",
            "/* causeway:replica */ SELECT * FROM t",
            "START TRANSACTION READ ONLY",
            "BEGIN",
            "INSERT INTO t VALUES (1)",
            "SELECT * FROM t FOR UPDATE",
            "SELECT LAST_INSERT_ID()",
            "COMMIT",
            "/* causeway:primary */ SELECT * FROM t",
        };
        std::vector<protocol::statement_info> infos;
        for (const char* s : statements) infos.push_back(protocol::classify(s));

        unsigned to_replica = 0;
        unsigned past_stale = 0;   // replica decisions with a usable stale candidate on offer
        for (int n = 0; n < 10000; ++n) {
            const std::string where = "seed " + std::to_string(seed) + ", request " + std::to_string(n);
            const random_position required = random_gtid(rng);
            std::vector<random_position> positions;
            std::vector<worker::read_candidate> cands;
            for (int backend = 0; backend < 5; ++backend) {
                if (rng() % 2) continue;
                positions.push_back(random_gtid(rng));
                auto pos = protocol::parse_gtid_position(positions.back().text);
                CPPUNIT_ASSERT_MESSAGE(where + ": " + positions.back().text, pos.ok());
                cands.push_back({backend, rng() % 4 != 0, *pos, unsigned(rng() % 5)});
            }
            auto req = protocol::parse_gtid_position(required.text);
            CPPUNIT_ASSERT_MESSAGE(where + ": " + required.text, req.ok());

            const std::size_t which = rng() % infos.size();
            worker::route_request q;
            q.mode = routing_mode::smartscale;
            q.statement = &infos[which];
            q.in_transaction = rng() % 8 == 0;
            q.autocommit_off = rng() % 8 == 0;
            q.optimistic = rng() % 2 == 0;
            q.next_transaction_read_only = rng() % 4 == 0;
            q.touches_temporary_table = rng() % 8 == 0;
            q.replica_state_unknown = rng() % 8 == 0;
            q.progress_fresh = rng() % 8 != 0;
            const unsigned status = rng() % 10;
            q.requirement = status == 0 ? requirement_status::table_full
                : status == 1           ? requirement_status::unknown
                                        : requirement_status::known;
            q.required = *req;
            q.candidates = cands;
            q.selection = rng() % 2 ? replica_selection::round_robin : replica_selection::least_outstanding;
            q.round_robin_cursor = rng() % 7;
            q.may_wait = rng() % 3 == 0;
            q.waited = rng() % 3 == 0;
            const worker::route_decision d = worker::route(q);
            const std::string context = where + " [" + statements[which] + "] required '" + required.text + "'";

            bool some_fresh = false;
            bool some_stale = false;
            bool any_usable = false;
            for (const auto& c : cands) any_usable |= c.usable;
            unsigned idlest = ~0u;
            for (std::size_t i = 0; i < cands.size(); ++i) {
                if (!cands[i].usable) continue;
                if (!covers(positions[i], required)) {
                    some_stale = true;
                    continue;
                }
                some_fresh = true;
                idlest = std::min(idlest, cands[i].outstanding);
            }

            if (d.target == route_target::replica) {
                ++to_replica;
                past_stale += some_stale;
                auto it = std::find_if(cands.begin(), cands.end(),
                                       [&](const worker::read_candidate& c) { return c.backend == d.backend; });
                CPPUNIT_ASSERT_MESSAGE(context + ": backend not a candidate", it != cands.end());
                const std::size_t i = std::size_t(it - cands.begin());
                CPPUNIT_ASSERT_MESSAGE(context + ": unusable backend " + std::to_string(d.backend), it->usable);
                CPPUNIT_ASSERT_MESSAGE(
                    context + ": STALE: backend " + std::to_string(d.backend) + " at '" + positions[i].text + "'",
                    covers(positions[i], required));
                CPPUNIT_ASSERT_MESSAGE(context + ": replica on old progress", q.progress_fresh);
                CPPUNIT_ASSERT_MESSAGE(context + ": replica without a known requirement",
                                       q.requirement == requirement_status::known);
                CPPUNIT_ASSERT_MESSAGE(context + ": replica with unknown session state", !q.replica_state_unknown);
                // Under autocommit=0 only an optimistic transaction starts on a replica (pinned).
                CPPUNIT_ASSERT_MESSAGE(context + ": replica inside a transaction",
                                       !q.in_transaction && (!q.autocommit_off || (q.optimistic && d.pin)));
                if (q.selection == replica_selection::least_outstanding)
                    CPPUNIT_ASSERT_MESSAGE(context + ": not the idlest", it->outstanding == idlest);
            }
            const bool unhindered = infos[which].is_plain_read && !q.in_transaction &&
                (!q.autocommit_off || q.optimistic) && !q.touches_temporary_table && !q.replica_state_unknown &&
                q.progress_fresh && q.requirement == requirement_status::known;
            if (unhindered && some_fresh)
                CPPUNIT_ASSERT_MESSAGE(context + ": a caught-up replica was not used",
                                       d.target == route_target::replica);
            if (unhindered && !some_fresh)
                CPPUNIT_ASSERT_MESSAGE(
                    context + ": no caught-up replica, yet " + name(d.target),
                    d.target == (q.may_wait && any_usable ? route_target::wait : route_target::primary));
        }
        // The property is not vacuous: many replica decisions, many of them
        // made with a stale replica on offer.
        CPPUNIT_ASSERT_MESSAGE("replica decisions: " + std::to_string(to_replica), to_replica > 500);
        CPPUNIT_ASSERT_MESSAGE("past a stale one: " + std::to_string(past_stale), past_stale > 200);
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(router_test);
