// Idle backend connections of one worker, kept when their client leaves so
// that the next client of the same user, database and character set skips the
// server login (PHP and other connect-per-request clients). A connection
// enters reset with COM_RESET_CONNECTION (the server then rolls back, drops
// temporary tables, prepared statements, user variables and locks, and resets
// session variables) and with last_gtid tracking set again on a primary; it
// leaves as it would be after a fresh login. While idle the pool owns it and
// is told what happens to it; a connection that answers anything unexpected,
// closes, or stays idle past the timeout is closed.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "shm/layout.hh"
#include "worker/backend_conn.hh"
#include "worker/libevent_raii.hh"

namespace causeway::worker {

class backend_pool final : private backend_events {
public:
    // What a client needs of a connection to take it as its own.
    struct key {
        int index = 0;   // the session's backend slot: 0 the primary role, else a read slot
        int server = 0;   // the server behind it (the primary role moves between servers)
        std::string user;
        std::string database;   // current database when it was put back
        std::uint8_t charset = 0;   // of the login (what a reset returns to)
        std::uint32_t capabilities = 0;   // negotiated with the client
        std::uint32_t mariadb_capabilities = 0;
        bool operator==(const key&) const = default;
    };

    backend_pool() = default;
    ~backend_pool();
    backend_pool(const backend_pool&) = delete;
    backend_pool& operator=(const backend_pool&) = delete;

    struct settings {
        std::size_t max_idle_per_server = 0;   // 0: no pool (put() closes)
        std::uint64_t idle_timeout_ms = 0;
        std::uint64_t ping_after_ms = 0;   // idle longer: checked with COM_PING when taken
        int check_timeout_ms = 0;   // ... and dead if it does not answer in this time
    };
    // `counters`: where pings are counted (this worker's shm::backend_usage;
    // may be null). `limit`: told of connections put back (its waiters take
    // them), and asked which servers other workers' clients wait for.
    void configure(event_base* base, const settings& s, shm::backend_usage* counters, backend_limit* limit);
    // Takes an idle, ready connection whose client has gone: reset and kept, or closed.
    // `session` non-null: its client stays (pool_mode = statement) and ran
    // nothing on it but plain reads, the last without warnings, after the
    // session state in `*session` (its replay log, see replay_fingerprint()):
    // kept as it is, without a reset (its current database is the key's).
    // A reset connection's taker sets up its session again (for a primary:
    // client_session::track_session).
    void put(key k, std::unique_ptr<backend_conn> conn, const std::string* session = nullptr);
    // A kept connection for `k`, or null. Its reset's answers may still be on
    // their way: the new owner reads them as its own internal answers. One
    // idle past ping_after_ms comes checking() (see backend_conn::start_check).
    // With `other_user`, a connection of another user (and any database) is
    // taken when none fits: the taker switches it with COM_CHANGE_USER.
    // One kept without a reset and with `session` state is preferred: the
    // taker then sends nothing before its command. `*how` (if given) says
    // what the taker must do first.
    enum class taken : std::uint8_t {
        reset,   // reset when put back: select the database, replay the session
        same_session,   // kept as it was, with the taker's session state: nothing
        other_session,   // kept as it was with another: reset it, then as `reset`
    };
    std::unique_ptr<backend_conn> take(const key& k, bool other_user = false, std::string_view session = {},
                                       taken* how = nullptr);
    // Closes the longest idle connection to `server` (max_backend_connections_per_server
    // needs its place for another client); false when there is none.
    bool evict(int server);
    // Closes every idle connection (a draining worker).
    void clear();
    std::size_t size() const { return entries_.size(); }

private:
    struct entry {
        key k;
        std::unique_ptr<backend_conn> conn;
        std::uint64_t idle_since_ns;
        bool unchanged = false;   // put back without a reset (see put())
        std::string session;   // ... and the session state it carries
    };
    void backend_ready(backend_conn&) override {}
    void backend_login_failed(backend_conn& b, const std::string&, const std::string&) override { drop(b); }
    void backend_readable(backend_conn& b) override;
    void backend_writable(backend_conn&) override {}
    void backend_closed(backend_conn& b, const std::string&) override { drop(b); }
    void drop(backend_conn& b);
    std::unique_ptr<backend_conn> hand_out(std::size_t i);
    static void on_sweep(evutil_socket_t, short, void* arg);

    event_base* base_ = nullptr;
    std::size_t max_idle_ = 0;
    std::uint64_t idle_timeout_ns_ = 0;
    std::uint64_t ping_after_ns_ = 0;
    int check_timeout_ms_ = 0;
    shm::backend_usage* counters_ = nullptr;
    backend_limit* limit_ = nullptr;
    event_ptr sweep_;
    std::vector<entry> entries_;
};

// Closes an idle, logged-in server connection the way a client does (COM_QUIT):
// the server then counts no aborted connection and logs no warning.
void send_quit(backend_conn& b);
// Stops `b`'s callbacks and frees it from the event loop: one of them may be
// running now.
void free_from_loop(event_base* base, backend_conn* b);

}   // namespace causeway::worker
