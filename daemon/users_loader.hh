// users_from_primary, in the poller: every users_refresh_s (and as soon as a
// new poller starts, so at once after a SIGHUP) it logs in to the current
// primary with the [monitor] account on a connection of its own, reads the
// accounts from mysql.global_priv and publishes them in the segment
// (shm/accounts.hh). A failed refresh keeps the previous set and is retried
// within seconds, and a login the loaded accounts refuse asks for a load at
// once (a user created a moment ago). Not here: how a login uses them (worker/client_auth.cc).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/config.hh"
#include "common/log.hh"
#include "daemon/monitor_conn.hh"
#include "shm/accounts.hh"

typedef struct ssl_ctx_st SSL_CTX;

namespace causeway::daemon {

// The query and its minimal grant (causeway.ini(5)): SELECT ON
// mysql.global_priv. mysql.user is a view over that table, and reading the
// view also needs SELECT on the view.
extern const char* const accounts_query;

// The accounts in one answer of accounts_query (rows of user, host, plugin,
// authentication_string, account_locked, password_last_changed, is_role).
// Roles are left out; an account using another plugin, or whose stored
// string is not a mysql_native_password hash, is kept but flagged, so that it
// still takes the logins the server would give it (and refuses them).
std::vector<shm::account> parse_accounts(const protocol::small_result& answer);

class users_loader final : private monitor_events {
public:
    users_loader(const common::config& cfg, event_base* base, shm::account_store store, SSL_CTX* backend_tls);
    ~users_loader();

    // The poller's round: `primary` is the server that is the primary now
    // (nullptr: none). Starts a refresh when one is due.
    void tick(const common::backend_config* primary, std::uint64_t now_ns);

private:
    void monitor_up(monitor_conn& m) override;
    void monitor_answer(monitor_conn& m, protocol::small_result& answer, std::uint64_t round_trip_ns) override;
    void monitor_down(monitor_conn& m, const std::string& why) override;
    void monitor_late(monitor_conn&) override {}
    void failed(const std::string& why);
    int timeout_ms() const;

    const common::config& cfg_;
    event_base* base_;
    shm::account_store store_;
    SSL_CTX* backend_tls_;
    std::unique_ptr<monitor_conn> conn_;
    bool in_flight_ = false;
    bool done_ = false;   // conn_ finished (answer or failure): closed at the next tick
    std::uint64_t next_ns_ = 0;   // the next refresh is due then
    std::uint64_t last_start_ns_ = 0;
    std::uint64_t requests_at_start_ = 0;   // refresh requests seen when the attempt in flight started
    bool forced_ = false;   // that attempt started early, for requests
    std::size_t last_count_ = ~std::size_t(0);
    common::log_rate_limit log_limit_{2};
};

}   // namespace causeway::daemon
