// The replica-progress block (see progress.hh): seqlock publish and snapshot
// of each backend's entry, the poller heartbeat, and the backend labels.
// Payload words are relaxed; ordering comes from shm/seqlock.hh.
#include "shm/progress.hh"

#include <algorithm>
#include <cstring>
#include <vector>

#include "shm/hash.hh"
#include "shm/seqlock.hh"

namespace causeway::shm {

namespace {

constexpr auto relaxed = std::memory_order_relaxed;

template <std::size_t n>
void store_text(word (&dst)[n], const std::string& text)
{
    char buf[n * 8] = {};
    std::memcpy(buf, text.data(), std::min(text.size(), sizeof buf - 1));   // keep a NUL
    for (std::size_t i = 0; i < n; ++i) {
        std::uint64_t w;
        std::memcpy(&w, buf + 8 * i, 8);
        dst[i].store(w, relaxed);
    }
}

template <std::size_t n>
std::string load_text(const word (&src)[n])
{
    char buf[n * 8];
    for (std::size_t i = 0; i < n; ++i) {
        std::uint64_t w = src[i].load(relaxed);
        std::memcpy(buf + 8 * i, &w, 8);
    }
    return std::string(buf, strnlen(buf, sizeof buf));
}

}   // namespace

bool progress_snapshot::fresh(std::uint64_t now_ns, std::uint64_t max_age_ns) const noexcept
{
    // A poll stamped after now_ns (another process read the clock later) is fresh.
    return ok && last_good_poll_ns != 0 && (last_good_poll_ns >= now_ns || now_ns - last_good_poll_ns <= max_age_ns);
}

bool progress_snapshot::caught_up(const protocol::gtid_position& required, std::uint64_t now_ns,
                                  std::uint64_t max_age_ns) const noexcept
{
    if (!fresh(now_ns, max_age_ns)) return false;
    if (state != backend_state::up && state != backend_state::replication_stopped) return false;
    return position.covers(required);
}

std::uint64_t backend_identity(const common::backend_config& b)
{
    std::string text = b.name + '\0' + b.addr.to_string();
    return hash_bytes(text, 0x6261636b656e64ull) | 1;   // never 0: 0 means "not written"
}

void progress_block::publish(std::size_t backend, const progress_snapshot& s) noexcept
{
    if (backend >= max_backends) return;
    progress_entry& e = entries_[backend];
    std::size_t n = std::min(s.position.size(), max_domains);
    std::uint64_t status = std::uint64_t(s.state) | (s.io_running ? status_io_running : 0) |
        (s.sql_running ? status_sql_running : 0) | (s.read_only ? status_read_only : 0) |
        (s.repl_error ? status_repl_error : 0) | (s.lagging ? status_lagging : 0) |
        (s.sql_mode_known ? status_sql_mode_known : 0) | (s.ansi_quotes ? status_ansi_quotes : 0) |
        (s.no_backslash_escapes ? status_no_backslash_escapes : 0) | (std::uint64_t(n) << status_count_shift) |
        (std::uint64_t(s.last_error) << status_error_shift);

    std::uint64_t odd = seqlock_write_begin(e.seq);
    e.backend_id.store(s.backend_id, relaxed);
    e.status.store(status, relaxed);
    // Only the gtids in use: readers copy as many as the count says.
    for (std::size_t i = 0; i < n; ++i) {
        const protocol::gtid g = s.position[i];
        e.gtid[i].domain_server.store(std::uint64_t(g.domain) << 32 | g.server, relaxed);
        e.gtid[i].seqno.store(g.seqno, relaxed);
    }
    e.last_good_poll_ns.store(s.last_good_poll_ns, relaxed);
    e.poll_rtt_ns.store(s.poll_rtt_ns, relaxed);
    e.advanced_ns.store(s.advanced_ns, relaxed);
    e.polls.store(s.polls, relaxed);
    e.poll_errors.store(s.poll_errors, relaxed);
    seqlock_write_end(e.seq, odd);
}

void progress_block::heartbeat(std::uint64_t now_ns) noexcept
{
    // Release: a reader that sees this beat also sees the entries published before it.
    header_->poller_heartbeat_ns.store(now_ns, std::memory_order_release);
}

progress_snapshot progress_block::read(std::size_t backend) const noexcept
{
    progress_snapshot s;
    if (backend >= max_backends) return s;
    const progress_entry& e = entries_[backend];
    for (int attempt = 0; attempt < seqlock_max_attempts; ++attempt) {
        std::uint64_t begin = seqlock_read_begin(e.seq);
        if (begin & 1) {
            cpu_relax();
            continue;
        }
        s.backend_id = e.backend_id.load(relaxed);
        std::uint64_t status = e.status.load(relaxed);
        // Only the gtids in use are copied: a read costs the same whatever
        // max_domains is. A torn count is caught by the seqlock check below.
        const std::size_t used = std::min<std::size_t>((status >> status_count_shift) & 0xff, max_domains);
        protocol::gtid g[max_domains];
        for (std::size_t i = 0; i < used; ++i) {
            std::uint64_t ds = e.gtid[i].domain_server.load(relaxed);
            g[i] = protocol::gtid{std::uint32_t(ds >> 32), std::uint32_t(ds), e.gtid[i].seqno.load(relaxed)};
        }
        s.last_good_poll_ns = e.last_good_poll_ns.load(relaxed);
        s.poll_rtt_ns = e.poll_rtt_ns.load(relaxed);
        s.advanced_ns = e.advanced_ns.load(relaxed);
        s.polls = e.polls.load(relaxed);
        s.poll_errors = e.poll_errors.load(relaxed);
        if (!seqlock_read_valid(e.seq, begin)) {
            cpu_relax();
            continue;
        }
        // A clean copy: decode it. A count or state out of range means the
        // entry was never written by this layout: unknown.
        std::size_t n = (status >> status_count_shift) & 0xff;
        std::uint64_t state = status & 0xff;
        if (n > max_domains || state > std::uint64_t(backend_state::replication_stopped)) return progress_snapshot{};
        s.state = backend_state(state);
        s.io_running = status & status_io_running;
        s.sql_running = status & status_sql_running;
        s.read_only = status & status_read_only;
        s.repl_error = status & status_repl_error;
        s.lagging = status & status_lagging;
        s.sql_mode_known = status & status_sql_mode_known;
        s.ansi_quotes = status & status_ansi_quotes;
        s.no_backslash_escapes = status & status_no_backslash_escapes;
        s.last_error = std::uint32_t(status >> status_error_shift);
        s.position.clear();
        for (std::size_t i = 0; i < n; ++i)
            if (!s.position.set(g[i])) return progress_snapshot{};
        s.ok = true;
        return s;
    }
    return progress_snapshot{};
}

std::uint64_t progress_block::heartbeat_ns() const noexcept
{
    return header_->poller_heartbeat_ns.load(std::memory_order_acquire);
}

bool progress_block::heartbeat_fresh(std::uint64_t now_ns, std::uint64_t max_age_ms) const noexcept
{
    std::uint64_t beat = heartbeat_ns();
    if (beat == 0) return false;
    return beat >= now_ns || now_ns - beat <= max_age_ms * 1000000u;
}

void progress_block::set_labels(const common::config& cfg) noexcept
{
    std::vector<common::backend_config> slots = cfg.read_slots();
    std::size_t n = std::min(slots.size() + 1, max_backends);
    std::uint64_t odd = seqlock_write_begin(labels_->seq);
    labels_->count.store(n, relaxed);
    for (std::size_t i = 0; i < max_backends; ++i) {
        const common::backend_config* b = i == 0 ? &cfg.primary : i < n ? &slots[i - 1] : nullptr;
        store_text(labels_->label[i].name, b ? b->name : std::string());
        store_text(labels_->label[i].address, b ? b->addr.to_string() : std::string());
    }
    seqlock_write_end(labels_->seq, odd);
}

void progress_block::set_primary_greeting(const std::string& version, std::uint8_t charset) noexcept
{
    std::uint64_t odd = seqlock_write_begin(header_->primary_version.seq);
    header_->primary_version.charset.store(charset, relaxed);
    store_text(header_->primary_version.text, version);
    seqlock_write_end(header_->primary_version.seq, odd);
}

std::string progress_block::primary_version(std::uint8_t* charset) const
{
    for (int attempt = 0; attempt < seqlock_max_attempts; ++attempt) {
        std::uint64_t begin = seqlock_read_begin(header_->primary_version.seq);
        std::uint64_t cs = header_->primary_version.charset.load(relaxed);
        std::string v = load_text(header_->primary_version.text);
        if (seqlock_read_valid(header_->primary_version.seq, begin)) {
            if (charset) *charset = std::uint8_t(cs);
            return v;
        }
        cpu_relax();
    }
    return {};
}

std::size_t progress_block::backend_count() const noexcept
{
    return std::min<std::uint64_t>(labels_->count.load(std::memory_order_acquire), max_backends);
}

bool progress_block::label(std::size_t backend, std::string& name, std::string& address) const
{
    if (backend >= max_backends) return false;
    for (int attempt = 0; attempt < seqlock_max_attempts; ++attempt) {
        std::uint64_t begin = seqlock_read_begin(labels_->seq);
        name = load_text(labels_->label[backend].name);
        address = load_text(labels_->label[backend].address);
        if (seqlock_read_valid(labels_->seq, begin)) return true;
        cpu_relax();
    }
    return false;
}

}   // namespace causeway::shm
