// One connection from a worker to a MariaDB server, logged in with the
// client's credentials. It owns the socket and runs the login exchange; once
// ready, the client session drives it (it reads and writes the channel
// directly to relay packets without copies).
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <string>

#include "common/address.hh"
#include "common/config.hh"
#include "protocol/answer_digest.hh"
#include "protocol/constants.hh"
#include "protocol/handshake.hh"
#include "protocol/response.hh"
#include "worker/backend_limit.hh"
#include "worker/channel.hh"
#include "worker/libevent_raii.hh"

namespace causeway::worker {

class backend_conn;

// Who is told what happens to a backend connection.
class backend_events {
public:
    virtual void backend_ready(backend_conn& b) = 0;
    // The login failed. `server_error` is the server's own ERR payload when it
    // refused us (forward it), else empty and `why` says what failed.
    virtual void backend_login_failed(backend_conn& b, const std::string& why, const std::string& server_error) = 0;
    virtual void backend_readable(backend_conn& b) = 0;
    virtual void backend_writable(backend_conn& b) = 0;
    // EOF or a socket error after login.
    virtual void backend_closed(backend_conn& b, const std::string& why) = 0;

protected:
    ~backend_events() = default;
};

struct login_params {
    std::string user;
    std::string password;   // clear (the poller's monitor account)
    // SHA1(password), 20 bytes: what a client's login proved; used instead of
    // `password` when set, so that a [users] entry may hold only a hash.
    std::string password_sha1;
    std::string database;
    std::uint8_t charset = 0;
    std::uint32_t client_capabilities = 0;   // what the client negotiated with us
    std::uint32_t client_mariadb_capabilities = 0;   // ... of MariaDB's extended ones
    std::string connect_attrs;
    bool track_gtid = true;   // ask for session tracking: each write's GTID comes in its OK
    // backend_tls: TLS with this client context (null: plain). A server that
    // does not offer TLS then fails the login; there is no plain fallback.
    SSL_CTX* tls_ctx = nullptr;
    bool tls_verify = false;   // ... and its certificate must name the server's host
};

// Sets p's TLS for connections to `server` (a read_slots() name) as the
// config's backend_tls says, with `ctx` the generation's backend context.
void use_backend_tls(login_params& p, const common::config& cfg, const std::string& server, SSL_CTX* ctx);

// The answer to a command the proxy sent for itself (see send_internal).
struct internal_answer {
    std::uint64_t tag = 0;
    bool ok = false;   // not an ERR
    std::uint32_t statement_id = 0;   // COM_STMT_PREPARE
    std::string error;   // the server's message when !ok
    std::string value;   // a query's first column of its first row
    std::uint64_t digest = 0;   // protocol::answer_digest of the whole answer
    std::uint16_t status = 0;   // the server status of its last OK/EOF
    bool status_seen = false;
    bool has_value = false;   // a row came
    bool value_null = false;   // ... and that column was NULL
};

class backend_conn {
public:
    // backend_closed()'s `why` when the channel's timer fired (a wait or
    // replica_read_timeout_ms ran out), as opposed to an EOF or an error.
    static constexpr const char* timeout_reason = "did not answer in time";
    // `index` is the backend's place in the progress block: 0 the primary, 1 + i replica i.
    backend_conn(event_base* base, int index, std::string name, const common::address& addr, backend_events& events);
    backend_conn(const backend_conn&) = delete;
    backend_conn& operator=(const backend_conn&) = delete;

    // Starts a non-blocking connect and login; the outcome arrives through
    // backend_events. Times out after `timeout_ms`. false (and no event): the
    // connection could not even be started (out of sockets).
    [[nodiscard]] bool start(const common::resolved_address& addr, const login_params& params, int timeout_ms);

