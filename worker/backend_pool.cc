// The worker's pool of idle backend connections (see backend_pool.hh).
#include "worker/backend_pool.hh"

#include <sys/socket.h>

#include <algorithm>

#include "common/clock.hh"
#include "common/log.hh"
#include "protocol/constants.hh"
#include "shm/counters.hh"

namespace causeway::worker {

namespace {
void free_later(evutil_socket_t, short, void* arg)
{
    delete static_cast<backend_conn*>(arg);
}
}   // namespace

void free_from_loop(event_base* base, backend_conn* b)
{
    b->quiesce();
    // Its server connection ends now (the socket closes at the next turn of
    // the loop): a client waiting for a place may take it at once.
    b->release_lease();
    timeval now{0, 0};
    event_base_once(base, -1, EV_TIMEOUT, free_later, b, &now);
}

void send_quit(backend_conn& b)
{
    static const char quit[] = {1, 0, 0, 0, char(protocol::command::quit)};
    ssize_t ignored = ::send(b.chan().fd(), quit, sizeof quit, MSG_DONTWAIT | MSG_NOSIGNAL);
    (void)ignored;
}

backend_pool::~backend_pool()
{
    clear();
}

void backend_pool::configure(event_base* base, const settings& s, shm::backend_usage* counters, backend_limit* limit)
{
    limit_ = limit;
    base_ = base;
    max_idle_ = s.max_idle_per_server;
    idle_timeout_ns_ = s.idle_timeout_ms * 1000000u;
    ping_after_ns_ = s.ping_after_ms * 1000000u;
    check_timeout_ms_ = s.check_timeout_ms;
    counters_ = counters;
    if (!max_idle_) return;
    sweep_.reset(event_new(base, -1, EV_PERSIST, on_sweep, this));
    // Under max_backend_connections_per_server, idle connections another
    // worker's clients wait for are given up within 50 ms.
    timeval every{limit && limit->limit() ? 0 : 1, limit && limit->limit() ? 50000 : 0};
    event_add(sweep_.get(), &every);
}

void backend_pool::put(key k, std::unique_ptr<backend_conn> conn, const std::string* session)
{
    std::size_t same_server =
        std::count_if(entries_.begin(), entries_.end(), [&](const entry& e) { return e.k.index == k.index; });
    if (!max_idle_ || same_server >= max_idle_) {
        send_quit(*conn);
        free_from_loop(base_, conn.release());
        return;
    }
    conn->set_events(*this);
    if (!session) conn->send_internal("\x1f");   // COM_RESET_CONNECTION
    int server = k.server;
    entries_.push_back({std::move(k), std::move(conn), common::monotonic_ns(), session != nullptr,
                        session ? *session : std::string()});
    if (limit_) limit_->pooled(std::size_t(server));
}

std::unique_ptr<backend_conn> backend_pool::take(const key& k, bool other_user, std::string_view session, taken* how)
{
    taken ignored;
    taken& result = how ? *how : ignored;
    // One kept as it was with this very session state needs nothing at all.
    for (std::size_t i = entries_.size(); i-- > 0;) {
        const entry& e = entries_[i];
        if (!e.unchanged || e.session != session || !(e.k == k) || !e.conn->ready()) continue;
        if (std::unique_ptr<backend_conn> c = hand_out(i)) {
            result = taken::same_session;
            return c;
        }
        break;   // dropped (dead): any other will do
    }
    // The most recently used: its server thread is the warmest. Another
    // user's (pool_change_user) only when none of the client's own is kept.
    for (int pass = 0; pass < (other_user ? 2 : 1); ++pass) {
        for (std::size_t i = entries_.size(); i-- > 0;) {
            const key& e = entries_[i].k;
            bool fits = pass == 0 ? e == k
                                  : e.index == k.index && e.server == k.server && e.charset == k.charset &&
                    e.capabilities == k.capabilities && e.mariadb_capabilities == k.mariadb_capabilities;
            if (!fits || !entries_[i].conn->ready()) continue;
            // Another user's is switched at once (COM_CHANGE_USER): only one
            // with nothing pending and no check due.
            const backend_conn& b = *entries_[i].conn;
            if (pass == 1 &&
                (b.internal_pending() || evbuffer_get_length(b.input()) ||
                 common::monotonic_ns() - entries_[i].idle_since_ns >= ping_after_ns_))
                continue;
            bool unchanged = entries_[i].unchanged;
            if (std::unique_ptr<backend_conn> c = hand_out(i)) {
                result = unchanged ? taken::other_session : taken::reset;
                return c;
            }
            i = entries_.size();   // one was dropped: look again from the newest
        }
    }
    return nullptr;
}

// Takes entry i out of the pool; a connection idle past ping_after_ns_
// comes checking(). Null when it had to be dropped instead.
std::unique_ptr<backend_conn> backend_pool::hand_out(std::size_t i)
{
    std::unique_ptr<backend_conn> c = std::move(entries_[i].conn);
    bool stale = common::monotonic_ns() - entries_[i].idle_since_ns >= ping_after_ns_;
    entries_.erase(entries_.begin() + std::ptrdiff_t(i));
    if (!stale) return c;
    // A connection whose end the worker never read (a host or network path
    // gone without a FIN) would fail the client's first command. Its reset
    // was answered long ago; if not, something is wrong.
    if (c->internal_pending() || evbuffer_get_length(c->input())) {
        free_from_loop(base_, c.release());
        return nullptr;
    }
    if (counters_) shm::add(counters_->pool_pings);
    c->start_check(check_timeout_ms_);
    return c;
}

bool backend_pool::evict(int server)
{
    auto it = std::find_if(entries_.begin(), entries_.end(), [&](const entry& e) { return e.k.server == server; });
    if (it == entries_.end()) return false;
    send_quit(*it->conn);
    it->conn->quiesce();
    entries_.erase(it);   // the connection and its count go now
    if (counters_) shm::add(counters_->pool_evictions);
    return true;
}

void backend_pool::clear()
{
    for (auto& e : entries_) {
        send_quit(*e.conn);
        e.conn->quiesce();
    }
    entries_.clear();
}

void backend_pool::backend_readable(backend_conn& b)
{
    internal_answer a;
    bool broken = false;
    while (b.next_internal_answer(a, broken)) {
        if (!a.ok) {
            static common::log_rate_limit limit;
            if (limit.allow())
                CW_LOG(LOG_WARNING, "%s: resetting a pooled connection failed: %s", b.describe().c_str(),
                       a.error.c_str());
            return drop(b);
        }
    }
    if (broken || (b.internal_pending() == 0 && evbuffer_get_length(b.input()) > 0)) drop(b);
}

// Forgets `b` and frees it from the event loop (its callbacks may be running).
void backend_pool::drop(backend_conn& b)
{
    auto it = std::find_if(entries_.begin(), entries_.end(), [&](const entry& e) { return e.conn.get() == &b; });
    if (it == entries_.end()) return;
    backend_conn* c = it->conn.release();
    entries_.erase(it);
    free_from_loop(base_, c);
}

void backend_pool::on_sweep(evutil_socket_t, short, void* arg)
{
    auto& self = *static_cast<backend_pool*>(arg);
    if (self.limit_ && self.limit_->limit() && !self.entries_.empty()) {
        std::uint64_t wanted = self.limit_->wanted_by_others();
        for (int server = 0; server < 64 && wanted; ++server)
            if (wanted & (1ull << server)) self.evict(server);
    }
    std::uint64_t now = common::monotonic_ns();
    std::erase_if(self.entries_, [&](entry& e) {
        if (now - e.idle_since_ns < self.idle_timeout_ns_) return false;
        send_quit(*e.conn);
        e.conn->quiesce();
        return true;
    });
}

}   // namespace causeway::worker
