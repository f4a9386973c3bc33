// The instance's named POSIX shared-memory segment: created by the supervisor
// before it forks (children inherit the mapping), attached by causewayctl
// (read-only) and tests. RAII owner of the mapping; move-only; never throws
// (Boost.Interprocess exceptions stop here and become common::error).
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "common/config.hh"
#include "common/result.hh"
#include "shm/accounts.hh"
#include "shm/layout.hh"
#include "shm/progress.hh"
#include "shm/roles.hh"
#include "shm/session_table.hh"

namespace boost::interprocess {
class mapped_region;
}

namespace causeway::shm {

// What create() found under the name.
enum class segment_origin : std::uint8_t {
    created,   // nothing there
    replaced_dead,   // a segment whose creator is no longer running
    replaced_invalid,   // wrong magic, layout version or size: recreated
    attached,   // attach(): an existing segment
};

class segment {
public:
    // Supervisor, before forking. Sizes the table from cfg.session_table_size,
    // copies the backend labels, and maps read-write. Refuses (EBUSY) when a
    // live instance owns a segment of that name; replaces one whose creator is
    // dead (pid + /proc start time, so a reused pid does not count) or that is
    // not a valid segment of this layout. Fails cleanly (ENOSPC) when /dev/shm
    // cannot hold it, rather than with SIGBUS later.
    static common::result<segment> create(const common::config& cfg);
    // The supervisor, when check_header() failed: the damaged segment's name
    // is removed and a new segment created (its state is a cache).
    static common::result<segment> recreate(const common::config& cfg);
    // causewayctl (read_only) and tests: maps an existing, valid segment.
    static common::result<segment> attach(const std::string& name, bool read_only);
    // Removes a name whatever it holds (tests, cleanup). Missing is not an error.
    static common::status remove(const std::string& name);

    segment(segment&&) noexcept;
    segment& operator=(segment&&) noexcept;
    segment(const segment&) = delete;
    segment& operator=(const segment&) = delete;
    ~segment();   // unmaps; never unlinks

    // Clean stop (supervisor): removes the name if it still names this
    // segment (not one a later instance created after replacing ours).
    common::status unlink();

    const std::string& name() const noexcept { return name_; }
    segment_origin origin() const noexcept { return origin_; }
    bool read_only() const noexcept { return read_only_; }
    std::size_t size() const noexcept { return size_; }
    // Whether the process that created the segment is still running.
    bool creator_alive() const noexcept;
    // The header still says what it said when this process mapped it (magic,
    // version, sizes, offsets, seed). Every region is reached through the
    // copy taken then, so damage cannot move this process's pointers; this
    // tells the supervisor to recreate the segment.
    common::status check_header() const;

    segment_header& header() const noexcept { return *reinterpret_cast<segment_header*>(base_); }
    progress_block progress() const noexcept;
    role_view roles() const noexcept { return role_view(&header()); }
    session_table sessions() const noexcept;   // table region 0: last writes
    worker_counters* worker(std::size_t slot) const noexcept;   // nullptr past max_worker_slots
    statement_board* board(std::size_t slot) const noexcept;   // likewise
    worker_stats* stats(std::size_t slot) const noexcept;   // likewise
    backend_usage* usage(std::size_t slot) const noexcept;   // likewise
    poller_counters& poller() const noexcept;
    login_table& logins() const noexcept;   // failed logins per client address
    account_store accounts() const noexcept;   // users_from_primary

private:
    segment() = default;
    static common::result<segment> map(const std::string& name, bool read_only, segment_origin origin);

    std::unique_ptr<boost::interprocess::mapped_region> region_;
    std::byte* base_ = nullptr;
    std::size_t size_ = 0;
    std::string name_;
    segment_origin origin_ = segment_origin::attached;
    bool read_only_ = true;
    segment_plan plan_{};   // validated at create/map; the offsets every accessor uses
    std::uint64_t seed_ = 0;   // header.hash_seed as validated
};

// /proc/PID/stat starttime (clock ticks after boot), 0 when there is no such
// process or it is a zombie. With the pid it names one process for good.
std::uint64_t process_start_ticks(pid_t pid);
bool process_alive(pid_t pid, std::uint64_t start_ticks);

}   // namespace causeway::shm
