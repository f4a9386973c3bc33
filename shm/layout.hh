// The shared-memory layout: the ONLY file that defines what lives in the
// segment. Plain structs of lock-free std::atomic words at fixed offsets (no
// pointers, no allocator), so every process maps the same bytes. Each field
// names its writer and its readers. Bump layout_version on any change here.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "protocol/gtid.hh"

namespace causeway::shm {

using word = std::atomic<std::uint64_t>;
static_assert(word::is_always_lock_free, "shm needs lock-free 64-bit atomics");
static_assert(sizeof(word) == 8 && alignof(word) == 8);

inline constexpr std::uint64_t segment_magic = 0x5941'5745'5355'4143ull;   // "CAUSEWAY"
inline constexpr std::uint64_t layout_version = 19;

inline constexpr std::size_t max_backends = 64;   // index 0 is the primary role, 1.. the servers
inline constexpr std::size_t max_worker_slots = 256;   // two generations during a reload
// GTID domains: the session table tracks up to max_tracked_domains of them
// one by one (max_gtid_domains of the config, at most this); writes in any
// other domain are tracked together by the epoch (session_state below), which
// takes directory index 0. Arrays indexed by directory position have
// max_domains words.
inline constexpr std::size_t max_tracked_domains = 32;
inline constexpr std::size_t max_domains = max_tracked_domains + 1;
inline constexpr std::size_t epoch_index = 0;
// The domain id the epoch shows as in positions (progress entries, lookups,
// floor and watermark): a replica's entry carries gtid {epoch_domain, 0, E}
// when it has applied the primary's whole position as the poll with epoch E
// read it. A real domain with this id is never tracked on its own.
inline constexpr std::uint32_t epoch_domain = 0xffffffffu;
inline constexpr std::size_t backend_text_words = 6;   // 48 bytes: name, address

// ---------------------------------------------------------------- progress

enum class backend_state : std::uint8_t {
    unknown = 0,
    up = 1,
    down = 2,
    replication_stopped = 3
};

// One GTID of a position: (domain << 32 | server) and seqno.
struct gtid_slot {
    word domain_server;
    word seqno;
};

// One backend's replication progress. Writer: the poller only. Readers: workers,
// causewayctl, through the seqlock `seq` (odd while a write is in progress; see
// shm/seqlock.hh); every payload word is read and written relaxed between the
// fences, so a torn copy is detected, never undefined.
struct alignas(64) progress_entry {
    word seq;
    word backend_id;   // backend_identity() of the config entry polled
    word status;   // see status_* below
    gtid_slot gtid[max_domains];
    word last_good_poll_ns;   // CLOCK_MONOTONIC of the last successful poll
    word poll_rtt_ns;   // round trip of that poll
    word advanced_ns;   // CLOCK_MONOTONIC when the position last moved
    word polls;
    word poll_errors;
};
// progress_entry::status bits: state, thread flags, gtid count, last error.
inline constexpr std::uint64_t status_io_running = 1u << 8;
inline constexpr std::uint64_t status_sql_running = 1u << 9;
inline constexpr std::uint64_t status_read_only = 1u << 10;
inline constexpr std::uint64_t status_repl_error = 1u << 11;   // Last_SQL_Errno or Last_IO_Errno non-zero
inline constexpr std::uint64_t status_lagging = 1u << 12;   // behind by more than max_replica_lag_ms
// The server's global sql_mode, as far as it changes how statements lex (new
// sessions start with it): known, ANSI_QUOTES, NO_BACKSLASH_ESCAPES.
inline constexpr std::uint64_t status_sql_mode_known = 1u << 13;
inline constexpr std::uint64_t status_ansi_quotes = 1u << 14;
inline constexpr std::uint64_t status_no_backslash_escapes = 1u << 15;
inline constexpr unsigned status_count_shift = 16;   // 8 bits: gtids in use
inline constexpr unsigned status_error_shift = 32;   // 32 bits: last MySQL/errno code

// Backend names and addresses for causewayctl. Writer: the supervisor (at
// create and on reload), under the seqlock `seq`. Text is NUL-padded, truncated.
struct backend_label {
    word name[backend_text_words];
    word address[backend_text_words];
};
struct alignas(64) backend_labels {
    word seq;
    word count;   // backends in use: primary + replicas
    backend_label label[max_backends];
};

// ---------------------------------------------------------------- counters

// Why a statement went where it went. Counted per worker; the router picks one
// reason per routed statement.
enum class route_reason : std::uint8_t {
    replica_caught_up,   // a replica already at the session's position
    replica_after_wait,   // one caught up within the wait budget
    replica_direct,   // direct mode: freshness not checked
    primary_write,
    primary_transaction,
    primary_locking_read,   // FOR UPDATE / LOCK IN SHARE MODE
    primary_unclassified,
    primary_not_caught_up,   // no replica caught up within the budget
    primary_table_full,   // session table full: position unknown
    primary_session_unknown,   // overflow, spill, no floor yet, torn snapshot
    primary_progress_old,   // poller heartbeat or snapshot older than progress_max_age_ms
    primary_bridge,   // bridge mode
    primary_unavailable,   // no primary (down, switching, split brain): answered with an error
    primary_server_specific,   // about the server itself (EXPLAIN's plan, SHOW CREATE TABLE, SHOW STATUS...)
    count
};
inline constexpr std::size_t route_reason_count = std::size_t(route_reason::count);

// One worker's counters. Writer: that worker only (relaxed load + store, see
// shm/counters.hh); the supervisor writes pid/generation before the worker runs
// and resets connections_active after reaping it. Readers: causewayctl, tests.
// Totals are sums over slots; a reused slot keeps counting up.
struct alignas(64) worker_counters {
    word pid;   // 0: slot free
    word generation;   // config generation the worker runs
    word started_ns;
    word connections_accepted;
    word connections_active;   // a gauge
    word connections_refused;
    word auth_failures;
    word queries_forwarded;
    word bytes_in;
    word bytes_out;
    word backend_connect_failures;
    word protocol_errors;
    word waits;   // bounded waits for a replica to catch up
    word wait_us;   // time spent in them
    word position_fences;   // reads that first learned the primary's position (an unreported commit)
    word optimistic_started;   // transactions started on a replica (optimistic_transactions)
    word optimistic_completed;   // ... that ended there (COMMIT/ROLLBACK of reads only)
    word optimistic_migrated;   // ... moved to the primary with the same answers
    word optimistic_conflicts;   // ... whose answers differed there: ERR 1213
    // Transactions that could have started on a replica but ran on the
    // primary from the start, by reason: the session's previous transaction
    // wrote; their first statement's answer cannot be repeated (NOW(), RAND(),
    // ..., protocol/unrepeatable.hh); the session has temporary tables; BEGIN
    // was followed by a write before any read.
    word optimistic_primary_wrote;
    word optimistic_primary_unrepeatable;
    word optimistic_primary_temporary;
    word optimistic_primary_write_first;
    word tls_connections;   // clients that upgraded to TLS (SSLRequest accepted)
    word tls_failures;   // TLS handshakes or records that failed (garbage, bad certificate, ...)
    word handshake_timeouts;   // clients closed for not logging in within handshake_timeout_ms
    word auth_delays;   // logins answered after auth_failure_delay_ms
    word accept_pauses;   // accept() failed for lack of descriptors (EMFILE, ENFILE, ...): paused
    word pool_reuses;   // backend connections taken from the pool instead of a new login
    word switch_retries;   // autocommit writes the old primary refused as read-only, run on the next one
    word backend_tls_failures;   // backend logins that failed for TLS (not offered, handshake, certificate)
    word idle_timeouts;   // clients closed after client_idle_timeout_s without a statement
    word replica_read_timeouts;   // reads retried on the primary after replica_read_timeout_ms
    word compressed_connections;   // clients that logged in with the compressed protocol (CLIENT_COMPRESS)
    word compression_errors;   // compressed frames refused: bad deflate data, or declaring too much
    word routed[route_reason_count];
};

// Latency histograms and per-command and per-refusal counts of one worker,
// in a block of their own so that worker_counters keeps its size. Writer:
// that worker only (relaxed load + store, shm/counters.hh); readers: the
// admin process (/metrics), causewayctl, tests. Like worker_counters, a
// reused slot keeps counting up.
//
// A histogram keeps one count per bucket (not cumulative: a record is one
// increment) and the sum of the values; the reader adds the buckets up into
// Prometheus' cumulative `le` buckets and its _count. Bounds are in
// microseconds; the last bucket counts values above the largest bound.
inline constexpr std::size_t latency_bounds = 16;
inline constexpr std::uint64_t latency_bound_us[latency_bounds] = {
    50, 100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000, 2500000, 10000000,
};
struct latency_histogram {
    word bucket[latency_bounds + 1];
    word sum_us;
};
enum class latency_kind : std::uint8_t {
    causal_wait,   // a read's wait for a replica to catch up (however it ended)
    read_replica,   // a read's statement sent to a replica until the end of its answer
    read_primary,   // the same on the primary
    count
};
inline constexpr std::size_t latency_kind_count = std::size_t(latency_kind::count);

// Client commands by command byte: 0x00..0x1f at their own index,
// COM_STMT_BULK_EXECUTE (0xfa) and everything else after them.
inline constexpr std::size_t command_slot_bulk_execute = 0x20;
inline constexpr std::size_t command_slot_other = 0x21;
inline constexpr std::size_t command_slots = 0x22;

// Why a client connection was closed before (or at) its login.
enum class refuse_reason : std::uint8_t {
    max_connections,   // ERR 1040 instead of the greeting
    out_of_fds,   // accept() failed for lack of descriptors: one client told ERR 1040
    handshake_timeout,   // not logged in within handshake_timeout_ms
    auth_failure,   // wrong user or password
    tls_required,   // tls_mode = required and no SSLRequest
    tls_failure,   // the TLS handshake failed
    bad_handshake,   // a malformed login packet or an SSLRequest we cannot honour
    bad_session_id,   // a malformed session id in the database name or attribute: ERR 1102
    no_primary,   // the login could not reach the primary
    accounts_not_loaded,   // users_from_primary has not loaded the accounts yet: ERR 9001, try again
    count
};
inline constexpr std::size_t refuse_reason_count = std::size_t(refuse_reason::count);

struct alignas(64) worker_stats {
    latency_histogram latency[latency_kind_count];
    word commands[command_slots];
    word refused[refuse_reason_count];
};

// What each client connection of a worker is running and its primary server
// thread, so that a KILL QUERY or KILL CONNECTION sent through another worker
// finds the server thread to kill. One board per worker slot; a client uses
// entry (its connection counter % board_entries). Writer: that worker:
// `client` = 0, `statement` and `primary`, then `client` = the client's
// connection id (release), at each statement's start and end; back to 0 when
// the client's connection ends. Readers: other workers load `client`
// (acquire), the words, `client` again: the same id twice means the words are
// that client's (perhaps of a newer statement of it, the race every KILL has).
// Two clients sharing an entry: the later wins.
inline constexpr std::size_t board_entries = 512;
inline constexpr std::uint64_t board_idle = ~std::uint64_t(0);   // `statement`: none running
struct board_entry {
    word client;
    word statement;   // backend index << 32 | server thread id, or board_idle
    word primary;   // primary server slot << 32 | server thread id of its primary connection; 0: none
};
struct alignas(64) statement_board {
    board_entry entry[board_entries];
};

// Failed logins per client address, shared by every worker so that a client
// spreading its guesses over workers is slowed all the same. Open addressing,
// `login_probe` slots from the address's hash (seeded per segment). Writers:
// workers (CAS on `key`, CAS on `window`); readers: workers. All relaxed: a
// torn pair (a key whose window still belongs to the address it replaced)
// only slows or speeds one login, never refuses one. A slot whose window is
// over may be taken by another address.
inline constexpr std::size_t login_slots = 4096;
inline constexpr std::size_t login_probe = 8;
struct login_slot {
    word key;   // hash of the address | 1; 0 = free
    word window;   // start (CLOCK_MONOTONIC ms) << login_count_bits | failures
};
inline constexpr unsigned login_count_bits = 20;
struct alignas(64) login_table {
    login_slot slot[login_slots];
};

// Writer: the poller; readers: causewayctl, the supervisor.
struct alignas(64) poller_counters {
    word pid;
    word generation;
    word polls;
    word poll_errors;
    word rounds;
    word reclaim_sweeps;   // full passes over the session table
    word reclaimed_entries;
    word reclaimed_spills;
    word table_occupied;   // entries in use at the end of the last full pass
    // GTID domains, for the operator: how many the primary's @@gtid_binlog_pos
    // names and the most any replica's @@gtid_slave_pos names (gauges, at the
    // last poll), and polls that found more than the directory can track.
    word primary_domains;
    word replica_domains;
    word domain_limit_polls;
};

// One worker's backend connections and what its pool did. `open[s]` counts
// the connections to server s (progress-block index; the primary role's
// connections count under the server that holds it) this worker has open,
// pooled ones included: max_backend_connections_per_server is checked
// against the sum over all slots, so a worker that dies leaks nothing: the
// kernel closes its sockets and the supervisor zeroes its slot when it reaps
// it (as it does connections_active). Writer: that worker (`open` with
// seq_cst stores, so that a worker taking the last free connection and one
// counting the others cannot both miss each other; the rest relaxed).
// Readers: other workers (`open` only), causewayctl, the admin process.
struct alignas(64) backend_usage {
    word open[max_backends];
    word limit_waits;   // clients that waited for a connection (max_backend_connections_per_server)
    word limit_wait_us;   // time spent in those waits
    word limit_refusals;   // ... that ended with ERR 1040 after pool_wait_ms
    word limit_rerouted;   // reads for a replica at its limit that went to the primary instead
    word pool_evictions;   // idle pooled connections closed to make room for another client's
    word pool_pings;   // pooled connections checked with COM_PING before reuse (pool_ping_after_s)
    word pool_dead;   // ... that were dead: dropped, the client got a fresh login
    word pool_user_changes;   // pooled connections of another user taken with COM_CHANGE_USER
    word pool_statement_releases;   // replica connections given back between statements (pool_mode = statement)
    // Bit s: a client of this worker waits for a place on server s. Other
    // workers then close an idle pooled connection to s to make one.
    alignas(64) word wanted;
};

// ---------------------------------------------------------------- roles

// Which listed server is the primary now, as the poller decided it from the
// servers' own state (read_only, what each replicates from).
enum class primary_state : std::uint8_t {
    unknown = 0,   // no decision yet (the poller has not heard from the servers)
    up = 1,   // exactly one primary: primary_slot
    read_only = 2,   // none writable, the last primary reachable: a switchover is under way
    down = 3,   // none writable and the last primary unreachable: a failover is pending
    split_brain = 4,   // two or more writable servers: writes go to none
};

// Writer: the poller, under the seqlock `seq`. Readers: workers (every
// statement that needs the primary), causewayctl, the admin process.
struct alignas(64) role_block {
    word seq;
    word generation;   // bumped whenever primary_slot or state changes
    word primary_slot;   // read slot (1..N) of the primary; down / read_only: of the last one; 0: none
    word state;   // primary_state
    word changed_ns;   // CLOCK_MONOTONIC of the last change
    word writable_slots;   // bit i: read slot i was writable at the last decision
    // Counters, outside the seqlock (one writer, relaxed).
    word primary_changes;
    word split_brain_decisions;
};

// Servers an operator drained (`causewayctl drain NAME`): backend_identity()
// values, 0 = free. Writers: causewayctl (CAS into a free word, store 0 to
// undrain); readers: workers, causewayctl. Keyed by identity, not slot, so a
// reload that reorders the servers keeps the drains.
struct alignas(64) drain_list {
    word identity[max_backends];
};

// ---------------------------------------------------------------- accounts

// The accounts the poller loads from the primary (users_from_primary): two
// buffers of `accounts_capacity` entries each (segment_header). The poller
// fills the buffer readers are not told to use, under that buffer's seqlock,
// then stores `active` (release); a worker's lookup reads `active`
// (acquire), copies what it needs from that buffer between seqlock_read_begin
// and seqlock_read_valid, and retries on a torn copy (only a second refresh
// during one lookup tears it). Text is NUL-padded; lengths are in `meta` and
// every reader checks them against the sizes below before using them.
inline constexpr std::size_t account_user_words = 16;   // 128 bytes: the longest user name stored
inline constexpr std::size_t account_host_words = 32;   // 256 bytes: Host is char(255)
inline constexpr std::size_t account_hash_words = 6;   // "*" + 40 hex digits, or empty (no password)
struct account_entry {
    word meta;   // account_meta_* fields below
    word user[account_user_words];
    word host[account_host_words];
    word hash[account_hash_words];
};
// account_entry::meta: user length (8 bits), host length (9), hash length
// (6), then flags.
inline constexpr unsigned account_host_len_shift = 8;
inline constexpr unsigned account_hash_len_shift = 17;
inline constexpr std::uint64_t account_locked = 1ull << 24;   // ACCOUNT LOCK: ERR 4151 after a right password
inline constexpr std::uint64_t account_expired = 1ull << 25;   // PASSWORD EXPIRE: ERR 1862
inline constexpr std::uint64_t account_other_plugin = 1ull << 26;   // not mysql_native_password: refused
inline constexpr std::uint64_t account_bad_hash = 1ull << 27;   // neither empty nor a hash ("invalid"): refused

// Writer: the poller (one writer at a time, see `writer`; counters relaxed). Readers: workers (the
// lookup above), causewayctl, the admin process.
struct alignas(64) accounts_block {
    word active;   // 0 or 1: the buffer lookups use
    word loads;   // successful loads published; 0: none yet (logins wait for the first)
    word loaded;   // entries in the active buffer (a gauge)
    word last_refresh_realtime_ns;   // the last attempt's end, ok or failed
    word last_refresh_ok;   // 1: the last attempt succeeded
    word refresh_failures;   // attempts that failed (primary unreachable, query refused, ...)
    word not_loaded;   // in the last load: accounts past accounts_capacity or too long to store
    // CLOCK_MONOTONIC ns (| 1) when the poller publishing now claimed the
    // block (CAS from 0), 0 otherwise: during a reload the old and the new
    // poller overlap for a moment, and two writers in one buffer would defeat
    // its seqlock. See account_store::publish.
    word writer;
    // A login the loaded accounts refuse asks for a fresh load before its
    // answer (a user created or a password changed a moment ago): workers
    // take a ticket (fetch_add on refresh_requests); the poller, when an
    // attempt that started after a ticket ends (ok or failed), raises
    // refresh_answered to the requests it had seen at that start.
    word refresh_requests;
    word refresh_answered;
    word forced_refreshes;   // attempts started early for such requests
    alignas(64) word seq[2];   // per-buffer seqlock (shm/seqlock.hh)
    word count[2];   // entries in each buffer
};

// ---------------------------------------------------------------- session table

// Open addressing in buckets of two cache lines (128 bytes, aligned, so the
// adjacent-line prefetcher fetches them together): a meta word and 5 entries
// of a key word and the entry's position. A key hashes to two buckets; a
// lookup prefetches all four lines at once, so a hit or a miss costs about
// one memory round trip.
inline constexpr std::size_t bucket_entries = 5;

// One session: its key word and the position of its last write, two slots of
// one domain's seqno each (slot_* bits). Writers: workers (update, CAS on the
// key, CAS-max on slots) and reclaimers (the poller; a worker whose buckets
// are full), see session_table.cc. Readers: workers, causewayctl (loads only).
struct table_entry {
    word key;   // key_* bits below; 0 = empty
    word slot[2];
};
struct alignas(128) table_bucket {
    word meta;   // bucket_* bits below
    table_entry entry[bucket_entries];
};

// Key word: tag (32 high bits of the session key, never 0) | overflow | version.
// The version is bumped by every update and by a reclaim, so a reclaim whose
// compare-and-swap still sees the version it read has raced with no update
// (fooling it would take 2^31 updates of one entry within one reclaim step).
inline constexpr unsigned key_tag_shift = 32;
inline constexpr std::uint64_t key_overflow = 1ull << 31;   // a domain did not fit
inline constexpr std::uint64_t key_version_mask = (1ull << 31) - 1;

// Slot word: directory index + 1 (6 bits, 0 = slot unused) | seqno (58 bits).
inline constexpr unsigned slot_domain_shift = 58;
inline constexpr std::uint64_t slot_seqno_max = (1ull << 58) - 1;

// Bucket meta: 0, or spill (an insert whose first bucket this is found both
// buckets full; lookups of keys starting here answer unknown until reclaimed)
// | what (6 bits: directory index + 1 when one seqno, below, records the
// spilled position; bucket_what_global when session_state::spill does) | low
// 57 bits: that seqno (CAS-max), or for global a unique number from spill_marks.
inline constexpr std::uint64_t bucket_spill = 1ull << 63;
inline constexpr unsigned bucket_what_shift = 57;
inline constexpr std::uint64_t bucket_what_mask = 0x3f;
inline constexpr std::uint64_t bucket_what_global = 63;
inline constexpr std::uint64_t bucket_low_mask = (1ull << 57) - 1;

// Multi-writer counts, bumped with fetch_add on rare paths only.
struct alignas(64) table_stats {
    word updates_full;   // no room in either bucket: spilled
    word updates_overflow;   // a domain did not fit the entry (or seqno >= 2^60)
    word updates_untracked;   // a write in a domain the directory cannot hold: tracked by the epoch
    word update_restarts;   // an update raced with a reclaim and started over
    word inline_reclaims;   // entries freed by an update that found its buckets full
};

// A table region: buckets at this offset. Region 0 holds the position of
// each session's last write. Region 1 is reserved for monotonic reads (the
// position of each session's last replica read, same entry type, same
// session_table code) and has 0 buckets in this layout version.
struct table_region {
    std::uint64_t offset;
    std::uint64_t buckets;
    std::uint64_t entries;   // buckets * bucket_entries
};
inline constexpr std::size_t table_regions = 2;

// State shared by the table regions: the GTID domain directory (a table slot
// stores a 6-bit directory index, not the 32-bit id), the floor, the reclaim
// watermark and the spill position. Indexes are directory positions.
//
// The directory holds up to `domain_capacity` domains at indexes 1.., claimed
// in order by CAS on first use, never freed. A write in any other domain (the
// directory is full, or its id is epoch_domain) is recorded at index 0, the
// epoch, as "epoch_sent + 1" read after the write's OK arrived: a number the
// poller gives each @@gtid_binlog_pos poll of the primary (fetch_add before
// sending it), so every poll numbered at least that was sent after the write
// committed and its answer contains the write. A replica's progress entry
// carries, as domain epoch_domain, the highest epoch whose primary position it
// has applied in every domain (the poller compares whole positions), so the
// usual per-domain comparison covers the untracked domains too: such a
// session reads from the primary only until the replicas have applied a
// primary position read after its write (a poll interval plus the apply
// delay), then from replicas again. Never for good.
struct alignas(64) session_state {
    word domain_id[max_domains];   // id + 1, 0 = free; [0] unused (the epoch)
    word domain_count;   // CAS-max: 1 + highest claimed index; lookups scan [0, domain_count)
    word domain_capacity;   // writer: the creator; domains the directory may claim (max_gtid_domains)
    word floor_set;   // 0 until the poller's first primary poll (init_floor)
    word epoch_sent;   // fetch_add; writer: the poller, before each position poll of the primary
    word epoch_used;   // 0 until an update or the floor first needs the epoch; then 1 (for display)
    word spill_marks;   // fetch_add: unique numbers for global bucket spill marks
    alignas(64) word floor[max_domains];   // CAS-max; writers: init_floor, reclaimers
    alignas(64) word watermark[max_domains];   // CAS-max; writer: poller (applied by all live replicas)
    alignas(64) word spill[max_domains];   // CAS-max; writers: updaters whose entry overflowed
        // or whose spill a bucket's meta cannot hold
};

// ---------------------------------------------------------------- header

// Written by the creator (the supervisor) before it publishes `magic` with a
// release store; immutable afterwards except where a field says otherwise.
// Readers check magic (acquire) and layout_version before anything else.
struct alignas(64) segment_header {
    word magic;
    word layout_version;
    word creator_pid;   // written first, so a half-built segment has an owner
    word creator_start_ticks;   // /proc/PID/stat starttime: detects pid reuse
    std::uint64_t header_size;
    std::uint64_t total_size;
    std::uint64_t progress_offset;
    std::uint64_t labels_offset;
    std::uint64_t workers_offset;
    std::uint64_t poller_offset;
    std::uint64_t created_realtime_ns;   // instance start, for display
    std::uint64_t hash_seed;   // session_key() seed, random per segment
    table_region table[table_regions];
    std::uint64_t accounts_capacity;   // entries per accounts buffer (users_capacity)
    word config_generation;   // writer: supervisor (bumped per applied reload)
    word flags;   // reserved

