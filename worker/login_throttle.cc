// See login_throttle.hh. Every access is a relaxed atomic: the table is a
// rate hint, and a race (two workers claiming one slot, a window restarted
// under a concurrent failure) can only forget or add one failure.
#include "worker/login_throttle.hh"

#include "shm/hash.hh"

namespace causeway::worker {

namespace {

constexpr std::uint64_t count_mask = (1ull << shm::login_count_bits) - 1;
constexpr std::uint64_t start_mask = (1ull << (64 - shm::login_count_bits)) - 1;

std::uint64_t start_of(std::uint64_t window)
{
    return window >> shm::login_count_bits;
}

bool expired(std::uint64_t window, std::uint64_t now_ms)
{
    return (window & count_mask) == 0 || ((now_ms & start_mask) - start_of(window)) >= login_throttle::window_ms;
}

}   // namespace

std::uint64_t login_throttle::key(std::string_view host) const
{
    return shm::hash_bytes(host, seed_) | 1;   // 0 marks a free slot
}

// The slot holding `key`, else one to take over: free or with its window
// over. Null when the probe sequence is full of live windows of other
// addresses (a scan from many addresses): that address is not throttled,
// never refused.
shm::login_slot* login_throttle::find(std::uint64_t k) const
{
    std::size_t first = std::size_t(k >> 1) % shm::login_slots;
    for (std::size_t i = 0; i < shm::login_probe; ++i) {
        shm::login_slot& s = table_->slot[(first + i) % shm::login_slots];
        if (s.key.load(std::memory_order_relaxed) == k) return &s;
    }
    return nullptr;
}

void login_throttle::failed(std::string_view host, std::uint64_t now_ms)
{
    if (!table_) return;
    std::uint64_t k = key(host);
    shm::login_slot* slot = find(k);
    if (!slot) {
        std::size_t first = std::size_t(k >> 1) % shm::login_slots;
        for (std::size_t i = 0; i < shm::login_probe && !slot; ++i) {
            shm::login_slot& s = table_->slot[(first + i) % shm::login_slots];
            std::uint64_t old = s.key.load(std::memory_order_relaxed);
            if (old != 0 && !expired(s.window.load(std::memory_order_relaxed), now_ms)) continue;
            if (s.key.compare_exchange_strong(old, k, std::memory_order_relaxed)) {
                s.window.store(0, std::memory_order_relaxed);   // the previous address's count is not ours
                slot = &s;
            } else if (old == k) {
                slot = &s;   // another worker claimed it for the same address
            }
        }
        if (!slot) return;
    }
    std::uint64_t w = slot->window.load(std::memory_order_relaxed);
    std::uint64_t next;
    do {
        if (expired(w, now_ms))
            next = ((now_ms & start_mask) << shm::login_count_bits) | 1;
        else
            next = (w & count_mask) == count_mask ? w : w + 1;
    } while (!slot->window.compare_exchange_weak(w, next, std::memory_order_relaxed));
}

int login_throttle::delay_for(std::string_view host, std::uint64_t now_ms, int threshold, int delay_ms) const
{
    if (delay_ms <= 0) return 0;
    if (threshold == 0) return delay_ms;
    if (!table_) return 0;
    const shm::login_slot* slot = find(key(host));
    if (!slot) return 0;
    std::uint64_t w = slot->window.load(std::memory_order_relaxed);
    if (expired(w, now_ms)) return 0;
    return (w & count_mask) >= std::uint64_t(threshold) ? delay_ms : 0;
}

std::size_t login_throttle::hosts(std::uint64_t now_ms) const
{
    std::size_t n = 0;
    if (!table_) return 0;
    for (const shm::login_slot& s : table_->slot)
        if (s.key.load(std::memory_order_relaxed) != 0 && !expired(s.window.load(std::memory_order_relaxed), now_ms))
            ++n;
    return n;
}

}   // namespace causeway::worker
