// The accounts block (see accounts.hh). Payload words are relaxed atomics;
// the per-buffer seqlock and the release/acquire on `active` order them.
#include "shm/accounts.hh"

#include <cstring>

#include "common/clock.hh"
#include "protocol/account_match.hh"
#include "shm/seqlock.hh"

namespace causeway::shm {

namespace {

constexpr auto relaxed = std::memory_order_relaxed;
constexpr std::uint64_t writer_claim_ns = 1000000000;
constexpr std::uint64_t len_mask_user = 0xff, len_mask_host = 0x1ff, len_mask_hash = 0x3f;
constexpr std::uint64_t flag_mask = account_locked | account_expired | account_other_plugin | account_bad_hash;

void store_text(word* words, std::size_t n, std::string_view text) noexcept
{
    for (std::size_t i = 0; i < n; ++i) {
        std::uint64_t w = 0;
        std::size_t at = i * 8;
        if (at < text.size()) std::memcpy(&w, text.data() + at, std::min<std::size_t>(8, text.size() - at));
        words[i].store(w, relaxed);
    }
}

// `len` bytes of `words` (len already checked against the field's size).
std::string load_text(const word* words, std::size_t len)
{
    std::string out(len, '\0');
    for (std::size_t at = 0; at < len; at += 8) {
        std::uint64_t w = words[at / 8].load(relaxed);
        std::memcpy(out.data() + at, &w, std::min<std::size_t>(8, len - at));
    }
    return out;
}

bool fits(const account& a) noexcept
{
    return a.user.size() <= account_user_words * 8 && a.host.size() <= account_host_words * 8 &&
        a.hash.size() <= account_hash_words * 8;
}

}   // namespace

account_publish_result account_store::publish(const std::vector<account>& accounts,
                                              std::uint64_t now_realtime_ns) noexcept
{
    account_publish_result r;
    // One writer at a time. A claim older than a second is a writer that
    // died mid-publish (publishing takes microseconds): taken over.
    std::uint64_t now = common::monotonic_ns() | 1, claim = 0;
    if (!block_->writer.compare_exchange_strong(claim, now, std::memory_order_acquire)) {
        if (claim + writer_claim_ns > now ||
            !block_->writer.compare_exchange_strong(claim, now, std::memory_order_acquire)) {
            r.busy = true;
            return r;
        }
    }
    std::uint64_t next = 1 - (block_->active.load(relaxed) & 1);
    account_entry* out = buffer(next);
    std::uint64_t odd = seqlock_write_begin(block_->seq[next]);
    for (const account& a : accounts) {
        if (r.stored == capacity_ || !fits(a)) {
            ++r.not_stored;
            continue;
        }
        account_entry& e = out[r.stored++];
        e.meta.store(std::uint64_t(a.user.size()) | std::uint64_t(a.host.size()) << account_host_len_shift |
                         std::uint64_t(a.hash.size()) << account_hash_len_shift | (a.flags & flag_mask),
                     relaxed);
        store_text(e.user, account_user_words, a.user);
        store_text(e.host, account_host_words, a.host);
        store_text(e.hash, account_hash_words, a.hash);
    }
    block_->count[next].store(r.stored, relaxed);
    seqlock_write_end(block_->seq[next], odd);
    // Readers that load this value see the buffer complete (the seqlock's
    // release happened before it).
    block_->active.store(next, std::memory_order_release);
    block_->loaded.store(r.stored, relaxed);
    block_->not_loaded.store(r.not_stored, relaxed);
    block_->last_refresh_realtime_ns.store(now_realtime_ns, relaxed);
    block_->last_refresh_ok.store(1, relaxed);
    block_->loads.store(block_->loads.load(relaxed) + 1, std::memory_order_release);
    block_->writer.store(0, std::memory_order_release);
    return r;
}

void account_store::refresh_failed(std::uint64_t now_realtime_ns) noexcept
{
    block_->last_refresh_realtime_ns.store(now_realtime_ns, relaxed);
    block_->last_refresh_ok.store(0, relaxed);
    block_->refresh_failures.store(block_->refresh_failures.load(relaxed) + 1, relaxed);
}

std::uint64_t account_store::request_refresh() noexcept
{
    return block_ ? block_->refresh_requests.fetch_add(1, relaxed) + 1 : 0;
}

bool account_store::refresh_answered(std::uint64_t ticket) const noexcept
{
    return !block_ || block_->refresh_answered.load(std::memory_order_acquire) >= ticket;
}

std::uint64_t account_store::refresh_requests() const noexcept
{
    return block_ ? block_->refresh_requests.load(relaxed) : 0;
}

void account_store::answer_requests(std::uint64_t seen_at_start, bool forced) noexcept
{
    if (!block_) return;
    if (forced) block_->forced_refreshes.fetch_add(1, relaxed);
    // During a reload two pollers answer: the count only grows. Release:
    // a worker that sees its ticket answered sees the set published before.
    std::uint64_t cur = block_->refresh_answered.load(relaxed);
    while (cur < seen_at_start &&
           !block_->refresh_answered.compare_exchange_weak(cur, seen_at_start, std::memory_order_release, relaxed)) {
    }
}

account_lookup account_store::lookup(std::string_view user, std::string_view ip) const
{
    account_lookup out;
    if (!block_ || block_->loads.load(std::memory_order_acquire) == 0) return out;   // not_loaded
    out.status = account_lookup_status::unreadable;
    std::vector<account> candidates;
    bool user_known = false;
    for (int attempt = 0; attempt < seqlock_max_attempts; ++attempt) {
        std::uint64_t which = block_->active.load(std::memory_order_acquire);
        if (which > 1) return out;
        std::uint64_t begin = seqlock_read_begin(block_->seq[which]);
        std::uint64_t n = block_->count[which].load(relaxed);
        if (n > capacity_) return out;
        const account_entry* in = buffer(which);
        candidates.clear();
        user_known = false;
        bool damaged = false;
        for (std::uint64_t i = 0; i < n && !damaged; ++i) {
            std::uint64_t meta = in[i].meta.load(relaxed);
            std::size_t ulen = meta & len_mask_user, hlen = meta >> account_host_len_shift & len_mask_host,
                        zlen = meta >> account_hash_len_shift & len_mask_hash;
            if (ulen > account_user_words * 8 || hlen > account_host_words * 8 || zlen > account_hash_words * 8) {
                damaged = true;   // a torn copy, or damage: the seqlock check below decides
                break;
            }
            if (ulen != 0 && (ulen != user.size() || load_text(in[i].user, ulen) != user)) continue;
            if (ulen != 0) user_known = true;
            candidates.push_back(account{ulen ? std::string(user) : std::string(), load_text(in[i].host, hlen),
                                         load_text(in[i].hash, zlen), meta & flag_mask});
        }
        if (!seqlock_read_valid(block_->seq[which], begin)) {
            cpu_relax();
            continue;
        }
        if (damaged) return out;   // a clean copy that is invalid: unreadable
        std::vector<protocol::account_key> keys;
        keys.reserve(candidates.size());
        for (const auto& c : candidates) keys.push_back({c.user, c.host});
        long pick = protocol::pick_account(keys, user, ip);
        if (pick < 0) {
            out.status = user_known ? account_lookup_status::user_elsewhere : account_lookup_status::no_account;
            return out;
        }
        out.status = account_lookup_status::found;
        out.found = std::move(candidates[std::size_t(pick)]);
        return out;
    }
    return out;   // unreadable: torn every time
}

accounts_stats account_store::stats() const noexcept
{
    accounts_stats s;
    if (!block_) return s;
    s.loads = block_->loads.load(relaxed);
    s.loaded = block_->loaded.load(relaxed);
    s.last_refresh_realtime_ns = block_->last_refresh_realtime_ns.load(relaxed);
    s.last_refresh_ok = block_->last_refresh_ok.load(relaxed) == 1;
    s.refresh_failures = block_->refresh_failures.load(relaxed);
    s.not_loaded = block_->not_loaded.load(relaxed);
    s.forced_refreshes = block_->forced_refreshes.load(relaxed);
    return s;
}

}   // namespace causeway::shm
