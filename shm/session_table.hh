// The session-seqno table (DESIGN.md §4): for each session, the GTID position
// of its last write, in a fixed-capacity lock-free hash table shared by every
// worker. Loads to read, CAS to write, no lock anywhere. Lookups answer
// max(session position, floor) or "unknown" (then the caller routes to the primary).
//
// Invariant: once update(k, p) has returned, every lookup(k) answers a position
// covering p, or unknown. An entry leaves the table only after the floor has
// been raised to its position, so forgetting it never forgets a write.
// Two keys that share an entry share the higher position: slower, never stale.
// Limits (each is counted and documented in layout.hh): an entry holds 2 GTID
// domains (a third marks it "overflow": lookups answer a bound, the table's
// spill position); a seqno must be below 2^58 (overflow too); a key whose two
// buckets are full "spills" its bucket (lookups answer unknown). All clear
// when the poller's reclaim finds the lost positions applied by every live
// replica. The directory tracks max_gtid_domains domains one by one; a write
// in any other domain is recorded as an epoch (layout.hh session_state), so
// only that session waits, and only until the replicas pass the primary
// position a poll read after its write.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "protocol/gtid.hh"
#include "shm/hash.hh"
#include "shm/layout.hh"

namespace causeway::shm {

enum class lookup_status : std::uint8_t {
    known,   // position = max(session's last write, floor)
    no_floor,   // the poller has not set the floor yet (segment just created)
    // The session wrote in more domains than an entry holds: position is a
    // bound (the table's spill position, covering every write that did not
    // fit, with the entry and the floor): usable(), never below the session's.
    overflow,
    spilled,   // a write hashing to the same buckets found the table full
    unreadable,   // a slot names a directory index never claimed (a damaged segment)
};

struct lookup_result {
    lookup_status status = lookup_status::no_floor;
    // The position a replica must cover to serve the session's read. Server
    // ids are 0 (the table stores seqnos only; compare with covers()).
    protocol::gtid_position position;
    bool known() const noexcept { return status == lookup_status::known; }
    // A position a replica must cover to serve the session, exact or a bound.
    bool usable() const noexcept { return status == lookup_status::known || status == lookup_status::overflow; }
};

enum class update_status : std::uint8_t {
    stored,
    overflow,   // stored, but lookups answer unknown until reclaimed
    full,   // not stored: the key's buckets are full (spilled)
};

// Where a position given to update() comes from: a server (a write's
// last_gtid, the primary's binlog position: every domain is a real one) or
// a progress entry (monotonic reads: domain epoch_domain is the epoch).
enum class position_source : std::uint8_t {
    server,
    progress
};

// One entry in use, as copy_entries() reads it: not a lookup (no floor, no
// other entry of the same tag), just what the entry itself holds.
struct session_entry {
    std::uint32_t tag = 0;   // the high 32 bits of the session key (1 when they are 0)
    bool overflow = false;   // a domain did not fit: lookups of it answer unknown
    protocol::gtid_position position;   // the entry's seqnos; server ids are 0
};

struct reclaim_result {
    std::size_t scanned = 0;   // entries in use that were looked at
    std::size_t reclaimed = 0;   // entries freed
    std::size_t spills = 0;   // bucket spill marks cleared
};

class session_table {
public:
    session_table() = default;
    // A view of table region `region` of a mapped segment (see segment.hh),
    // at `where` and hashing with `seed`: both as validated when the segment
    // was mapped, never read again from the header (bytes someone else can
    // write must not steer this process's pointers).
    session_table(segment_header* header, std::size_t region, const table_region& where, std::uint64_t seed,
                  std::byte* base) noexcept;

    // The key of a session, seeded per segment.
    std::uint64_t key(session_kind kind, std::string_view id) const noexcept { return session_key(kind, id, seed_); }
    std::uint64_t key(session_kind kind, std::uint64_t id) const noexcept { return session_key(kind, id, seed_); }

    // Workers. lookup() only reads, so it also works on a read-only mapping.
    lookup_result lookup(std::uint64_t key) const noexcept;
    // Optional: starts loading the key's buckets, so that a lookup issued a
    // little later (after parsing the statement, say) finds them in cache.
    void prefetch(std::uint64_t key) const noexcept;
    // Raises the session's position to max(current, pos) per domain (the
    // last_gtid of a committed write). Call before the client sees the OK.
    // A domain the directory cannot hold makes the entry require the next
    // epoch (call only once the write has committed: its OK arrived).
    update_status update(std::uint64_t key, std::span<const protocol::gtid> pos,
                         position_source source = position_source::server) noexcept;
    update_status update(std::uint64_t key, const protocol::gtid_position& pos,
                         position_source source = position_source::server) noexcept
    {
        return update(key, std::span<const protocol::gtid>(pos.begin(), pos.size()), source);
    }

