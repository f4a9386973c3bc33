// The routing decision, as a pure function: statement x session x replica
// snapshot -> primary, a replica, or "wait for one to catch up". Every doubt
// goes to the primary, and each outcome carries the reason that is counted.
// No I/O, no clock, no shared memory here: the caller gathers the inputs.
#pragma once

#include <cstdint>
#include <span>

#include "common/config.hh"
#include "protocol/classifier.hh"
#include "protocol/gtid.hh"
#include "shm/layout.hh"

namespace causeway::worker {

// One backend that could serve a read, as the router sees it right now.
struct read_candidate {
    int backend = 0;   // index in the progress block (0 = the primary)
    bool usable = false;   // a clean, fresh snapshot of a backend that is up (or only its
        // replication stopped) and that this config generation names
    protocol::gtid_position position;   // what it has applied
    unsigned outstanding = 0;   // reads this worker has in flight on it
    bool applying = true;   // its replication runs (a stopped one serves what it has, never more)
};

// What decides whether a server may serve reads at all, whatever the session
// needs: from its progress entry, the role block and the operator's drains.
struct candidate_facts {
    bool snapshot_ok = false;   // a clean copy of its progress entry
    bool identity_matches = false;   // written for the server this config generation names
    bool fresh = false;   // polled within progress_max_age_ms
    shm::backend_state state = shm::backend_state::unknown;
    bool is_primary = false;   // the role block names it the primary (reads reach it as index 0 only)
    bool drained = false;   // causewayctl drain
    bool repl_error = false;   // its replication stopped on an error: its data may have diverged
    bool lagging = false;   // behind by more than max_replica_lag_ms
    bool avoided = false;   // it failed this worker a moment ago
};
bool candidate_usable(const candidate_facts& f);

// What the session's required position is known to be.
enum class requirement_status : std::uint8_t {
    known,   // position = max(every session key's last write, floor)
    table_full,   // a key's bucket spilled: its write could not be stored
    unknown,   // no floor yet, overflow, too many domains, torn read
};

struct route_request {
    common::routing_mode mode = common::routing_mode::smartscale;
    const protocol::statement_info* statement = nullptr;   // nullptr: not classifiable (huge, binary)

    // Session facts, from the server's status flags and what the proxy tracked.
    bool in_transaction = false;   // SERVER_STATUS_IN_TRANS of the last answer
    bool autocommit_off = false;   // SERVER_STATUS_AUTOCOMMIT clear
    int pinned_backend = -1;   // a read-only transaction runs there
    bool next_transaction_read_only = false;   // SET [SESSION] TRANSACTION READ ONLY is in effect
    bool touches_temporary_table = false;   // names a temporary table this connection created
    bool replica_state_unknown = false;   // session state could not be carried to replicas
    bool tables_locked = false;   // LOCK TABLES / FLUSH TABLES ... WITH READ LOCK holds locks on the primary
    // The client measures its own session: after SET profiling, SHOW PROFILES
    // lists the statements of one server session (make compat B11); after
    // FLUSH STATUS, SHOW STATUS counts them (mtr main.join_outer_jcl6). That
    // session is the primary's, so every statement runs there.
    bool measuring = false;
    // A transaction may start optimistically on a replica (optimistic_transactions
    // on, smartscale, no conflict just before); it is pinned there like a
    // read-only one, and moved by the session at its first write.
    bool optimistic = false;
    bool session_wrote = false;   // the session's previous transaction wrote: its next ones start on the primary
    // The statement's answer cannot be repeated on the primary (NOW(), RAND(),
    // ...: protocol/unrepeatable.hh), so a transaction it would open there could
    // never be proven by a replay: such a transaction starts on the primary.
    bool unrepeatable = false;

    // Freshness inputs (smartscale).
    bool progress_fresh = false;   // the poller's heartbeat is recent
    requirement_status requirement = requirement_status::unknown;
    protocol::gtid_position required;

    std::span<const read_candidate> candidates;   // replicas, and the primary if it is in the read pool
    common::replica_selection selection = common::replica_selection::least_outstanding;
    unsigned round_robin_cursor = 0;   // where the scan starts (the worker's, moved by each read)

    bool may_wait = false;   // causal_wait_ms > 0 and this read's budget is not spent
    bool waited = false;   // this read already waited (counts as replica_after_wait)

    // The role block names a primary (false: down, switching, split brain).
    bool primary_available = true;
};

// Why a transaction that could have started optimistically on a replica
// starts on the primary instead (counted per reason).
enum class optimistic_refusal : std::uint8_t {
    none,
    session_wrote,
    unrepeatable,
    temporary_table,
};

enum class route_target : std::uint8_t {
    primary,
    replica,
    wait,
    unavailable,   // it needs the primary and there is none: the session waits for one or refuses
};

struct route_decision {
    route_target target = route_target::primary;
    int backend = 0;   // the chosen candidate's backend index (replica)
    shm::route_reason reason = shm::route_reason::primary_unclassified;
    bool pin = false;   // a read-only transaction starts: keep it on this backend until it ends
    optimistic_refusal refusal = optimistic_refusal::none;   // set with target primary only
};

route_decision route(const route_request& r);

}   // namespace causeway::worker
