// max_backend_connections_per_server: the count of server connections every
// worker holds open, per server, and the clients of this worker that wait for
// one to be freed. Each worker counts its own connections in its slot of the
// segment (shm::backend_usage); the limit is checked against the sum of all
// slots. Not here: which connection a client gets (backend_pool, open_backend).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "shm/layout.hh"
#include "shm/segment.hh"
#include "worker/libevent_raii.hh"

namespace causeway::worker {

class backend_limit;

// One open server connection, counted while it lives. Move-only; the count
// goes down when it is reset or destroyed, whoever owns it then (a session,
// the pool), so no path that frees a connection can forget it.
class server_lease {
public:
    server_lease() = default;
    server_lease(server_lease&& o) noexcept : owner_(o.owner_), server_(o.server_) { o.owner_ = nullptr; }
    server_lease& operator=(server_lease&& o) noexcept;
    server_lease(const server_lease&) = delete;
    server_lease& operator=(const server_lease&) = delete;
    ~server_lease() { reset(); }

    explicit operator bool() const noexcept { return owner_ != nullptr; }
    std::size_t server() const noexcept { return server_; }
    void reset() noexcept;

private:
    friend class backend_limit;
    server_lease(backend_limit* owner, std::size_t server) noexcept : owner_(owner), server_(server) {}
    backend_limit* owner_ = nullptr;
    std::size_t server_ = 0;
};

// Told when its wait ends: a connection to its server may be free now (try
// again: another waiter may have been quicker), or pool_wait_ms has passed.
class limit_waiter {
public:
    virtual void connection_free() = 0;
    virtual void connection_wait_expired() = 0;

protected:
    ~limit_waiter() = default;
};

class backend_limit {
public:
    backend_limit() = default;
    backend_limit(const backend_limit&) = delete;
    backend_limit& operator=(const backend_limit&) = delete;

    // limit 0: none (connections are still counted, for causewayctl).
    void configure(event_base* base, const shm::segment* seg, shm::backend_usage* mine, std::size_t limit);
    std::size_t limit() const noexcept { return limit_; }
    shm::backend_usage* usage() const noexcept { return mine_; }

    // Counts one more connection to `server`, or an empty lease when that
    // would pass the limit (counted across workers).
    server_lease acquire(std::size_t server);
    // Connections to `server` open in all workers now.
    std::uint64_t open_total(std::size_t server) const;

    // `w` waits for a connection to `server` until `deadline_ns`
    // (CLOCK_MONOTONIC). Exactly one of its callbacks follows, unless cancel().
    void wait(limit_waiter& w, std::size_t server, std::uint64_t deadline_ns);
    void cancel(limit_waiter& w);
    // A connection to `server` went into this worker's pool: the first waiter
    // for that server is woken (it takes it, or closes it to make room).
    void pooled(std::size_t server);
    // Servers (bit s) that clients of other workers wait for.
    std::uint64_t wanted_by_others() const;
    std::size_t waiting() const noexcept { return waiters_.size(); }

private:
    friend class server_lease;
    struct waiter {
        limit_waiter* who;
        std::size_t server;
        std::uint64_t deadline_ns;
    };
    void release(std::size_t server) noexcept;
    void publish_wanted() noexcept;
    void arm(bool now);
    static void on_tick(evutil_socket_t, short, void* arg);
    void tick();

    event_base* base_ = nullptr;
    const shm::segment* seg_ = nullptr;
    shm::backend_usage* mine_ = nullptr;
    std::size_t limit_ = 0;
    event_ptr timer_;
    bool armed_now_ = false;
    std::uint64_t pooled_mask_ = 0;   // bit s: a connection to s was pooled since the last tick
    std::uint64_t wanted_ = 0;   // what this worker last published in usage()->wanted
    std::vector<waiter> waiters_;   // in arrival order: the first one for a server is woken first
    std::vector<waiter> ticking_;   // those tick() is going through (cancel() clears `who` there)
};

}   // namespace causeway::worker