    // Poller. On its first primary poll: sets the floor to the primary's
    // position (read by the poll numbered `epoch`) unless already set; until
    // then lookups answer no_floor. Domains the directory cannot hold raise
    // the epoch floor to `epoch`. Returns false when it was already set.
    bool init_floor(std::span<const protocol::gtid> primary, std::uint64_t epoch) noexcept;
    bool init_floor(const protocol::gtid_position& primary, std::uint64_t epoch = 1) noexcept
    {
        return init_floor(std::span<const protocol::gtid>(primary.begin(), primary.size()), epoch);
    }
    // Poller: the number of the primary position poll it is about to send.
    std::uint64_t next_epoch() noexcept;
    // The domain ids the directory holds (not the epoch), in claim order.
    std::vector<std::uint32_t> tracked_domains() const;
    // Whether any session (or the floor) has needed the epoch yet: until
    // then the poller leaves it out of the positions it publishes.
    bool epoch_used() const noexcept { return state_->epoch_used.load(std::memory_order_relaxed) != 0; }
    // How many domains the directory may hold (max_gtid_domains).
    std::size_t domain_capacity() const noexcept { return capacity_; }
    // Each round: the position every live replica has applied (per domain min,
    // see gtid_position::meet). Kept as a running max: a replica that falls
    // behind or comes back later is then held back by the floor instead.
    void publish_watermark(const protocol::gtid_position& applied) noexcept;
    // Frees entries (and bucket spill marks) whose position the watermark
    // covers, raising the floor to that position first. Scans `count` buckets
    // from `first` (wrapping); call with a moving cursor to spread the work.
    reclaim_result reclaim(std::size_t first, std::size_t count) noexcept;

    // Readers (causewayctl, tests).
    bool floor_set() const noexcept;
    protocol::gtid_position floor() const noexcept;
    protocol::gtid_position watermark() const noexcept;
    std::size_t buckets() const noexcept { return buckets_; }
    std::size_t capacity() const noexcept { return buckets_ * bucket_entries; }
    std::size_t occupied() const noexcept;   // scans the whole table
    // Appends the entries in use of buckets [first, first + count) (wrapping;
    // count is capped at buckets()), with loads only, so it works on a
    // read-only mapping. An entry updated or reclaimed during the copy may be
    // seen either way; an entry claimed but not yet written (no position, no
    // overflow) is left out. Call with a moving `first` to page through the
    // table in bounded memory.
    void copy_entries(std::size_t first, std::size_t count, std::vector<session_entry>& out) const;
    // Buckets whose spill mark is set (scans the whole table): the sessions
    // that spilled there have no entry, and read from the primary until reclaimed.
    std::size_t spilled_buckets() const noexcept;
    const table_stats& stats() const noexcept { return *stats_; }

private:
    struct place {
        std::size_t bucket, slot;
    };
    struct item;   // one domain of a position being stored
    void buckets_of(std::uint64_t key, std::size_t& b1, std::size_t& b2) const noexcept;
    int domain_index(std::uint32_t domain, bool claim) const noexcept;
    std::uint32_t directory_id(std::size_t index) const noexcept;
    std::size_t domains_in_use() const noexcept;
    protocol::gtid_position by_directory(const word (&values)[max_domains]) const noexcept;
    bool find_or_claim(std::uint64_t key, place& where, std::uint64_t& kw) noexcept;
    bool raise_slot(table_entry& e, int idx, std::uint64_t seqno) noexcept;
    void spill(std::size_t bucket, const item* items, std::size_t n) noexcept;
    std::size_t reclaim_bucket(std::size_t b, const std::uint64_t (&wm)[max_domains], reclaim_result& r) noexcept;

    segment_header* header_ = nullptr;
    session_state* state_ = nullptr;
    table_stats* stats_ = nullptr;
    table_bucket* table_ = nullptr;
    std::size_t buckets_ = 0;
    std::uint64_t seed_ = 0;
    std::size_t capacity_ = max_tracked_domains;
};

}   // namespace causeway::shm
