// A worker process: one libevent loop that accepts clients on the listening
// socket inherited from the supervisor and serves them until told to stop.
// Entered right after fork(); everything libevent is created here.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "common/address.hh"
#include "common/config.hh"
#include "protocol/compress.hh"
#include "shm/layout.hh"
#include "shm/progress.hh"
#include "shm/segment.hh"
#include "shm/session_table.hh"
#include "worker/backend_limit.hh"
#include "worker/backend_pool.hh"
#include "worker/libevent_raii.hh"
#include "worker/login_throttle.hh"
#include "worker/noise_log.hh"
#include "worker/wait_clock.hh"

typedef struct ssl_ctx_st SSL_CTX;

namespace causeway::worker {

class client_session;

// The state a worker's sessions share; passed to every session, never global.
struct worker_context {
    const common::config* cfg = nullptr;
    event_base* base = nullptr;
    int worker_id = 0;
    unsigned generation = 0;
    // This worker's pid, read once: every client session's CONNECTION key
    // carries it, and getpid() is a system call per connection otherwise.
    std::uint32_t pid = 0;
    // Per progress-block index: [0] the [primary] of the config (the primary
    // role before the poller has published one), [1 + i] read slot i
    // (config::read_slots()). The primary's address is resolved per
    // connection from the role block (worker/topology_view.hh).
    std::vector<common::backend_config> servers;
    std::vector<common::resolved_address> backend_addrs;
    std::vector<std::uint64_t> backend_ids;   // shm::backend_identity of each
    std::vector<unsigned> outstanding;   // reads in flight per backend (this worker)
    unsigned read_cursor = 0;   // where the next read's replica scan starts: rotates across sessions
    std::vector<std::uint64_t> avoid_until_ns;   // a replica that just failed us is skipped until then
    shm::progress_block progress;
    shm::role_view roles;
    shm::session_table table;
    std::uint32_t next_connection_id = 1;
    std::size_t active = 0;
    bool draining = false;
    client_session* sessions = nullptr;   // intrusive list, for shutdown
    shm::worker_counters* counters = nullptr;   // this worker's slot in the segment (single writer)
    shm::statement_board* board = nullptr;   // this worker's running statements (single writer)
    shm::worker_stats* stats = nullptr;   // this worker's histograms and per-command counts (single writer)
    const shm::segment* seg = nullptr;   // other workers' boards, for KILL QUERY
    int wake_fd = -1;   // a write tells the poller that a read waits
    wait_clock waits;   // ticks for reads waiting for a replica
    // Before the pool: pooled connections hold leases on it until the pool goes.
    backend_limit limit;   // open server connections per server, across workers
    backend_pool pool;   // idle backend connections for the next clients
    SSL_CTX* tls = nullptr;   // client TLS of this generation; null: not offered
    SSL_CTX* backend_tls = nullptr;   // backend_tls of this generation; null: every server is off
    login_throttle throttle;   // failed logins per client address
    shm::account_store accounts;   // users_from_primary (read only here)
    noise_log noise;   // per-client log lines, rate-limited per address
    // Deflate and inflate states for every compressing client of this worker
    // (one at a time: the loop is single-threaded); made by the first one.
    std::unique_ptr<protocol::zlib_codec> zlib;

    // A replica that refused or dropped a connection is not tried again for a
    // second by this worker (the poller decides for everyone).
    void replica_failed(int index, std::uint64_t now_ns) { avoid_until_ns[std::size_t(index)] = now_ns + 1000000000u; }
};

// Connection ids Causeway gives its clients: bit 30 set, then the worker slot
// and a counter. Server thread ids stay far below 2^30, so a KILL of one of
// ours is recognised and never reaches a server as someone else's thread.
inline constexpr std::uint32_t proxy_id_bit = 1u << 30;
inline std::uint32_t proxy_connection_id(int worker_id, std::uint32_t counter)
{
    return proxy_id_bit | (std::uint32_t(worker_id & 0xff) << 22) | (counter & 0x3fffff);
}
inline int worker_of_connection(std::uint32_t id)
{
    return int((id >> 22) & 0xff);
}

struct worker_start {
    const common::config* cfg;
    int listen_fd;
    int worker_id;
    unsigned generation;
    int ready_fd;   // the worker writes one byte here once it accepts, then closes it
    const shm::segment* seg;   // mapped by the supervisor before fork
    int wake_fd;   // eventfd to the poller (-1: none)
    SSL_CTX* tls = nullptr;   // made by the supervisor for this generation (null: no TLS)
    SSL_CTX* backend_tls = nullptr;   // likewise, for the servers (null: backend_tls off everywhere)
};

// Runs the worker until it is stopped; returns the process exit status.
int run_worker(const worker_start& start);

}   // namespace causeway::worker
