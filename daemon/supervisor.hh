// The supervisor: owns the configuration, the listening sockets and the table
// of child processes. It forks workers, the poller and (with admin_listen) the
// admin process, respawns the ones that die (with
// backoff; never one that exited for a fatal configuration error), reloads on
// SIGHUP by starting a new generation and draining the old one (nginx's
// sequence), and stops everything on SIGTERM/SIGINT (now) or SIGQUIT
// (gracefully). Signals arrive through a signalfd: no handlers at all.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/config.hh"
#include "common/unique_fd.hh"
#include "shm/segment.hh"
#include "worker/tls.hh"

namespace causeway::daemon {

// Exit status of a child that must not be respawned (bad configuration).
inline constexpr int exit_fatal_config = 2;

class supervisor {
public:
    // `admin_fd` listens on admin_listen, or is empty when that is off.
    // `tls` is the client TLS context made from `cfg` (empty: no TLS);
    // `backend_tls` the one for the servers (empty: backend_tls off everywhere).
    supervisor(common::config cfg, worker::tls_context tls, worker::tls_context backend_tls,
               common::unique_fd listen_fd, common::unique_fd admin_fd, shm::segment& seg);
    ~supervisor();
    // Runs until stopped; returns causewayd's exit status.
    int run();

private:
    enum class role : std::uint8_t {
        worker,
        poller,
        admin
    };
    // Slots of the single-process roles (workers use 0, 1, ...).
    static constexpr int poller_slot = -1;
    static constexpr int admin_slot = -2;
    struct child {
        pid_t pid = -1;
        role kind = role::worker;
        int slot = 0;   // worker number, unique among live workers; poller_slot, admin_slot
        unsigned generation = 0;
        std::uint64_t started_ms = 0;
        common::unique_fd ready_pipe;   // read end: one byte when the worker accepts
        bool ready = false;
        bool stopping = false;   // told to stop: not respawned
    };
    struct pending_spawn {
        int slot;
        std::uint64_t at_ms;
    };

    bool spawn(role kind, int slot);
    bool spawn_worker(int slot) { return spawn(role::worker, slot); }
    void spawn_poller();
    void spawn_admin();
    void replace_single(role kind);   // a reload: stop the running poller or admin
    void on_signal(int sig);
    void reap_children();
    void handle_child_exit(child& c, int status);
    void spawn_due();
    void check_ready();
    void check_segment();   // a damaged header: recreate the segment, restart the children
    void begin_reload();
    void retire_generation(unsigned generation, int sig);
    void stop_all(int sig);
    int free_slot() const;
    int poll_timeout_ms() const;

    std::unique_ptr<common::config> cfg_;
    // Client TLS of the current generation: certificates are read again on
    // each reload; forked workers keep the copy of their generation.
    worker::tls_context tls_;
    worker::tls_context backend_tls_;   // for the servers (backend_tls), likewise per generation
    common::unique_fd listen_fd_;
    common::unique_fd admin_fd_;
    shm::segment& seg_;
    common::unique_fd signal_fd_;
    common::unique_fd wake_fd_;   // eventfd: workers wake the poller when a read waits
    std::vector<std::unique_ptr<child>> children_;
    std::vector<pending_spawn> pending_;
    std::vector<unsigned> backoff_ms_;   // per slot, at slot + 2 (admin, poller, workers)
    unsigned generation_ = 1;
    bool reload_pending_ = false;   // a new generation is starting
    std::uint64_t reload_deadline_ms_ = 0;
    bool stopping_ = false;
    std::uint64_t stop_deadline_ms_ = 0;
    int stop_signal_ = 0;
};

}   // namespace causeway::daemon
