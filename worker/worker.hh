// A worker process: one libevent loop that accepts clients on the listening
// socket inherited from the supervisor and serves them until told to stop.
// Entered right after fork(); everything libevent is created here.
#pragma once

#include <cstdint>

#include "common/address.hh"
#include "common/config.hh"
#include "shm/layout.hh"
#include "shm/segment.hh"
#include "worker/libevent_raii.hh"

namespace causeway::worker {

class client_session;


// The state a worker's sessions share; passed to every session, never global.
struct worker_context {
    const common::config* cfg = nullptr;
    event_base* base = nullptr;
    int worker_id = 0;
    unsigned generation = 0;
    common::resolved_address primary_addr;
    std::uint32_t next_connection_id = 1;
    std::size_t active = 0;
    bool draining = false;
    client_session* sessions = nullptr;   // intrusive list, for shutdown
    shm::worker_counters* counters = nullptr;   // this worker's slot in the segment (single writer)
};

struct worker_start {
    const common::config* cfg;
    int listen_fd;
    int worker_id;
    unsigned generation;
    int ready_fd;   // the worker writes one byte here once it accepts, then closes it
    const shm::segment* seg;   // mapped by the supervisor before fork
};

// Runs the worker until it is stopped; returns the process exit status.
int run_worker(const worker_start& start);

}  // namespace causeway::worker
