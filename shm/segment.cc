// Creating, validating, attaching and unlinking the segment (see segment.hh).
// This is the edge of shm/ where Boost.Interprocess exceptions are caught and
// turned into common::error; nothing past it throws. The creator writes every
// field, then publishes `magic` with a release store; readers acquire it.
#include "shm/segment.hh"

#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <boost/interprocess/mapped_region.hpp>
#include <boost/interprocess/shared_memory_object.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>

#include "common/clock.hh"
#include "common/log.hh"

namespace bip = boost::interprocess;

namespace causeway::shm {

namespace {

// Only causewayd's user, or with shm_group that group too (causewayctl reads
// it): others must not see sessions and counters, let alone write them.
constexpr mode_t segment_mode = 0600;
constexpr mode_t segment_group_mode = 0640;

common::error ipc_error(const std::string& what, const bip::interprocess_exception& e)
{
    int code = e.get_native_error();
    if (code == 0 && e.get_error_code() == bip::not_found_error) code = ENOENT;
    if (code != 0) return common::sys_error(what, code);
    return common::error{0, what + ": " + e.what()};
}

common::status check_name(const std::string& name)
{
    if (name.size() < 2 || name[0] != '/' || name.find('/', 1) != std::string::npos || name.size() > NAME_MAX)
        return common::error{EINVAL,
                             "shared memory name '" + name + "' must be '/' followed by up to " +
                                 std::to_string(NAME_MAX - 1) + " characters without '/'"};
    return {};
}

std::uint64_t random_seed()
{
    std::uint64_t seed = 0;
    if (getrandom(&seed, sizeof seed, GRND_NONBLOCK) != sizeof seed)
        seed = common::monotonic_ns() * 0x9e3779b97f4a7c15ull ^ std::uint64_t(getpid());
    return seed;
}

// Checks everything attach() relies on: identity, then that the offsets are
// exactly what this layout version computes for the recorded table size, and
// that the mapping is large enough for them.
common::status validate(const segment_header& h, std::size_t size, const std::string& name)
{
    auto bad = [&](const std::string& why) { return common::error{EPROTO, "shared memory " + name + ": " + why}; };
    if (size < sizeof(segment_header)) return bad("too small to be a causeway segment");
    if (h.magic.load(std::memory_order_acquire) != segment_magic) return bad("not a causeway segment (bad magic)");
    std::uint64_t version = h.layout_version.load(std::memory_order_relaxed);
    if (version != layout_version)
        return bad("layout version " + std::to_string(version) + ", this build uses " + std::to_string(layout_version));
    // Bounded before any arithmetic on them: a damaged header must not
    // overflow the plan into something that looks valid.
    if (h.table[0].entries > (1ull << 32) || h.accounts_capacity > max_accounts_capacity)
        return bad("sizes or offsets do not match this layout");
    segment_plan p = plan_segment(h.table[0].entries, h.accounts_capacity);
    if (h.header_size != sizeof(segment_header) || h.total_size != p.total_size || h.total_size > size ||
        h.progress_offset != p.progress_offset || h.labels_offset != p.labels_offset ||
        h.workers_offset != p.workers_offset || h.poller_offset != p.poller_offset ||
        h.table[0].offset != p.table.offset || h.table[0].buckets != p.table.buckets || h.table[1].buckets != 0)
        return bad("sizes or offsets do not match this layout");
    return {};
}

// What is already under `name`, for create(): nothing, a live owner (refuse),
// a dead owner, something invalid (replace), or an error (say so: permissions).
enum class found {
    nothing,
    live,
    dead,
    invalid,
    error
};

found inspect(const std::string& name, pid_t& owner, std::string& why, int& code)
{
    try {
        bip::shared_memory_object shm(bip::open_only, name.c_str(), bip::read_only);
        bip::offset_t size = 0;
        if (!shm.get_size(size) || std::size_t(size) < sizeof(segment_header)) {
            why = "shared memory " + name + ": too small to be a causeway segment";
            return found::invalid;
        }
        bip::mapped_region region(shm, bip::read_only, 0, sizeof(segment_header));
        const auto& h = *static_cast<const segment_header*>(region.get_address());
        owner = pid_t(h.creator_pid.load(std::memory_order_acquire));
        bool alive = owner > 0 && process_alive(owner, h.creator_start_ticks.load(std::memory_order_relaxed));
        std::uint64_t magic = h.magic.load(std::memory_order_acquire);
        if (magic == 0 && alive) return found::live;   // being created by a live process right now
        // Only the header is mapped here: validate against the full object size.
        auto ok = validate(h, std::size_t(size), name);
        if (!ok) {
            why = ok.err().message;
            return found::invalid;
        }
        return alive ? found::live : found::dead;
    } catch (const bip::interprocess_exception& e) {
        if (e.get_error_code() == bip::not_found_error || e.get_native_error() == ENOENT) return found::nothing;
        common::error err = ipc_error("open shared memory " + name, e);
        why = err.message;
        code = err.code;
        return found::error;
    }
}

// A name another user created first: unless we are root (who removes it and
// creates its own with O_EXCL), say so instead of a bare EACCES or EEXIST.
common::status check_owner(const std::string& name)
{
    struct stat st;
    if (::stat(("/dev/shm" + name).c_str(), &st) != 0) return {};
    if (st.st_uid == geteuid() || geteuid() == 0) return {};
    return common::error{EACCES,
                         "shared memory " + name + " already exists and belongs to uid " + std::to_string(st.st_uid) +
                             ", not to causewayd's user (uid " + std::to_string(geteuid()) +
                             "): another user created it first; remove /dev/shm" + name +
                             " or choose another shm_name"};
}

template <typename T>
T* construct(std::byte* base, std::uint64_t offset, std::size_t n = 1)
{
    T* p = reinterpret_cast<T*>(base + offset);
    std::uninitialized_value_construct_n(p, n);
    return p;
}

}   // namespace

std::uint64_t process_start_ticks(pid_t pid)
{
    char path[64];
    std::snprintf(path, sizeof path, "/proc/%d/stat", int(pid));
    std::ifstream in(path);
    std::string line;
    if (pid <= 0 || !std::getline(in, line)) return 0;
    // "pid (comm) state ppid ...": comm may hold spaces and ')', so split after the last ')'.
    auto close = line.rfind(')');
    if (close == std::string::npos) return 0;
    std::istringstream fields(line.substr(close + 1));
    std::string state;
    fields >> state;
    if (state == "Z" || state == "X") return 0;
    std::string field;
    for (int i = 4; i <= 22 && fields >> field; ++i) {   // field 22 is starttime
        if (i == 22) return std::strtoull(field.c_str(), nullptr, 10);
    }
    return 0;
}

bool process_alive(pid_t pid, std::uint64_t start_ticks)
{
    return start_ticks != 0 && process_start_ticks(pid) == start_ticks;
}

segment::segment(segment&&) noexcept = default;
segment& segment::operator=(segment&&) noexcept = default;
segment::~segment() = default;

common::result<segment> segment::create(const common::config& cfg)
{
    const std::string name = cfg.effective_shm_name();
    if (auto ok = check_name(name); !ok) return ok.err();
    const segment_plan plan = plan_segment(std::uint64_t(std::max(cfg.session_table_size, 1)),
                                           std::uint64_t(std::max(cfg.users_capacity, 1)));

    if (auto ok = check_owner(name); !ok) return ok.err();
    gid_t group = gid_t(-1);
    if (!cfg.shm_group.empty()) {
        struct group* g = getgrnam(cfg.shm_group.c_str());
        if (!g) return common::error{ENOENT, "shm_group: no group named '" + cfg.shm_group + "'"};
        group = g->gr_gid;
    }

    pid_t owner = 0;
    std::string why;
    int code = 0;
    segment_origin origin = segment_origin::created;
    switch (inspect(name, owner, why, code)) {
        case found::nothing: break;
        case found::live:
            return common::error{EBUSY,
                                 "shared memory " + name + " is in use by causewayd pid " + std::to_string(owner) +
                                     ": is another instance running with the same listen port or shm_name?"};
        case found::dead:
            CW_LOG(LOG_WARNING, "replacing shared memory %s: its creator (pid %d) is no longer running", name.c_str(),
                   int(owner));
            origin = segment_origin::replaced_dead;
            break;
        case found::invalid:
            CW_LOG(LOG_WARNING, "recreating %s", why.c_str());
            origin = segment_origin::replaced_invalid;
            break;
        case found::error: return common::error{code, why};
    }
    if (origin != segment_origin::created) bip::shared_memory_object::remove(name.c_str());

    try {
        mode_t mode = group == gid_t(-1) ? segment_mode : segment_group_mode;
        bip::permissions perm(mode);
        bip::shared_memory_object shm(bip::create_only, name.c_str(), bip::read_write, perm);
        int fd = shm.get_mapping_handle().handle;
        // Exactly this mode whatever the umask (Boost may fchmod to it as well).
        if (fchmod(fd, mode) != 0 || (group != gid_t(-1) && fchown(fd, uid_t(-1), group) != 0)) {
            int err = errno;
            bip::shared_memory_object::remove(name.c_str());
            return common::sys_error("set the mode or group of shared memory " + name, err);
        }
        shm.truncate(bip::offset_t(plan.total_size));
        // Reserve the pages now: tmpfs would otherwise SIGBUS on first touch when full.
        if (int rc = posix_fallocate(fd, 0, off_t(plan.total_size)); rc != 0 && rc != EOPNOTSUPP && rc != EINVAL) {
            bip::shared_memory_object::remove(name.c_str());
            return common::sys_error("reserve " + std::to_string(plan.total_size) + " bytes for shared memory " + name,
                                     rc);
        }
        auto region = std::make_unique<bip::mapped_region>(shm, bip::read_write);
        auto* base = static_cast<std::byte*>(region->get_address());

        auto* h = construct<segment_header>(base, 0);
        h->creator_pid.store(std::uint64_t(getpid()), std::memory_order_relaxed);
        h->creator_start_ticks.store(process_start_ticks(getpid()), std::memory_order_relaxed);
        h->header_size = sizeof(segment_header);
        h->total_size = plan.total_size;
        h->progress_offset = plan.progress_offset;
        h->labels_offset = plan.labels_offset;
        h->workers_offset = plan.workers_offset;
        h->poller_offset = plan.poller_offset;
        h->created_realtime_ns = common::realtime_ns();
        h->hash_seed = random_seed();
        h->table[0] = plan.table;
        h->table[1] = table_region{};
        h->accounts_capacity = plan.accounts_capacity;
        h->sessions.domain_capacity.store(
            std::uint64_t(std::clamp<int>(cfg.max_gtid_domains, 1, int(max_tracked_domains))),
            std::memory_order_relaxed);
        construct<progress_entry>(base, plan.progress_offset, max_backends);
        auto* labels = construct<backend_labels>(base, plan.labels_offset);
        construct<worker_counters>(base, plan.workers_offset, max_worker_slots);
        construct<poller_counters>(base, plan.poller_offset);
        construct<statement_board>(base, plan.boards_offset, max_worker_slots);
        construct<worker_stats>(base, plan.stats_offset, max_worker_slots);
        construct<backend_usage>(base, plan.usage_offset, max_worker_slots);
        construct<login_table>(base, plan.logins_offset);
        construct<account_entry>(base, plan.accounts_offset, 2 * plan.accounts_capacity);
        construct<table_bucket>(base, plan.table.offset, plan.table.buckets);
        progress_block(h, nullptr, labels).set_labels(cfg);
        h->layout_version.store(layout_version, std::memory_order_relaxed);
        h->magic.store(segment_magic, std::memory_order_release);   // publishes everything above

        segment s;
        s.region_ = std::move(region);
        s.base_ = base;
        s.size_ = plan.total_size;
        s.name_ = name;
        s.origin_ = origin;
        s.read_only_ = false;
        s.plan_ = plan;
        s.seed_ = h->hash_seed;
        return s;
    } catch (const bip::interprocess_exception& e) {
        return ipc_error("create shared memory " + name + " (" + std::to_string(plan.total_size) + " bytes)", e);
    }
}

common::result<segment> segment::attach(const std::string& name, bool read_only)
{
    if (auto ok = check_name(name); !ok) return ok.err();
    return map(name, read_only, segment_origin::attached);
}

common::result<segment> segment::map(const std::string& name, bool read_only, segment_origin origin)
{
    try {
        auto mode = read_only ? bip::read_only : bip::read_write;
        bip::shared_memory_object shm(bip::open_only, name.c_str(), mode);
        bip::offset_t size = 0;
        if (!shm.get_size(size) || std::size_t(size) < sizeof(segment_header))
            return common::error{EPROTO, "shared memory " + name + ": too small to be a causeway segment"};
        auto region = std::make_unique<bip::mapped_region>(shm, mode);
        auto* base = static_cast<std::byte*>(region->get_address());
        if (auto ok = validate(*reinterpret_cast<segment_header*>(base), region->get_size(), name); !ok)
            return ok.err();
        segment s;
        s.region_ = std::move(region);
        s.base_ = base;
        s.size_ = s.header().total_size;
        s.name_ = name;
        s.origin_ = origin;
        s.read_only_ = read_only;
        // validate() checked the header against it
        s.plan_ = plan_segment(s.header().table[0].entries, s.header().accounts_capacity);
        s.seed_ = s.header().hash_seed;
        return s;
    } catch (const bip::interprocess_exception& e) {
        return ipc_error("open shared memory " + name, e);
    }
}

common::status segment::remove(const std::string& name)
{
    if (auto ok = check_name(name); !ok) return ok;
    // Boost's remove() reports only a bool; call shm_unlink for the errno.
    if (shm_unlink(name.c_str()) != 0 && errno != ENOENT) return common::sys_error("shm_unlink " + name, errno);
    return {};
}

common::status segment::unlink()
{
    if (!base_) return common::error{EINVAL, "unlink: no segment mapped"};
    // Is the name still ours? A later instance may have replaced it if it
    // wrongly judged us dead; its seed differs (random per segment).
    auto current = map(name_, true, segment_origin::attached);
    if (!current) {
        if (current.err().code == ENOENT) return {};
        return current.err();
    }
    if (current->seed_ != seed_ || current->header().created_realtime_ns != header().created_realtime_ns)
        return common::error{EEXIST, "shared memory " + name_ + " now belongs to another instance: not removed"};
    return remove(name_);
}

common::result<segment> segment::recreate(const common::config& cfg)
{
    if (auto ok = remove(cfg.effective_shm_name()); !ok) return ok.err();
    return create(cfg);
}

common::status segment::check_header() const
{
    const segment_header& h = header();
    if (auto ok = validate(h, size_, name_); !ok) return ok;
    if (h.total_size != plan_.total_size || h.table[0].entries != plan_.table.entries || h.hash_seed != seed_ ||
        h.accounts_capacity != plan_.accounts_capacity)
        return common::error{EPROTO, "shared memory " + name_ + ": header changed since it was mapped"};
    return {};
}

bool segment::creator_alive() const noexcept
{
    const segment_header& h = header();
    return process_alive(pid_t(h.creator_pid.load(std::memory_order_relaxed)),
                         h.creator_start_ticks.load(std::memory_order_relaxed));
}

progress_block segment::progress() const noexcept
{
    return progress_block(&header(), reinterpret_cast<progress_entry*>(base_ + plan_.progress_offset),
                          reinterpret_cast<backend_labels*>(base_ + plan_.labels_offset));
}

session_table segment::sessions() const noexcept
{
    return session_table(&header(), 0, plan_.table, seed_, base_);
}

worker_counters* segment::worker(std::size_t slot) const noexcept
{
    if (slot >= max_worker_slots) return nullptr;
    return reinterpret_cast<worker_counters*>(base_ + plan_.workers_offset) + slot;
}

statement_board* segment::board(std::size_t slot) const noexcept
{
    if (slot >= max_worker_slots) return nullptr;
    return reinterpret_cast<statement_board*>(base_ + plan_.boards_offset) + slot;
}

login_table& segment::logins() const noexcept
{
    return *reinterpret_cast<login_table*>(base_ + plan_.logins_offset);
}

worker_stats* segment::stats(std::size_t slot) const noexcept
{
    if (slot >= max_worker_slots) return nullptr;
    return reinterpret_cast<worker_stats*>(base_ + plan_.stats_offset) + slot;
}

backend_usage* segment::usage(std::size_t slot) const noexcept
{
    if (slot >= max_worker_slots) return nullptr;
    // Not in the header: placed by plan_segment(), like the boards.
    return reinterpret_cast<backend_usage*>(base_ + plan_.usage_offset) + slot;
}

account_store segment::accounts() const noexcept
{
    return account_store(&header().accounts, reinterpret_cast<account_entry*>(base_ + plan_.accounts_offset),
                         plan_.accounts_capacity);
}

poller_counters& segment::poller() const noexcept
{
    return *reinterpret_cast<poller_counters*>(base_ + plan_.poller_offset);
}

}   // namespace causeway::shm
