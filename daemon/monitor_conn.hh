// A monitoring connection of the poller to one server: logs in with the
// [monitor] credentials (reusing the worker's backend login), runs one small
// query at a time with a deadline, and hands back the decoded answer. A query
// that misses its deadline closes the connection: a frozen server must never
// delay the polling of the others.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/address.hh"
#include "common/result.hh"
#include "protocol/response.hh"
#include "protocol/small_result.hh"
#include "worker/backend_conn.hh"
#include "worker/libevent_raii.hh"

namespace causeway::daemon {

class monitor_conn;

class monitor_events {
public:
    virtual void monitor_up(monitor_conn& m) = 0;
    virtual void monitor_answer(monitor_conn& m, protocol::small_result& answer, std::uint64_t round_trip_ns) = 0;
    virtual void monitor_down(monitor_conn& m, const std::string& why) = 0;
    // The answer is late (past the soft deadline) but the connection stays
    // open until the hard one: the server counts as down meanwhile.
    virtual void monitor_late(monitor_conn& m) = 0;

protected:
    ~monitor_events() = default;
};

class monitor_conn final : private worker::backend_events {
public:
    monitor_conn(event_base* base, int index, std::string name, const common::address& addr, monitor_events& events);
    ~monitor_conn();

    // TLS for every connect() from now on (see worker::use_backend_tls).
    void use_tls(SSL_CTX* ctx, bool verify)
    {
        tls_ctx_ = ctx;
        tls_verify_ = verify;
    }
    void connect(const std::string& user, const std::string& password, int timeout_ms);
    // The largest answer accepted (default 1 MiB): past it the connection fails.
    void set_max_answer_bytes(std::size_t n) { max_answer_bytes_ = n; }
    bool ready() const { return conn_ && conn_->ready() && !busy_; }
    bool connected() const { return conn_ && conn_->ready(); }
    bool connecting() const { return conn_ && !conn_->ready(); }
    // Sends a query; false when not ready. Past `late_ms` monitor_late() is
    // called; the answer or a failure comes back through monitor_events
    // within `timeout_ms`.
    bool query(const std::string& sql, int late_ms, int timeout_ms);
    void close();

    int index() const { return index_; }
    // The server's version string from its greeting; empty before the login.
    std::string server_version() const { return conn_ ? conn_->server_version() : std::string(); }
    std::uint8_t server_charset() const { return conn_ ? conn_->server_charset() : 0; }
    const std::string& name() const { return name_; }
    std::string describe() const { return name_ + " (" + addr_.to_string() + ")"; }

private:
    void backend_ready(worker::backend_conn& b) override;
    void backend_login_failed(worker::backend_conn& b, const std::string& why,
                              const std::string& server_error) override;
    void backend_readable(worker::backend_conn& b) override;
    void backend_writable(worker::backend_conn&) override {}
    void backend_closed(worker::backend_conn& b, const std::string& why) override;
    static void on_timeout(evutil_socket_t, short, void* arg);
    void fail(const std::string& why);

    event_base* base_;
    int index_;
    std::string name_;
    common::address addr_;
    common::resolved_address resolved_;
    monitor_events& events_;
    std::unique_ptr<worker::backend_conn> conn_;
    worker::event_ptr timer_;
    protocol::response_tracker tracker_;
    std::vector<std::string> packets_;
    std::size_t answer_bytes_ = 0;
    std::size_t max_answer_bytes_ = 1u << 20;
    std::uint64_t sent_ns_ = 0;
    SSL_CTX* tls_ctx_ = nullptr;
    bool tls_verify_ = false;
    bool busy_ = false;
    bool late_ = false;   // the soft deadline passed
    int hard_left_ms_ = 0;   // from the soft to the hard deadline
};

}   // namespace causeway::daemon
