// Counting server connections across workers, and waiting for one (see
// backend_limit.hh).
#include "worker/backend_limit.hh"

#include <algorithm>
#include <utility>

#include "common/clock.hh"

namespace causeway::worker {

namespace {
// How often the waiters of a worker look at the other workers' counts: their
// connections closing wake nobody here.
constexpr std::uint64_t poll_ns = 5'000'000;
}   // namespace

server_lease& server_lease::operator=(server_lease&& o) noexcept
{
    if (this != &o) {
        reset();
        owner_ = std::exchange(o.owner_, nullptr);
        server_ = o.server_;
    }
    return *this;
}

void server_lease::reset() noexcept
{
    if (backend_limit* owner = std::exchange(owner_, nullptr)) owner->release(server_);
}

void backend_limit::configure(event_base* base, const shm::segment* seg, shm::backend_usage* mine, std::size_t limit)
{
    base_ = base;
    seg_ = seg;
    mine_ = mine;
    limit_ = limit;
    timer_.reset(evtimer_new(base, on_tick, this));
}

std::uint64_t backend_limit::open_total(std::size_t server) const
{
    std::uint64_t n = 0;
    if (!seg_ || server >= shm::max_backends) return n;
    for (std::size_t slot = 0; slot < shm::max_worker_slots; ++slot)
        if (const shm::backend_usage* u = seg_->usage(slot)) n += u->open[server].load(std::memory_order_seq_cst);
    return n;
}

server_lease backend_limit::acquire(std::size_t server)
{
    if (!mine_ || server >= shm::max_backends) return server_lease(this, shm::max_backends);
    shm::word& mine = mine_->open[server];
    std::uint64_t n = mine.load(std::memory_order_relaxed) + 1;
    // Counted first, then the others read (all seq_cst): of two workers
    // taking the last connection at once, at least one sees the other's and
    // backs off. Both may back off; their waits then try again.
    mine.store(n, std::memory_order_seq_cst);
    if (limit_ && open_total(server) > limit_) {
        mine.store(n - 1, std::memory_order_seq_cst);
        return {};
    }
    return server_lease(this, server);
}

void backend_limit::release(std::size_t server) noexcept
{
    if (!mine_ || server >= shm::max_backends) return;
    shm::word& mine = mine_->open[server];
    mine.store(mine.load(std::memory_order_relaxed) - 1, std::memory_order_seq_cst);
    for (const waiter& w : waiters_)
        if (w.server == server) return arm(true);
}

void backend_limit::wait(limit_waiter& w, std::size_t server, std::uint64_t deadline_ns)
{
    cancel(w);
    waiters_.push_back({&w, server, deadline_ns});
    publish_wanted();
    arm(false);
}

void backend_limit::cancel(limit_waiter& w)
{
    std::erase_if(waiters_, [&](const waiter& x) { return x.who == &w; });
    for (waiter& x : ticking_)
        if (x.who == &w) x.who = nullptr;
    publish_wanted();
}

void backend_limit::pooled(std::size_t server)
{
    if (server >= 64) return;
    for (const waiter& w : waiters_)
        if (w.server == server) {
            pooled_mask_ |= 1ull << server;
            return arm(true);
        }
}

void backend_limit::publish_wanted() noexcept
{
    if (!mine_) return;
    std::uint64_t mask = 0;
    for (const waiter& w : waiters_)
        if (w.server < 64) mask |= 1ull << w.server;
    if (mask != wanted_) mine_->wanted.store(wanted_ = mask, std::memory_order_relaxed);
}

std::uint64_t backend_limit::wanted_by_others() const
{
    std::uint64_t mask = 0;
    if (!seg_) return mask;
    for (std::size_t slot = 0; slot < shm::max_worker_slots; ++slot) {
        const shm::backend_usage* u = seg_->usage(slot);
        if (u && u != mine_) mask |= u->wanted.load(std::memory_order_relaxed);
    }
    return mask;
}

// The next tick: at once (a connection of this worker was freed), or at the
// next poll of the other workers or the first deadline, whichever is sooner.
void backend_limit::arm(bool now)
{
    if (!timer_ || waiters_.empty()) return;
    std::uint64_t wait_ns = 0;
    if (!now) {
        if (armed_now_) return;
        std::uint64_t t = common::monotonic_ns(), first = UINT64_MAX;
        for (const waiter& w : waiters_) first = std::min(first, w.deadline_ns);
        wait_ns = first > t ? std::min(first - t, poll_ns) : 0;
    }
    armed_now_ = armed_now_ || wait_ns == 0;
    timeval tv{time_t(wait_ns / 1'000'000'000u), suseconds_t(wait_ns % 1'000'000'000u / 1000u)};
    evtimer_add(timer_.get(), &tv);
}

void backend_limit::on_tick(evutil_socket_t, short, void* arg)
{
    static_cast<backend_limit*>(arg)->tick();
}

// Wakes, in arrival order, each waiter whose server has room now (it takes
// the connection itself, so the next one for that server sees it gone) or
// whose deadline passed. A woken waiter may wait again (another worker was
// quicker): it goes to the back.
void backend_limit::tick()
{
    armed_now_ = false;
    ticking_.clear();
    ticking_.swap(waiters_);
    std::uint64_t now = common::monotonic_ns();
    std::size_t kept = 0;
    for (std::size_t i = 0; i < ticking_.size(); ++i) {
        waiter w = ticking_[i];
        if (!w.who) continue;   // cancelled by an earlier waiter's callback
        ticking_[i].who = nullptr;
        std::uint64_t bit = w.server < 64 ? 1ull << w.server : 0;
        if (w.deadline_ns <= now) {
            w.who->connection_wait_expired();
        } else if (pooled_mask_ & bit) {   // one waiter per pooled connection
            pooled_mask_ &= ~bit;
            w.who->connection_free();
        } else if (!limit_ || open_total(w.server) < limit_) {
            w.who->connection_free();
        } else {
            waiters_.insert(waiters_.begin() + std::ptrdiff_t(std::min(kept++, waiters_.size())), w);
        }
    }
    ticking_.clear();
    pooled_mask_ = 0;
    publish_wanted();
    arm(false);
}

}   // namespace causeway::worker
