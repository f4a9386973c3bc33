// Loading the accounts from the primary (see users_loader.hh). The hashes
// read here are never logged: lines name counts and errors only.
#include "daemon/users_loader.hh"

#include <algorithm>

#include "common/clock.hh"
#include "protocol/auth.hh"

namespace causeway::daemon {

const char* const accounts_query =
    "SELECT User, Host, JSON_VALUE(Priv, '$.plugin'), JSON_VALUE(Priv, '$.authentication_string'), "
    "JSON_VALUE(Priv, '$.account_locked'), JSON_VALUE(Priv, '$.password_last_changed'), "
    "JSON_VALUE(Priv, '$.is_role') FROM mysql.global_priv";

namespace {

// A failed refresh (or the first load) is tried again this soon, however
// long users_refresh_s is: logins of loaded accounts wait for the first.
constexpr int retry_s = 2;
// A refused login asks for a load at once (shm::account_store::
// request_refresh), but a stream of bad logins never reads the primary's
// accounts more often than this.
constexpr std::uint64_t forced_refresh_gap_ns = 200'000'000;
// Bytes of answer per account allowed: user, host, hash and flags as text.
constexpr std::size_t answer_bytes_per_account = 1024;

bool json_true(const std::optional<std::string>& v)
{
    return v && (*v == "true" || *v == "1");
}

}   // namespace

std::vector<shm::account> parse_accounts(const protocol::small_result& answer)
{
    std::vector<shm::account> out;
    for (const auto& row : answer.rows) {
        if (row.size() < 7 || !row[0] || !row[1]) continue;
        if (json_true(row[6])) continue;   // a role: nobody logs in as it
        shm::account a;
        a.user = *row[0];
        a.host = *row[1];
        std::string plugin = row[2].value_or("");
        a.hash = row[3].value_or("");
        // Rows written before 10.4 carry no plugin: the server reads them as
        // mysql_native_password.
        if (!plugin.empty() && plugin != protocol::native_password_plugin) {
            a.flags |= shm::account_other_plugin;
            a.hash.clear();
        } else if (!a.hash.empty() && !protocol::is_native_password_hash(a.hash)) {
            a.flags |= shm::account_bad_hash;   // e.g. root's "invalid" beside unix_socket
            a.hash.clear();
        }
        if (json_true(row[4])) a.flags |= shm::account_locked;
        if (row[5] && *row[5] == "0") a.flags |= shm::account_expired;   // PASSWORD EXPIRE
        out.push_back(std::move(a));
    }
    return out;
}

users_loader::users_loader(const common::config& cfg, event_base* base, shm::account_store store, SSL_CTX* backend_tls)
    : cfg_(cfg), base_(base), store_(store), backend_tls_(backend_tls)
{
}

users_loader::~users_loader() = default;

int users_loader::timeout_ms() const
{
    return std::max(cfg_.connect_timeout_ms, 1000) + 5000;
}

void users_loader::tick(const common::backend_config* primary, std::uint64_t now_ns)
{
    if (!cfg_.users_from_primary) return;
    if (done_) {   // closed here, outside the connection's own callbacks
        if (conn_) conn_->close();
        conn_.reset();
        done_ = false;
    }
    if (in_flight_) return;
    std::uint64_t requests = store_.refresh_requests();
    if (!primary) {
        // Nothing to load from: the logins waiting for a load get their answer now.
        store_.answer_requests(requests, false);
        return;
    }
    forced_ = requests > requests_at_start_ && now_ns >= last_start_ns_ + forced_refresh_gap_ns;
    if (now_ns < next_ns_ && !forced_) return;
    in_flight_ = true;
    requests_at_start_ = requests;
    last_start_ns_ = now_ns;
    monitor_events& events = *this;
    conn_ = std::make_unique<monitor_conn>(base_, 0, primary->name, primary->addr, events);
    worker::login_params tls;
    worker::use_backend_tls(tls, cfg_, primary->name, backend_tls_);
    conn_->use_tls(tls.tls_ctx, tls.tls_verify);
    conn_->set_max_answer_bytes(std::size_t(cfg_.users_capacity) * answer_bytes_per_account + (1u << 16));
    conn_->connect(cfg_.monitor_user, cfg_.monitor_password, std::max(cfg_.connect_timeout_ms, 1000));
}

void users_loader::monitor_up(monitor_conn& m)
{
    if (!m.query(accounts_query, timeout_ms(), timeout_ms())) failed("cannot send the query");
}

void users_loader::monitor_answer(monitor_conn& m, protocol::small_result& answer, std::uint64_t)
{
    if (answer.is_error)
        return failed(std::to_string(answer.error_code) + " " + answer.error_message +
                      (answer.error_code == 1142 ? " (GRANT SELECT ON mysql.global_priv TO the monitor user)" : ""));
    if (answer.rows.empty() || answer.rows[0].size() < 7) return failed("unexpected answer to the accounts query");
    auto accounts = parse_accounts(answer);
    auto r = store_.publish(accounts, common::realtime_ns());
    if (r.busy) return failed("another poller is publishing (a reload): tried again shortly");
    if (r.not_stored)
        CW_LOG(LOG_WARNING,
               "users_from_primary: %zu of %zu accounts not loaded (past users_capacity = %d, or a user or "
               "host name too long): their logins are refused",
               r.not_stored, accounts.size(), cfg_.users_capacity);
    if (r.stored != last_count_)
        CW_LOG(LOG_INFO, "users_from_primary: %zu accounts loaded from %s", r.stored, m.describe().c_str());
    last_count_ = r.stored;
    store_.answer_requests(requests_at_start_, forced_);
    in_flight_ = false;
    done_ = true;
    next_ns_ = common::monotonic_ns() + std::uint64_t(cfg_.users_refresh_s) * 1000000000u;
}

void users_loader::monitor_down(monitor_conn&, const std::string& why)
{
    failed(why);
}

void users_loader::failed(const std::string& why)
{
    store_.refresh_failed(common::realtime_ns());
    if (log_limit_.allow())
        CW_LOG(LOG_WARNING, "users_from_primary: loading the accounts failed: %s; %s", why.c_str(),
               store_.stats().loads ? "the previous ones stay in use" : "logins of accounts not in [users] wait");
    store_.answer_requests(requests_at_start_, forced_);
    in_flight_ = false;
    done_ = true;
    next_ns_ = common::monotonic_ns() + std::uint64_t(std::min(retry_s, cfg_.users_refresh_s)) * 1000000000u;
}

}   // namespace causeway::daemon
