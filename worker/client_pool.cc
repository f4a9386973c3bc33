// A client session and the limits of the backend pool: waiting for a place on
// a server at max_backend_connections_per_server (pool_wait_ms, then ERR
// 1040), and replacing a pooled connection that failed its check before use
// (pool_ping_after_s) without the client seeing it, and giving replica
// connections back between statements (pool_mode = statement). Taking and
// returning pooled connections is in client_backends.cc; the pool itself in
// backend_pool.cc.
#include "common/clock.hh"
#include "common/log.hh"
#include "protocol/constants.hh"
#include "shm/counters.hh"
#include "worker/client_session.hh"

namespace causeway::worker {

using namespace protocol;

// The command at the head of the client's input (or the login, when
// login_ok_seq_ is set) needs a connection to server `limited_`, which is at
// its limit. It waits for one until pool_wait_ms after it first tried; the
// command is planned again when one is free (its packet is still in the
// client's input), as after a wait for the primary. True when the command
// was refused at once and the client's next command may be read.
bool client_session::wait_for_connection()
{
    std::uint64_t now = common::monotonic_ns();
    if (!limit_wait_started_ns_) {
        limit_wait_started_ns_ = now;
        shm::add(ctx_.limit.usage()->limit_waits);
    }
    limit_wait_server_ = limited_;
    std::uint64_t deadline = limit_wait_started_ns_ + std::uint64_t(ctx_.cfg->pool_wait_ms) * 1000000u;
    // A packet too large to hold is streamed once it goes: it cannot be planned again.
    if (now >= deadline || (!login_ok_seq_ && !plan_.whole)) {
        refuse_for_limit();
        return state_ == state::ready;
    }
    state_ = state::waiting_connection;
    ctx_.limit.wait(*this, std::size_t(limit_wait_server_), deadline);
    return false;
}

void client_session::connection_free()
{
    if (state_ != state::waiting_connection) return;
    if (login_ok_seq_) {   // the login's primary connection (finish_login)
        state_ = state::waiting_backend;
        backend_conn* primary = open_backend(0);
        if (!primary && limited_ >= 0) {
            wait_for_connection();
            return;
        }
        shm::add(ctx_.limit.usage()->limit_wait_us, (common::monotonic_ns() - limit_wait_started_ns_) / 1000);
        limit_wait_started_ns_ = 0;
        if (!primary) {
            send_error(er::backend_unavailable, "HY000", "Can't connect to the primary: out of resources",
                       std::exchange(login_ok_seq_, 0));
            return close_after_flush();
        }
        if (primary->ready()) backend_ready(*primary);
        return;
    }
    // Planned again from the start: where it goes may have changed meanwhile.
    state_ = state::ready;
    handle_client_input();
    // Still waiting (another worker took the place first): the wait goes on
    // with its first deadline; otherwise it is over.
    if (state_ != state::waiting_connection && limit_wait_started_ns_) {
        shm::add(ctx_.limit.usage()->limit_wait_us, (common::monotonic_ns() - limit_wait_started_ns_) / 1000);
        limit_wait_started_ns_ = 0;
    }
}

void client_session::connection_wait_expired()
{
    if (state_ != state::waiting_connection) return;
    refuse_for_limit();
    if (state_ == state::ready) handle_client_input();
}

// ERR 1040 as a server at max_connections gives it, naming the server. A
// command's client stays (it may try again); a login is refused and closed.
void client_session::refuse_for_limit()
{
    std::uint64_t now = common::monotonic_ns();
    shm::add(ctx_.limit.usage()->limit_refusals);
    if (limit_wait_started_ns_) shm::add(ctx_.limit.usage()->limit_wait_us, (now - limit_wait_started_ns_) / 1000);
    limit_wait_started_ns_ = 0;
    std::size_t server = std::size_t(limit_wait_server_ >= 0 ? limit_wait_server_ : 0);
    const common::backend_config& bc = ctx_.servers[server];
    std::string message = "Too many connections: backend '" + bc.name + "' (" + bc.addr.to_string() + ") has " +
        std::to_string(ctx_.limit.open_total(server)) +
        " open (max_backend_connections_per_server = " + std::to_string(ctx_.cfg->max_backend_connections_per_server) +
        "); waited pool_wait_ms = " + std::to_string(ctx_.cfg->pool_wait_ms) + " ms";
    static common::log_rate_limit limit;
    if (limit.allow()) CW_LOG(LOG_WARNING, "%s: refused: %s", who(), message.c_str());
    if (login_ok_seq_) {
        send_error(er::con_count, "08004", message, std::exchange(login_ok_seq_, 0));
        return close_after_flush();
    }
    if (!plan_.whole) {
        send_error(er::con_count, "08004", message, 1);
        return close_after_flush();
    }
    reject_command(er::con_count, "08004", message);
}

// A pooled connection idle past pool_ping_after_s did not answer its
// COM_PING: it is dropped, and whatever waited for it gets another (pooled
// or a fresh login). Nothing was sent on it for the client yet.
void client_session::pooled_connection_dead(backend_conn& b, const std::string& why)
{
    int index = b.index();
    shm::add(ctx_.limit.usage()->pool_dead);
    static common::log_rate_limit limit;
    if (limit.allow()) CW_LOG(LOG_INFO, "%s: %s: %s; dropped, using another", who(), b.describe().c_str(), why.c_str());
    retire_backend(index);
    if (login_ok_seq_ && index == 0) {   // the login waits for the primary
        backend_conn* p = open_backend(0);
        if (p && p->ready()) return backend_ready(*p);
        if (p) return;   // its login (or check) is under way
        if (limited_ >= 0) {
            wait_for_connection();
            return;
        }
        send_error(er::backend_unavailable, "HY000", "Can't connect to the primary: out of resources",
                   std::exchange(login_ok_seq_, 0));
        return close_after_flush();
    }
    // What was queued on it (a fence, a migration's replay, the command's
    // own setup) went with it: plan the command again.
    bool waited = (state_ == state::waiting_backend && plan_.backend == index) ||
        ((state_ == state::fencing || state_ == state::migrating) && index == 0);
    if (!waited || plan_.consumed) return;
    state_ = state::ready;
    handle_client_input();
}

// pool_mode = statement: after an answer, the replica connections that hold
// nothing of this client's go back to the pool, so that mostly idle clients
// hold no replica connection. What a replica connection of a session holds is
// what the routing already treats as per connection: the replayed session
// state (replay_log: replayed again on the next one), lazily prepared
// statements, a pinned read-only or optimistic transaction, a MASTER_GTID_WAIT
// in flight, and the last statement's diagnostics. The session's keys and
// positions are in the session table, never in a connection, so the routing
// does not change. The primary connection is kept: CONNECTION_ID(),
// LAST_INSERT_ID(), temporary tables, user variables, locks and the last_gtid
// tracking are its own.
void client_session::release_idle_replicas()
{
    if (ctx_.draining || identity_.database.empty() || ctx_.cfg->pool_max_idle_per_server == 0) return;
    for (std::size_t i = 1; i < backends_.size(); ++i) {
        if (!backends_[i] || replica_holds_state(int(i))) continue;
        const backend_conn& b = *backends_[i];
        if (!b.ready() || b.internal_pending() || evbuffer_get_length(b.output()) || evbuffer_get_length(b.input()))
            continue;
        int last = last_answer_backend_;
        // Nothing of this client's is on it but its replayed session state
        // (up to date: its last answer came after the replay) and its last
        // answer, a read without warnings: kept without a reset, the next
        // read of a client with the same session state (PHP's SET NAMES, or
        // none) takes it as it is, and saves the reset, COM_INIT_DB and the
        // replay.
        bool as_is = int(i) == last && !replay_.overflowed() && replayed_[i] == replay_.generation();
        std::string session = as_is ? replay_fingerprint() : std::string();
        retire_backend(int(i), true, as_is ? &session : nullptr);
        // SHOW WARNINGS goes on to this replica: a connection taken there again
        // shows none, as this one would have (see route_to_diagnostics()).
        last_answer_backend_ = last;
        shm::add(ctx_.limit.usage()->pool_statement_releases);
    }
}

std::string client_session::replay_fingerprint() const
{
    std::string s;
    for (std::string_view p : replay_.pending(0)) {
        s += std::to_string(p.size());
        s += ':';
        s += p;
    }
    return s;
}

// Whether replica connection `index` holds something of this client's that
// another connection to the same replica would not have after a reset and
// the replay.
bool client_session::replica_holds_state(int index) const
{
    if (index == active_ || index == pinned_ || index == gtid_wait_backend_) return true;
    if (otx_.active() && otx_.replica() == index) return true;
    // Nothing but a client's session: a transaction or locks held elsewhere
    // keep the session as it is until they end (as at a disconnect).
    if ((primary_status_ & server_status::in_trans) || tables_locked_) return true;
    // Its warnings or error (SHOW WARNINGS, @@warning_count) until the next statement.
    if (index == last_answer_backend_ && last_answer_diagnostics_) return true;
    // A prepared statement would be prepared again before each execute.
    for (const auto& [id, st] : statements_)
        if (st.ids.count(index)) return true;
    return false;
}

}   // namespace causeway::worker