    bool ready() const { return state_ == state::ready; }
    // A pooled connection idle too long (pool_ping_after_s): COM_PING before
    // it is used. Until the answer it is not ready(); then backend_ready, or
    // backend_login_failed with checking() still true: it is dead, and the
    // owner gets another one (the client must not see this one's failure).
    // Only for a ready connection with nothing pending.
    void start_check(int timeout_ms);
    bool checking() const { return checking_; }
    // Switches a ready connection with nothing pending to another user with
    // COM_CHANGE_USER (the server resets the session as at a login). Until
    // the server's OK it is not ready(), as during a login; then
    // backend_ready, or backend_login_failed with the server's ERR. `p` as
    // for start().
    void change_user(const login_params& p, int timeout_ms);
    // The count of this connection against max_backend_connections_per_server.
    void hold(server_lease lease) { lease_ = std::move(lease); }
    void release_lease() { lease_.reset(); }
    // Who is told from now on (a pooled connection changes hands).
    void set_events(backend_events& events) { events_ = &events; }
    const login_params& params() const { return params_; }
    int index() const { return index_; }
    const std::string& name() const { return name_; }
    std::string describe() const;   // "primary (127.0.0.1:3306)"
    std::uint32_t capabilities() const { return capabilities_; }
    std::uint32_t server_connection_id() const { return server_connection_id_; }
    const std::string& server_version() const { return server_version_; }   // from its greeting
    // The login failed for TLS: the server did not offer it, or the handshake
    // (certificate check included) failed. Counted apart by the owners.
    bool tls_failed() const { return tls_failed_; }
    std::uint8_t server_charset() const { return server_charset_; }   // its default collation, likewise
    // Sends a command whose answer the proxy consumes itself: session state
    // replayed on a replica, the last_gtid tracking setup, a lazy prepare.
    // Answers come in order, before that of any command sent after it.
    void send_internal(std::string_view payload, std::uint64_t tag = 0);
    // Sends a command that has no answer (COM_STMT_CLOSE).
    void send_no_answer(std::string_view payload);
    std::size_t internal_pending() const { return internal_.size(); }
    // Takes the next complete internal answer off the input: false when the
    // next one has not fully arrived (or none is pending), or the bytes are
    // not a valid answer (then `broken` is set).
    bool next_internal_answer(internal_answer& out, bool& broken);

    channel& chan() const { return *chan_; }
    evbuffer* input() const { return chan_->input(); }
    evbuffer* output() const { return chan_->output(); }
    // Sends `pkt` (framed) after the current callbacks.
    void write(std::string_view pkt) { chan_->write(pkt.data(), pkt.size()); }
    // Stops every callback: the owner retires this connection.
    void quiesce() { chan_->quiesce(); }

private:
    enum class state : std::uint8_t {
        idle,
        connecting,
        greeting,
        auth_sent,
        ready,
        checking,   // a pooled connection's COM_PING is out
        failed
    };
    static void on_read(channel&, void* arg);
    static void on_drained(channel&, void* arg);
    static void on_event(channel&, short what, void* arg);
    void login_step();
    void check_step();
    void become_ready();
    void fail(const std::string& why, const std::string& server_error = {});
    void answer_greeting(const protocol::server_greeting& g);
    bool upgrade_to_tls(const protocol::handshake_response& r);

    event_base* base_;
    int index_;
    std::string name_;
    common::address addr_;
    backend_events* events_;
    std::unique_ptr<channel> chan_;
    state state_ = state::idle;
    login_params params_;
    std::uint32_t capabilities_ = 0;
    std::uint32_t server_connection_id_ = 0;
    std::string server_version_;
    std::uint8_t server_charset_ = 0;
    std::string scramble_;   // of the greeting: COM_CHANGE_USER's token answers it
    std::uint8_t next_seq_ = 0;
    bool tls_failed_ = false;
    struct internal_command {
        protocol::command cmd;
        std::uint64_t tag;
    };
    std::deque<internal_command> internal_;
    protocol::response_tracker internal_tracker_;
    protocol::answer_digest internal_digest_;
    bool internal_started_ = false;
    internal_answer internal_partial_;
    std::uint64_t internal_data_packets_ = 0;   // of the answer being read: count, definitions, rows
    std::uint64_t internal_columns_ = 0;
    std::string after_login_;   // internal commands queued before the login completed (or the check)
    bool checking_ = false;
    server_lease lease_;
};

}   // namespace causeway::worker
