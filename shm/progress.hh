// The replica-progress block: what the poller last learnt about each backend
// (index 0 the primary, then the replicas in config order), the poller's
// heartbeat, and the backend labels causewayctl prints. One writer per part
// (poller, supervisor); readers copy a snapshot through a seqlock.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "common/config.hh"
#include "protocol/gtid.hh"
#include "shm/layout.hh"

namespace causeway::shm {

struct progress_snapshot {
    // false: no clean copy within the retry budget (or a bad index). Everything
    // else is then zero and the backend counts as not caught up.
    bool ok = false;
    std::uint64_t backend_id = 0;
    backend_state state = backend_state::unknown;
    bool io_running = false;
    bool sql_running = false;
    bool read_only = false;
    bool repl_error = false;   // replication stopped on an error (Last_SQL_Errno / Last_IO_Errno)
    bool lagging = false;   // behind by more than max_replica_lag_ms
    // @@global.sql_mode's lexing modes (protocol/lex_session.hh), once polled.
    bool sql_mode_known = false;
    bool ansi_quotes = false;
    bool no_backslash_escapes = false;
    std::uint32_t last_error = 0;
    protocol::gtid_position position;   // replicas: gtid_slave_pos; primary: gtid_binlog_pos
    std::uint64_t last_good_poll_ns = 0;
    std::uint64_t poll_rtt_ns = 0;
    std::uint64_t advanced_ns = 0;
    std::uint64_t polls = 0;
    std::uint64_t poll_errors = 0;

    // A clean copy whose last good poll is at most max_age_ns before now_ns.
    bool fresh(std::uint64_t now_ns, std::uint64_t max_age_ns) const noexcept;
    // May this backend serve a read that requires `required` (already combined
    // with the floor)? Clean, fresh, not down or unknown, and covering it. A
    // replica whose SQL thread is stopped still serves what it has applied.
    bool caught_up(const protocol::gtid_position& required, std::uint64_t now_ns,
                   std::uint64_t max_age_ns) const noexcept;
};

// Identifies a backend's config entry (name and address), so that a reader
// holding one config generation can tell that an entry was written for another.
std::uint64_t backend_identity(const common::backend_config& b);

// The backend's index in the block: 0 for the primary role (the server the
// poller decided is the primary; its @@gtid_binlog_pos), 1 + i for
// config::read_slots()[i] (replicas[i] for i < replicas.size()).
inline constexpr std::size_t primary_index = 0;

class progress_block {
public:
    progress_block() = default;
    progress_block(segment_header* h, progress_entry* e, backend_labels* l) : header_(h), entries_(e), labels_(l) {}

    // Poller. `s.ok` is ignored; at most max_domains gtids are stored (the
    // poller publishes the domains the session table tracks and the epoch).
    // Indexes past max_backends are ignored.
    void publish(std::size_t backend, const progress_snapshot& s) noexcept;
    // Poller, once per round, after publishing: CLOCK_MONOTONIC now.
    void heartbeat(std::uint64_t now_ns) noexcept;

    // Readers.
    progress_snapshot read(std::size_t backend) const noexcept;
    std::uint64_t heartbeat_ns() const noexcept;
    // false when the poller has not beaten within max_age_ms: all progress is
    // then unknown (route to the primary).
    bool heartbeat_fresh(std::uint64_t now_ns, std::uint64_t max_age_ms) const noexcept;

    // Poller: the primary's greeting: version string (at most 47 bytes are
    // kept) and default collation.
    void set_primary_greeting(const std::string& version, std::uint8_t charset) noexcept;
    // Workers: empty / 0 until the poller has logged in to the primary (or torn).
    std::string primary_version(std::uint8_t* charset = nullptr) const;

    // Supervisor, at create and after a reload: names and addresses in index order.
    void set_labels(const common::config& cfg) noexcept;
    // causewayctl. Number of backends, and a label (false when torn or out of range).
    std::size_t backend_count() const noexcept;
    bool label(std::size_t backend, std::string& name, std::string& address) const;

private:
    segment_header* header_ = nullptr;
    progress_entry* entries_ = nullptr;
    backend_labels* labels_ = nullptr;
};

}   // namespace causeway::shm
