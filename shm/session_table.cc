// The session-seqno table (see session_table.hh for the contract, layout.hh
// for the words). The protocol between updaters and reclaimers:
//   update:  find or claim the key word; CAS-max the slot; then CAS the key
//            word to bump its version. If the tag is gone by then (a reclaim
//            freed the entry), start over: the write is not yet acknowledged.
//   reclaim: read key word, then slots; if the watermark covers them, raise the
//            floor, CAS each slot to 0, then CAS the key word (same version) to
//            free. A racing update either changed a slot (the slot CAS fails)
//            or bumps the version (the key CAS fails) or sees its tag gone.
// Lookups read key words, then slots (acquire), then the floor: a slot found
// cleared was cleared after the floor was raised, so the floor load sees it.
#include "shm/session_table.hh"

#include <algorithm>

namespace causeway::shm {

struct session_table::item {
    int idx;   // directory index
    std::uint64_t seqno;
};

namespace {

constexpr auto relaxed = std::memory_order_relaxed;
constexpr auto acquire = std::memory_order_acquire;
constexpr auto release = std::memory_order_release;
constexpr auto acq_rel = std::memory_order_acq_rel;

constexpr int max_update_restarts = 16;   // each needs a reclaim racing this very key

std::uint64_t tag_of(std::uint64_t key) noexcept
{
    std::uint64_t t = key >> 32;
    return t ? t : 1;   // tag 0 marks an empty key word
}
std::uint64_t key_tag(std::uint64_t kw) noexcept
{
    return kw >> key_tag_shift;
}
std::uint64_t bump_version(std::uint64_t kw) noexcept
{
    return (kw & ~key_version_mask) | ((kw + 1) & key_version_mask);
}
int slot_domain(std::uint64_t w) noexcept
{
    return int(w >> slot_domain_shift) - 1;
}   // -1: unused
std::uint64_t slot_seqno(std::uint64_t w) noexcept
{
    return w & slot_seqno_max;
}
std::uint64_t make_slot(int idx, std::uint64_t seqno) noexcept
{
    return (std::uint64_t(idx + 1) << slot_domain_shift) | seqno;
}

// Raises w to at least v. The load may be relaxed: a value >= v already there
// was written before this load, and coherence carries it to anyone who later
// synchronizes with this thread. The successful CAS is seq_cst (a release):
// the floor raise is ordered before the slot clear that follows it.
void cas_max(word& w, std::uint64_t v) noexcept
{
    std::uint64_t cur = w.load(relaxed);
    while (cur < v && !w.compare_exchange_weak(cur, v, std::memory_order_seq_cst, relaxed)) {
    }
}

bool slot_covered(std::uint64_t w, const std::uint64_t (&wm)[max_domains]) noexcept
{
    if (w == 0) return true;
    int d = slot_domain(w);
    return d >= 0 && std::size_t(d) < max_domains && wm[d] >= slot_seqno(w);
}

}   // namespace

session_table::session_table(segment_header* header, std::size_t region, const table_region& where, std::uint64_t seed,
                             std::byte* base) noexcept
    : header_(header),
      state_(&header->sessions),
      stats_(&header->stats[region]),
      table_(reinterpret_cast<table_bucket*>(base + where.offset)),
      buckets_(where.buckets),
      seed_(seed)
{
    // Read once and clamped: a damaged word must not index past the arrays.
    std::uint64_t c = state_->domain_capacity.load(relaxed);
    capacity_ = c == 0 || c > max_tracked_domains ? max_tracked_domains : std::size_t(c);
}

// Two buckets from independent bits of the key (the tag is the high 32 bits;
// bucket 1 the low 32, bucket 2 a remix of all 64), by multiply-shift range
// reduction, so the bucket count need not be a power of two.
void session_table::buckets_of(std::uint64_t key, std::size_t& b1, std::size_t& b2) const noexcept
{
    b1 = std::size_t((std::uint64_t(std::uint32_t(key)) * buckets_) >> 32);
    std::uint64_t m = (key ^ (key >> 29)) * 0xbf58476d1ce4e5b9ull;
    b2 = std::size_t(((m >> 32) * buckets_) >> 32);
    if (b2 == b1) b2 = b1 + 1 == buckets_ ? 0 : b1 + 1;
}

// The directory fills in order from index 1 and never frees, so the first
// free slot means "not there". Acquire: a slot naming index i implies the
// directory entry i was claimed (and domain_count raised past it) before;
// readers that find the id read it with acquire. -1: not tracked on its own
// (the directory is full, or the id is the epoch's): the epoch covers it.
int session_table::domain_index(std::uint32_t domain, bool claim) const noexcept
{
    if (domain == epoch_domain) return -1;
    const std::uint64_t want = std::uint64_t(domain) + 1;
    for (std::size_t i = 1; i <= capacity_; ++i) {
        std::uint64_t v = state_->domain_id[i].load(acquire);
        while (true) {
            if (v == want) return int(i);
            if (v != 0) break;
            if (!claim) return -1;
            if (state_->domain_id[i].compare_exchange_strong(v, want, acq_rel, acquire)) {
                cas_max(state_->domain_count, i + 1);   // before any slot names index i
                return int(i);
            }
        }
    }
    return -1;
}

std::uint32_t session_table::directory_id(std::size_t i) const noexcept
{
    if (i == epoch_index) return epoch_domain;
    std::uint64_t id = state_->domain_id[i].load(acquire);
    return id == 0 ? epoch_domain : std::uint32_t(id - 1);   // 0 cannot happen: used only once claimed
}

std::size_t session_table::domains_in_use() const noexcept
{
    // Index 0 (the epoch) is always scanned.
    return std::clamp<std::size_t>(state_->domain_count.load(acquire), 1, max_domains);
}

void session_table::prefetch(std::uint64_t key) const noexcept
{
    if (buckets_ == 0) return;
    std::size_t b1, b2;
    buckets_of(key, b1, b2);
    for (std::size_t b : {b1, b2}) {
        __builtin_prefetch(&table_[b]);
        __builtin_prefetch(reinterpret_cast<const char*>(&table_[b]) + 64);
    }
}

lookup_result session_table::lookup(std::uint64_t key) const noexcept
{
    lookup_result r;
    if (!state_->floor_set.load(acquire)) return r;   // no_floor
    if (buckets_ == 0) {
        r.status = lookup_status::spilled;
        return r;
    }
    std::size_t b1, b2;
    buckets_of(key, b1, b2);
    // Both buckets, both lines each, before the first load waits on memory.
    for (std::size_t b : {b1, b2}) {
        __builtin_prefetch(&table_[b]);
        __builtin_prefetch(reinterpret_cast<const char*>(&table_[b]) + 64);
    }
    if (table_[b1].meta.load(acquire) & bucket_spill) {
        r.status = lookup_status::spilled;
        return r;
    }
    const std::uint64_t tag = tag_of(key);
    // Only the directory's claimed indexes are looked at (and zeroed): a
    // lookup costs the same whatever max_domains is.
    std::uint64_t seq[max_domains];
    std::size_t in_use = domains_in_use();
    for (std::size_t d = 0; d < in_use; ++d) seq[d] = 0;
    auto grow = [&](std::size_t to) {
        for (std::size_t i = in_use; i < to; ++i) seq[i] = 0;
        in_use = std::max(in_use, to);
    };
    bool overflowed = false;
    for (std::size_t b : {b1, b2}) {
        for (const table_entry& e : table_[b].entry) {
            std::uint64_t kw = e.key.load(acquire);
            if (key_tag(kw) != tag) continue;
            overflowed |= (kw & key_overflow) != 0;
            // Every entry with this tag counts (a racing insert may have made
            // two): the answer is the max over them.
            for (const word& s : e.slot) {
                std::uint64_t w = s.load(acquire);
                int d = slot_domain(w);
                if (d < 0) continue;
                // A slot naming an index past in_use was claimed after that
                // load (or the word is damaged): read the count again.
                if (std::size_t(d) >= in_use) {
                    grow(domains_in_use());
                    if (std::size_t(d) >= in_use) {   // damaged: cannot be read as a position
                        r.status = lookup_status::unreadable;
                        return r;
                    }
                }
                seq[d] = std::max(seq[d], slot_seqno(w));
            }
        }
    }
    // An entry that lost a domain (overflow): what it lost is within the
    // spill position, raised before the flag was set (the key load above
    // acquires it), so the spill bounds it: such a session reads from a
    // replica once one passes every overflowed write of the table, without
    // waiting for the reclaim sweep. A position above the session's own,
    // never below it.
    if (overflowed) {
        grow(domains_in_use());   // after the key loads: every index a spill names
        for (std::size_t d = 0; d < in_use; ++d) seq[d] = std::max(seq[d], state_->spill[d].load(acquire));
    }
    // After the slot loads (acquire): a slot a reclaim cleared implies its floor raise is visible.
    for (std::size_t d = 0; d < in_use; ++d) seq[d] = std::max(seq[d], state_->floor[d].load(acquire));
    for (std::size_t d = 0; d < in_use; ++d)
        if (seq[d] != 0) (void)r.position.set(protocol::gtid{directory_id(d), 0, seq[d]});   // <= max_domains: fits
    r.status = overflowed ? lookup_status::overflow : lookup_status::known;
    return r;
}

bool session_table::find_or_claim(std::uint64_t key, place& where, std::uint64_t& kw) noexcept
{
    std::size_t b[2];
    buckets_of(key, b[0], b[1]);
    const std::uint64_t tag = tag_of(key);
    for (int attempt = 0; attempt < 4; ++attempt) {
        std::size_t free_count[2] = {0, 0};
        for (int n = 0; n < 2; ++n) {
            for (std::size_t i = 0; i < bucket_entries; ++i) {
                std::uint64_t k = table_[b[n]].entry[i].key.load(acquire);
                if (key_tag(k) == tag) {
                    where = {b[n], i};
                    kw = k;
                    return true;
                }
                if (key_tag(k) == 0) ++free_count[n];
            }
        }
        if (free_count[0] + free_count[1] == 0) return false;
        // The emptier bucket first (two-choice balancing keeps both under ~80%).
        int first = free_count[1] > free_count[0] ? 1 : 0;
        for (int n : {first, 1 - first}) {
            for (std::size_t i = 0; i < bucket_entries; ++i) {
                word& slot = table_[b[n]].entry[i].key;
                std::uint64_t k = slot.load(acquire);
                if (key_tag(k) != 0) continue;
                std::uint64_t claimed = (tag << key_tag_shift) | ((k + 1) & key_version_mask);
                if (slot.compare_exchange_strong(k, claimed, acq_rel, acquire)) {
                    where = {b[n], i};
                    kw = claimed;
                    return true;
                }
                // Lost a race for this word: rescan, the winner may be this key.
                goto rescan;
            }
        }
    rescan:;
    }
    return false;
}

bool session_table::raise_slot(table_entry& v, int idx, std::uint64_t seqno) noexcept
{
    const std::uint64_t want = make_slot(idx, seqno);
    for (int round = 0; round < 4; ++round) {
        for (word& s : v.slot) {
            std::uint64_t w = s.load(acquire);
            while (slot_domain(w) == idx) {
                // Already at least as high: a reclaim may clear it, but only
                // after raising the floor past it.
                if (slot_seqno(w) >= seqno) return true;
                if (s.compare_exchange_weak(w, want, acq_rel, acquire)) return true;
            }
        }
        bool raced = false;
        for (word& s : v.slot) {
            std::uint64_t w = s.load(acquire);
            if (w != 0) continue;
            if (s.compare_exchange_strong(w, want, acq_rel, acquire)) return true;
            raced = true;
        }
        if (!raced) return false;   // both slots hold other domains
    }
    return false;
}

// Records a position that found no room, in the meta word of the key's first
// bucket: one domain's seqno fits the word itself (CAS-max), so the mark clears
// as soon as that seqno is applied everywhere. Anything else goes to the global
// spill position first, then the word gets a unique "global" mark with a
// release CAS, so a reclaimer that acquires the mark reads a covering position.
void session_table::spill(std::size_t bucket, const item* items, std::size_t n) noexcept
{
    word& meta = table_[bucket].meta;
    const bool single = n == 1 && items[0].seqno <= bucket_low_mask;
    if (!single)
        for (std::size_t i = 0; i < n; ++i) cas_max(state_->spill[items[i].idx], items[i].seqno);
    std::uint64_t m = meta.load(relaxed);
    while (true) {
        const std::uint64_t what = (m >> bucket_what_shift) & bucket_what_mask;
        std::uint64_t next;
        if (single && (m == 0 || what == std::uint64_t(items[0].idx + 1))) {
            if (m != 0 && (m & bucket_low_mask) >= items[0].seqno) return;
            next = bucket_spill | std::uint64_t(items[0].idx + 1) << bucket_what_shift | items[0].seqno;
        } else {
            if (single) cas_max(state_->spill[items[0].idx], items[0].seqno);
            if (m != 0 && what != bucket_what_global) cas_max(state_->spill[what - 1], m & bucket_low_mask);
            std::uint64_t mark = (state_->spill_marks.fetch_add(1, relaxed) + 1) & bucket_low_mask;
            next = bucket_spill | bucket_what_global << bucket_what_shift | mark;
        }
        if (meta.compare_exchange_weak(m, next, acq_rel, relaxed)) return;
    }
}

update_status session_table::update(std::uint64_t key, std::span<const protocol::gtid> pos,
                                    position_source source) noexcept
{
    item items[max_domains];
    std::size_t n = 0;
    std::uint64_t epoch = 0;
    bool untracked = false;
    for (const protocol::gtid& g : pos) {
        if (g.seqno == 0) continue;
        if (g.domain == epoch_domain && source == position_source::progress) {
            epoch = std::max(epoch, g.seqno);   // a replica's epoch: already a requirement
            continue;
        }
        int idx = domain_index(g.domain, true);
        if (idx >= 0 && n + 1 < max_domains) {   // one place stays free for the epoch
            items[n++] = item{idx, g.seqno};
        } else {
            untracked = true;
        }
    }
    if (untracked) {
        // Every primary poll numbered past what is sent now is sent after
        // this write committed (the caller has its OK): seq_cst, so that the
        // poller's fetch_add cannot be ordered before this load.
        epoch = std::max(epoch, state_->epoch_sent.load(std::memory_order_seq_cst) + 1);
        stats_->updates_untracked.fetch_add(1, relaxed);
    }
    if (epoch != 0) {
        items[n++] = item{int(epoch_index), epoch};
        if (!state_->epoch_used.load(relaxed)) state_->epoch_used.store(1, relaxed);
    }
    if (n == 0) return update_status::stored;

    std::size_t b1 = 0, b2 = 0;
    if (buckets_ != 0) buckets_of(key, b1, b2);
    const std::uint64_t tag = tag_of(key);
    for (int attempt = 0; buckets_ != 0 && attempt < max_update_restarts; ++attempt) {
        place p;
        std::uint64_t kw;
        if (!find_or_claim(key, p, kw)) {
            // Both buckets full: free what the watermark allows, then once more.
            std::uint64_t wm[max_domains];
            for (std::size_t d = 0; d < max_domains; ++d) wm[d] = state_->watermark[d].load(acquire);
            reclaim_result r;
            std::size_t freed = reclaim_bucket(b1, wm, r) + reclaim_bucket(b2, wm, r);
            if (freed) stats_->inline_reclaims.fetch_add(freed, relaxed);
            if (!freed || !find_or_claim(key, p, kw)) break;
        }
        table_entry& v = table_[p.bucket].entry[p.slot];
        bool overflow = false;
        for (std::size_t i = 0; i < n; ++i) {
            if (items[i].seqno <= slot_seqno_max && raise_slot(v, items[i].idx, items[i].seqno)) continue;
            overflow = true;
            cas_max(state_->spill[items[i].idx], items[i].seqno);   // before the flag (release below)
        }
        // Acknowledge: bump the version (and set overflow) while the tag is
        // still ours, so a reclaim that read the old version cannot free it.
        word& kword = v.key;
        while (true) {
            std::uint64_t next = bump_version(kw) | (overflow ? key_overflow : 0);
            if (kword.compare_exchange_weak(kw, next, acq_rel, acquire)) {
                if (!overflow) return update_status::stored;
                stats_->updates_overflow.fetch_add(1, relaxed);
                return update_status::overflow;
            }
            if (key_tag(kw) != tag) break;
        }
        stats_->update_restarts.fetch_add(1, relaxed);
    }
    // No room (or an improbable run of reclaim races): spill, so that lookups
    // of keys starting at this bucket answer unknown until it is applied everywhere.
    if (buckets_ != 0) spill(b1, items, n);
    stats_->updates_full.fetch_add(1, relaxed);
    return update_status::full;
}

bool session_table::init_floor(std::span<const protocol::gtid> primary, std::uint64_t epoch) noexcept
{
    if (state_->floor_set.load(acquire)) return false;
    bool untracked = false;
    for (const protocol::gtid& g : primary) {
        if (g.seqno == 0) continue;
        int idx = domain_index(g.domain, true);
        if (idx < 0)
            untracked = true;
        else
            cas_max(state_->floor[idx], g.seqno);
    }
    // Domains the directory cannot hold: a replica must first apply the
    // primary's whole position as this poll read it.
    if (untracked) {
        cas_max(state_->floor[epoch_index], std::max<std::uint64_t>(epoch, 1));
        state_->epoch_used.store(1, relaxed);
    }
    state_->floor_set.store(1, release);   // after the floor: lookups that see it see the floor
    return true;
}

std::uint64_t session_table::next_epoch() noexcept
{
    return state_->epoch_sent.fetch_add(1, std::memory_order_seq_cst) + 1;
}

std::vector<std::uint32_t> session_table::tracked_domains() const
{
    std::vector<std::uint32_t> ids;
    for (std::size_t i = 1; i < domains_in_use(); ++i)
        if (std::uint64_t id = state_->domain_id[i].load(acquire)) ids.push_back(std::uint32_t(id - 1));
    return ids;
}

void session_table::publish_watermark(const protocol::gtid_position& applied) noexcept
{
    for (const protocol::gtid& g : applied) {
        // A domain no session wrote in has nothing to reclaim.
        int idx = g.domain == epoch_domain ? int(epoch_index) : domain_index(g.domain, false);
        if (idx >= 0) cas_max(state_->watermark[idx], g.seqno);
    }
}

std::size_t session_table::reclaim_bucket(std::size_t b, const std::uint64_t (&wm)[max_domains],
                                          reclaim_result& r) noexcept
{
    auto covered_spill = [&](std::uint64_t(&sp)[max_domains]) {
        for (std::size_t d = 0; d < max_domains; ++d) {
            sp[d] = state_->spill[d].load(relaxed);   // after an acquire of the flag
            if (sp[d] > wm[d]) return false;
        }
        return true;
    };
    auto raise_floor_to_spill = [&](const std::uint64_t(&sp)[max_domains]) {
        for (std::size_t d = 0; d < max_domains; ++d)
            if (sp[d]) cas_max(state_->floor[d], sp[d]);
    };

    table_bucket& kb = table_[b];
    std::uint64_t sp[max_domains];
    std::uint64_t meta = kb.meta.load(acquire);
    if (meta & bucket_spill) {
        const std::uint64_t what = (meta >> bucket_what_shift) & bucket_what_mask;
        bool covered = false;
        if (what == bucket_what_global) {
            covered = covered_spill(sp);
            if (covered) raise_floor_to_spill(sp);
        } else if (what >= 1 && what <= max_domains && wm[what - 1] >= (meta & bucket_low_mask)) {
            covered = true;
            cas_max(state_->floor[what - 1], meta & bucket_low_mask);
        }
        // Fails if a spill arrived since the read: a higher seqno, or a new
        // global mark (unique, so never mistaken for the one read).
        if (covered && kb.meta.compare_exchange_strong(meta, 0, acq_rel, relaxed)) ++r.spills;
    }

    std::size_t freed = 0;
    for (std::size_t i = 0; i < bucket_entries; ++i) {
        table_entry& v = kb.entry[i];
        std::uint64_t kw = v.key.load(acquire);
        std::uint64_t s[2] = {v.slot[0].load(acquire), v.slot[1].load(acquire)};
        const bool used = key_tag(kw) != 0;
        if (!used && s[0] == 0 && s[1] == 0) continue;
        if (used) ++r.scanned;
        if (!slot_covered(s[0], wm) || !slot_covered(s[1], wm)) continue;
        if (used && (kw & key_overflow)) {
            if (!covered_spill(sp)) continue;
            raise_floor_to_spill(sp);
        }
        // Floor first (seq_cst CAS), then clear (release): see the file comment.
        for (std::uint64_t w : s)
            if (w) cas_max(state_->floor[slot_domain(w)], slot_seqno(w));
        bool cleared = true;
        for (int j = 0; j < 2 && cleared; ++j)
            if (s[j] && !v.slot[j].compare_exchange_strong(s[j], 0, acq_rel, relaxed)) cleared = false;
        // A free word with leftover slots (an update that restarted) is just tidied.
        if (!cleared || !used) continue;
        if (v.key.compare_exchange_strong(kw, (kw + 1) & key_version_mask, acq_rel, relaxed)) {
            ++r.reclaimed;
            ++freed;
        }
    }
    return freed;
}

reclaim_result session_table::reclaim(std::size_t first, std::size_t count) noexcept
{
    reclaim_result r;
    if (buckets_ == 0) return r;
    std::uint64_t wm[max_domains];
    for (std::size_t d = 0; d < max_domains; ++d) wm[d] = state_->watermark[d].load(acquire);
    count = std::min(count, buckets_);
    for (std::size_t k = 0; k < count; ++k) reclaim_bucket((first + k) % buckets_, wm, r);
    return r;
}

bool session_table::floor_set() const noexcept
{
    return state_->floor_set.load(acquire) != 0;
}

namespace {
}   // namespace

protocol::gtid_position session_table::by_directory(const word (&values)[max_domains]) const noexcept
{
    protocol::gtid_position p;
    for (std::size_t d = 0; d < domains_in_use(); ++d) {
        std::uint64_t v = values[d].load(acquire);
        if (v != 0) (void)p.set(protocol::gtid{directory_id(d), 0, v});
    }
    return p;
}

protocol::gtid_position session_table::floor() const noexcept
{
    return by_directory(state_->floor);
}

protocol::gtid_position session_table::watermark() const noexcept
{
    return by_directory(state_->watermark);
}

std::size_t session_table::occupied() const noexcept
{
    std::size_t n = 0;
    for (std::size_t b = 0; b < buckets_; ++b)
        for (const table_entry& e : table_[b].entry) n += key_tag(e.key.load(relaxed)) != 0;
    return n;
}

// Key word, then slots, then the key word again (all acquire, so the second
// key load cannot move before the slot loads): when the tag is still the one
// read first, the slots were read while that session held the entry, before or
// after any update or reclaim in progress. A tag that changed (the entry was
// reclaimed, perhaps reused) is read again a few times, then skipped.
void session_table::copy_entries(std::size_t first, std::size_t count, std::vector<session_entry>& out) const
{
    if (buckets_ == 0) return;
    count = std::min(count, buckets_);
    for (std::size_t k = 0; k < count; ++k) {
        for (const table_entry& e : table_[(first + k) % buckets_].entry) {
            std::uint64_t kw = e.key.load(acquire);
            for (int round = 0; round < 4 && key_tag(kw) != 0; ++round) {
                const std::uint64_t s[2] = {e.slot[0].load(acquire), e.slot[1].load(acquire)};
                const std::uint64_t again = e.key.load(acquire);
                if (key_tag(again) != key_tag(kw)) {
                    kw = again;
                    continue;
                }
                session_entry entry;
                entry.tag = std::uint32_t(key_tag(again));
                entry.overflow = (again & key_overflow) != 0;
                for (std::uint64_t w : s) {
                    const int d = slot_domain(w);
                    if (d < 0 || std::size_t(d) >= max_domains || slot_seqno(w) == 0) continue;
                    // merge: two racing first writes of one domain can fill both slots.
                    (void)entry.position.merge_max(protocol::gtid{directory_id(std::size_t(d)), 0, slot_seqno(w)});
                }
                if (!entry.position.empty() || entry.overflow) out.push_back(std::move(entry));
                break;
            }
        }
    }
}

std::size_t session_table::spilled_buckets() const noexcept
{
    std::size_t n = 0;
    for (std::size_t b = 0; b < buckets_; ++b) n += (table_[b].meta.load(relaxed) & bucket_spill) != 0;
    return n;
}

}   // namespace causeway::shm