    alignas(64) word poller_heartbeat_ns;   // writer: poller, each round (CLOCK_MONOTONIC)
    // The primary's version string and default collation as its greeting
    // gave them (the text NUL-padded): what clients are greeted with when
    // server_version is not set (drivers decide on SET NAMES by the greeting's
    // collation). Writer: the poller, when it logs in to the primary, under
    // the seqlock `seq`; `charset` 0 until then.
    struct alignas(64) {
        word seq;
        word charset;
        word text[6];
    } primary_version;

    session_state sessions;
    table_stats stats[table_regions];
    role_block roles;
    drain_list drains;
    accounts_block accounts;

    // Writer: the supervisor (one writer, relaxed). Readers: the admin
    // process, causewayctl. Counted from the segment's creation.
    struct alignas(64) {
        word reloads_ok;   // SIGHUPs whose new generation took over
        word reloads_failed;   // bad file, TLS setup failed, or the new generation did not start
        word worker_restarts;   // workers respawned after an unexpected exit
        word poller_restarts;   // the poller likewise
        word admin_restarts;   // the admin process likewise
        // CPU time (user + system, microseconds) of the children reaped so far,
        // by role: worker, poller, admin. With the live processes' own, the
        // per-role CPU counters never fall when a process exits.
        word exited_cpu_us[3];
    } supervisor;
};

// ---------------------------------------------------------------- sizes

inline constexpr std::uint64_t align_up(std::uint64_t n, std::uint64_t a)
{
    return (n + a - 1) / a * a;
}

struct segment_plan {
    std::uint64_t progress_offset, labels_offset, workers_offset, poller_offset, boards_offset, stats_offset,
        usage_offset, logins_offset, accounts_offset;
    std::uint64_t accounts_capacity;
    table_region table;
    std::uint64_t total_size;
};

// Where everything goes for a table of at least `entries` entries (rounded up
// to whole buckets, at least two) and two account buffers of `accounts`
// entries. The creator writes these numbers into the header; attach() checks
// them against the mapping's size.
inline constexpr std::uint64_t default_accounts_capacity = 1024;
inline constexpr std::uint64_t max_accounts_capacity = 1u << 20;
constexpr segment_plan plan_segment(std::uint64_t entries, std::uint64_t accounts = default_accounts_capacity)
{
    segment_plan p{};
    std::uint64_t buckets = (entries + bucket_entries - 1) / bucket_entries;
    if (buckets < 2) buckets = 2;
    p.progress_offset = align_up(sizeof(segment_header), 4096);
    p.labels_offset = align_up(p.progress_offset + max_backends * sizeof(progress_entry), 64);
    p.workers_offset = align_up(p.labels_offset + sizeof(backend_labels), 64);
    p.poller_offset = align_up(p.workers_offset + max_worker_slots * sizeof(worker_counters), 64);
    p.boards_offset = align_up(p.poller_offset + sizeof(poller_counters), 64);
    p.stats_offset = align_up(p.boards_offset + max_worker_slots * sizeof(statement_board), 64);
    p.usage_offset = align_up(p.stats_offset + max_worker_slots * sizeof(worker_stats), 64);
    p.logins_offset = align_up(p.usage_offset + max_worker_slots * sizeof(backend_usage), 64);
    p.accounts_offset = align_up(p.logins_offset + sizeof(login_table), 64);
    p.accounts_capacity = accounts;
    p.table.offset = align_up(p.accounts_offset + 2 * accounts * sizeof(account_entry), 4096);
    p.table.buckets = buckets;
    p.table.entries = buckets * bucket_entries;
    p.total_size = align_up(p.table.offset + buckets * sizeof(table_bucket), 4096);
    return p;
}

// The sizes the comments above promise; a change here is a layout change.
static_assert(sizeof(gtid_slot) == 16);
static_assert(sizeof(progress_entry) == 640);
static_assert(sizeof(backend_label) == 96);
static_assert(sizeof(backend_labels) == 64 + max_backends * 96);
static_assert(sizeof(worker_counters) == 448);
static_assert(sizeof(poller_counters) == 128);
static_assert(sizeof(statement_board) == board_entries * 24);
static_assert(sizeof(latency_histogram) == (latency_bounds + 2) * 8);
static_assert(sizeof(worker_stats) == 13 * 64, "3 histograms, command and refusal counts, padded");
static_assert(sizeof(backend_usage) == 8 * max_backends + 192);
static_assert(sizeof(login_table) == login_slots * 16);
static_assert(sizeof(account_entry) == 8 * (1 + account_user_words + account_host_words + account_hash_words));
static_assert(sizeof(accounts_block) == 192);
static_assert(sizeof(table_entry) == 24);
static_assert(sizeof(table_bucket) == 128 && alignof(table_bucket) == 128);
static_assert(sizeof(table_stats) == 64);
static_assert(sizeof(session_state) == 20 * 64, "directory and counts, then floor, watermark, spill");
static_assert(sizeof(segment_header) <= 4096);
static_assert(max_domains < 64, "a slot stores the directory index + 1 in 6 bits");
static_assert(max_domains < bucket_what_global, "a bucket's meta stores the directory index + 1 in 6 bits");
static_assert(max_domains <= protocol::gtid_max_domains, "a position holds every tracked domain and the epoch");
static_assert(sizeof(role_block) == 64 && sizeof(drain_list) == 8 * max_backends);
static_assert(std::is_standard_layout_v<segment_header> && std::is_standard_layout_v<progress_entry> &&
              std::is_standard_layout_v<table_bucket> && std::is_standard_layout_v<worker_counters>);
// 1 M sessions at 70% fill (1.43 M entries) fit well under 64 MiB.
static_assert(plan_segment(1430000).total_size <= 40ull << 20);

}   // namespace causeway::shm
