// The backend side of a client session: opening (or taking from the pool)
// and retiring its server connections, what they report (ready, login failed,
// readable outside a command, closed), retrying a replica's read on the
// primary, and the statement board other workers read for KILL QUERY.
#include "worker/client_session.hh"

#include <string.h>

#include "common/clock.hh"
#include "common/log.hh"
#include "protocol/bytes.hh"
#include "protocol/constants.hh"
#include "shm/counters.hh"
#include "worker/topology_view.hh"

namespace causeway::worker {

using namespace protocol;

void client_session::retire_backend(int index, bool statement_end, const std::string* session)
{
    if (std::size_t(index) >= backends_.size() || !backends_[std::size_t(index)]) return;
    backend_conn& conn = *backends_[std::size_t(index)];
    bool idle = conn.ready() && index != active_ && conn.internal_pending() == 0 &&
        evbuffer_get_length(conn.output()) == 0 && evbuffer_get_length(conn.input()) == 0;
    if (index == active_ && index > 0) --ctx_.outstanding[std::size_t(index)];
    // A connection is pooled only for clients that name a database: the taker
    // selects it again (COM_INIT_DB), since the server's current database may
    // have changed in ways the proxy does not follow (USE in a procedure, in
    // bridge mode, DROP DATABASE of it), and a client without one could not
    // be given a connection with none selected.
    // Nor one that ends with a transaction open or tables locked: the server's
    // own disconnect handles those, exactly as without the pool.
    bool clean = !(primary_status_ & server_status::in_trans) && !tables_locked_ && index != pinned_;
    if (idle && clean && (reuse_backends_ || statement_end) && !ctx_.draining && !identity_.database.empty()) {
        ctx_.pool.put(pool_key(index), std::move(backends_[std::size_t(index)]), session);
    } else {
        // An idle server session ends with COM_QUIT, as a client's would: the
        // server then counts no aborted connection and logs no warning.
        if (idle) send_quit(conn);
        free_from_loop(ctx_.base, backends_[std::size_t(index)].release());
    }
    replayed_[std::size_t(index)] = 0;
    for (auto& [id, st] : statements_) {
        st.ids.erase(index);
        st.has_types.erase(index);
    }
    if (index == active_) {
        active_ = -1;
        backend_stream_left_ = 0;
        backend_continuation_ = false;
        backend_paused_ = false;
    }
    if (index == pinned_) pinned_ = -1;
    if (index == last_answer_backend_) last_answer_backend_ = -1;
    if (otx_.active() && index == otx_.replica()) {
        // Its snapshot is gone. Nothing answered there yet (the first statement
        // is retried on the primary): nothing lost.
        otx_lost_ = !otx_.statements().empty();
        otx_.end();
        digesting_ = false;
    }
}

void client_session::retire_all_backends()
{
    for (std::size_t i = 0; i < backends_.size(); ++i) retire_backend(int(i));
}

// This client's entry of the worker's statement board (see shm/layout.hh):
// what it runs now on `b`, or nothing (nullptr).
void client_session::publish_statement(const backend_conn* b)
{
    if (!ctx_.board) return;
    shm::board_entry& e = ctx_.board->entry[(id_ & 0x3fffff) % shm::board_entries];
    if (state_ == state::closing || state_ == state::dead) {
        if (e.client.load(std::memory_order_relaxed) == id_) e.client.store(0, std::memory_order_release);
        return;
    }
    const backend_conn* p = backends_[0].get();
    std::uint64_t primary = p && p->ready() ? std::uint64_t(primary_slot_) << 32 | p->server_connection_id() : 0;
    e.client.store(0, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_release);
    e.statement.store(b ? std::uint64_t(b->index()) << 32 | b->server_connection_id() : shm::board_idle,
                      std::memory_order_relaxed);
    e.primary.store(primary, std::memory_order_relaxed);
    e.client.store(id_, std::memory_order_release);
}

// Reads `client`'s entry of its worker's board (see shm/layout.hh); false
// when the entry is another client's now, or changed while read.
static bool read_board(const shm::segment& seg, std::uint32_t client, std::uint64_t& statement, std::uint64_t& primary)
{
    const shm::statement_board* board = seg.board(std::size_t(worker_of_connection(client)));
    if (!board) return false;
    const shm::board_entry& e = board->entry[(client & 0x3fffff) % shm::board_entries];
    if (e.client.load(std::memory_order_acquire) != client) return false;
    statement = e.statement.load(std::memory_order_relaxed);
    primary = e.primary.load(std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_acquire);
    return e.client.load(std::memory_order_relaxed) == client;
}

bool client_session::running_statement(const shm::segment& seg, std::uint32_t client, int& backend,
                                       std::uint32_t& server_thread)
{
    std::uint64_t s = 0, primary = 0;
    if (!read_board(seg, client, s, primary) || s == shm::board_idle) return false;
    backend = int(s >> 32);
    server_thread = std::uint32_t(s);
    return true;
}

bool client_session::primary_thread(const shm::segment& seg, std::uint32_t client, std::uint32_t& slot,
                                    std::uint32_t& server_thread)
{
    std::uint64_t s = 0, primary = 0;
    if (!read_board(seg, client, s, primary) || primary == 0) return false;
    slot = std::uint32_t(primary >> 32);
    server_thread = std::uint32_t(primary);
    return true;
}

backend_conn* client_session::open_backend(int index)
{
    auto& slot = backends_[std::size_t(index)];
    limited_ = -1;
    if (slot) return slot.get();
    std::size_t server = std::size_t(index);
    if (index == 0) {   // the primary role: whichever server holds it now
        primary_choice p = current_primary(ctx_);
        if (!p.available) return nullptr;
        server = primary_slot_ = p.slot;
    }
    login_params p;
    p.user = identity_.user;
    p.password_sha1 = password_sha1_;
    p.database = identity_.database;
    p.charset = login_.charset;
    p.client_capabilities = login_.capabilities;
    p.client_mariadb_capabilities = login_.mariadb_capabilities;
    p.connect_attrs = login_.connect_attrs;
    // Bridge mode reads no positions: the server need not track them.
    p.track_gtid = ctx_.cfg->routing() != common::routing_mode::bridge;
    use_backend_tls(p, *ctx_.cfg, ctx_.servers[server].name, ctx_.backend_tls);
    std::unique_ptr<backend_conn> pooled;
    // A probe must log in: a pooled connection proves nothing about the server now.
    backend_pool::taken how = backend_pool::taken::reset;
    // Only replica connections are given back unreset (pool_mode = statement).
    std::string session = index > 0 && ctx_.cfg->pool_per_statement() ? replay_fingerprint() : std::string();
    if (!identity_.database.empty() && state_ != state::probing_primary)
        pooled = ctx_.pool.take(pool_key(index), ctx_.cfg->pool_change_user, session, &how);
    if (pooled) {   // no login: reset when its last client left
        slot = std::move(pooled);
        slot->set_events(*this);
        bool changed_user = slot->params().user != identity_.user;
        if (changed_user) {
            // pool_change_user: another user's connection. The server checks
            // this user's credentials and resets the session as at a login
            // (tracking included: it is set again on a primary).
            slot->change_user(p, ctx_.cfg->connect_timeout_ms);
            if (index == 0 && p.track_gtid) track_session(*slot, tracking_fresh_tag);
            shm::add(ctx_.limit.usage()->pool_user_changes);
        }
        // Kept as it was by a client of this user and database with the same
        // session state (only plain reads ran on it): ready as it is.
        bool as_is = how == backend_pool::taken::same_session && !changed_user;
        if (how == backend_pool::taken::other_session && !changed_user) slot->send_internal("\x1f");   // reset
        // COM_INIT_DB: see retire_backend().
        if (!as_is) slot->send_internal("\x02" + identity_.database);
        // Reset by the pool: tracking '*' again, and the client's list the server's default.
        if (index == 0 && p.track_gtid && !changed_user) track_session(*slot, tracking_fresh_tag);
        replayed_[std::size_t(index)] = as_is ? replay_.generation() : 0;
        shm::add(ctx_.counters->pool_reuses);
        if (index == 0 && primary_switched_) prepare_new_primary(*slot);
        return slot.get();
    }
    // A new server connection counts against max_backend_connections_per_server;
    // at the limit, one of this worker's idle pooled connections to that
    // server (another user's or database's) makes room.
    server_lease lease = ctx_.limit.acquire(server);
    if (!lease && ctx_.pool.evict(int(server))) lease = ctx_.limit.acquire(server);
    if (!lease) {
        limited_ = int(server);
        return nullptr;
    }
    const common::backend_config& bc = ctx_.servers[server];
    const common::resolved_address& addr = ctx_.backend_addrs[server];
    backend_events& events = *this;
    slot.reset(new backend_conn(ctx_.base, index, bc.name, bc.addr, events));
    slot->hold(std::move(lease));
    replayed_[std::size_t(index)] = 0;
    if (!slot->start(addr, p, ctx_.cfg->connect_timeout_ms)) {
        shm::add(ctx_.counters->backend_connect_failures);
        retire_backend(index);
        return nullptr;
    }
    if (index == 0 && ctx_.cfg->routing() != common::routing_mode::bridge)
        // Every write's GTID comes back in its OK, and every session variable
        // a statement changed (client_variables.cc).
        track_session(*slot, tracking_fresh_tag);
    if (index == 0 && primary_switched_) prepare_new_primary(*slot);
    return slot.get();
}

// A read that was planned for a replica goes to the primary instead, as long
// as no byte of its answer has reached the client.
bool client_session::retry_on_primary(const char* why)
{
    read_timer_armed_ = false;   // its replica connection is given up
    if (plan_.backend == 0 || response_started_) return false;
    static common::log_rate_limit limit;
    if (limit.allow()) CW_LOG(LOG_INFO, "%s: read retried on the primary: %s", who(), why);
    plan_.backend = 0;
    plan_.pin = false;
    plan_.reason = shm::route_reason::primary_not_caught_up;
    // The client's own bytes (its statement ids are the primary's).
    plan_.payload = plan_.original;
    plan_.rewritten = true;
    return true;
}

void client_session::backend_ready(backend_conn& b)
{
    CW_LOG(LOG_DEBUG, "%s: %s ready (server thread %u)", who(), b.describe().c_str(), b.server_connection_id());
    if (state_ == state::probing_primary && b.index() == 0) return primary_probed(true);
    if (b.index() == 0) publish_statement(state_ == state::in_flight ? active() : nullptr);   // its primary thread
    if (login_ok_seq_ && b.index() == 0) {
        state_ = state::ready;
        send_login_ok(std::exchange(login_ok_seq_, 0));
    } else if (state_ == state::waiting_backend && b.index() == plan_.backend) {
        state_ = state::ready;
        if (!dispatch()) return;
    }
    handle_client_input();
}

void client_session::backend_login_failed(backend_conn& b, const std::string& why, const std::string& server_error)
{
    if (b.checking()) return pooled_connection_dead(b, why);   // client_pool.cc
    shm::add(ctx_.counters->backend_connect_failures);
    if (b.tls_failed()) shm::add(ctx_.counters->backend_tls_failures);
    static common::log_rate_limit limit;
    if (limit.allow()) CW_LOG(LOG_ERR, "%s: %s: %s", who(), b.describe().c_str(), why.c_str());
    int index = b.index();
    std::string name = b.describe();
    retire_backend(index);
    if (state_ == state::probing_primary && index == 0) return primary_probed(false);
    if (index != 0) {
        ctx_.replica_failed(index, common::monotonic_ns());
        if (state_ == state::waiting_backend && plan_.backend == index && retry_on_primary("replica login failed")) {
            state_ = state::ready;
            if (dispatch()) handle_client_input();
        }
        return;
    }
    if (login_ok_seq_) {   // the login itself failed: the client gets the error and goes, as from a server
        std::uint8_t seq = std::exchange(login_ok_seq_, 0);
        if (!server_error.empty())
            send_packet(server_error, seq);
        else
            send_error(er::backend_unavailable, "HY000", "Can't connect to " + name + ": " + why, seq);
        return close_after_flush();
    }
    if (state_ != state::waiting_backend && state_ != state::fencing) return;
    // The command that needed the primary gets the error; the client stays.
    if (!plan_.whole) return close_after_flush();
    if (!server_error.empty()) {
        evbuffer_drain(client_->input(), header_size + plan_.length);
        send_packet(server_error, 1);
        state_ = state::ready;
    } else {
        reject_command(er::backend_unavailable, "HY000", "Can't connect to " + name + ": " + why);
    }
    handle_client_input();
}

void client_session::backend_readable(backend_conn& b)
{
    if (b.index() == active_ && state_ == state::in_flight) return relay_response();
    if (b.internal_pending()) {   // a lazy prepare on a replica, before its execute
        internal_answer a;
        bool broken = false;   // reset by each next_internal_answer(): `failed` keeps an ERR seen
        bool failed = false;
        std::string error;
        while (b.next_internal_answer(a, broken)) {
            if (a.tag == gtid_wait_tag) {   // the MASTER_GTID_WAIT of a waiting read
                gtid_wait_answered(b.index(), a);
                return;
            }
            if (a.tag == fence_tag) return fence_answered(a);
            if (a.tag == diagnostics_tag) continue;   // its ERR is the point
            if (is_tracking_tag(a.tag)) tracking_answered(a);
            if (a.tag >= migration_tag) {   // an optimistic transaction's replay
                migration_answered(a);
                if (state_ != state::migrating) return;
                continue;
            }
            if (!a.ok) failed = true, error = a.error;
            if (a.statement_id) {
                auto it = statements_.find(std::uint32_t(a.tag));
                if (it != statements_.end()) it->second.ids[b.index()] = a.statement_id;
            }
        }
        if (failed && !broken && b.index() == pinned_ && state_ == state::waiting_backend && plan_.backend == pinned_) {
            // Inside a read-only transaction the statement cannot run
            // anywhere else: the client gets the server's refusal (a write
            // prepared before the transaction began), as the primary gives it.
            reject_command(er_read_only_transaction, "25006", std::string(read_only_transaction_message));
            handle_client_input();
            return;
        }
        if (broken || failed) {
            int index = b.index();
            CW_LOG(LOG_WARNING, "%s: %s: session setup failed: %s", who(), b.describe().c_str(),
                   broken ? "malformed answer" : error.c_str());
            if (index == 0) return close_after_flush();
            retire_backend(index);
            if (state_ == state::waiting_backend && plan_.backend == index &&
                retry_on_primary("replay failed on the replica")) {
                state_ = state::ready;
                if (dispatch()) handle_client_input();
            }
            return;
        }
        if (state_ == state::waiting_backend && plan_.backend == b.index() && !b.internal_pending()) {
            state_ = state::ready;
            if (dispatch()) handle_client_input();
        }
        return;
    }
    unexpected_bytes(b);
}

// Bytes nobody asked for: a server closing an idle connection says why.
void client_session::unexpected_bytes(backend_conn& b)
{
    static common::log_rate_limit limit;
    if (limit.allow())
        CW_LOG(LOG_WARNING, "%s: %s sent %zu unexpected bytes; closing it", who(), b.describe().c_str(),
               evbuffer_get_length(b.input()));
    shm::add(ctx_.counters->protocol_errors);
    if (b.index() == 0) return close_after_flush();   // the session's server state is gone
    retire_backend(b.index());
}

void client_session::backend_writable(backend_conn& b)
{
    if (client_paused_ && b.index() == active_) {
        client_paused_ = false;
        client_->enable_read();
        relay_client_data();
    }
}

void client_session::backend_closed(backend_conn& b, const std::string& why)
{
    int index = b.index();
    bool mid_command = state_ == state::in_flight && index == active_;
    std::string name = b.describe();
    if (index != 0) {
        // A replica holds nothing the session cannot rebuild: drop it, and
        // retry a read it had not started answering on the primary.
        ctx_.replica_failed(index, common::monotonic_ns());
        CW_LOG(mid_command ? LOG_WARNING : LOG_INFO, "%s: %s %s", who(), name.c_str(), why.c_str());
        retire_backend(index);
        bool waited_on = state_ == state::waiting_replica && gtid_wait_backend_ == index;
        if (waited_on) {   // the read waited for it: it goes to the primary now
            internal_answer none;
            gtid_wait_answered(index, none);
            return;
        }
        if (!mid_command && !(state_ == state::waiting_backend && plan_.backend == index)) return;
        if (mid_command && read_timer_armed_ && why == backend_conn::timeout_reason)
            shm::add(ctx_.counters->replica_read_timeouts);
        if (retry_on_primary(why.c_str())) {
            tracker_ = response_tracker{};
            state_ = state::ready;
            if (dispatch()) handle_client_input();
            return;
        }
    } else {
        CW_LOG(mid_command ? LOG_WARNING : LOG_INFO, "%s: %s %s%s", who(), name.c_str(), why.c_str(),
               mid_command ? " during a command" : "");
        if (state_ == state::probing_primary) return primary_probed(false);   // the probe's own connection
        if (probe_primary(mid_command)) return;
        if (survive_primary_loss(mid_command)) return;   // client_failover.cc
    }
    if (mid_command && !response_started_)
        send_error(er::backend_lost, "HY000", "Lost connection to " + name + " during query",
                   std::uint8_t(last_client_seq_ + 1));
    // The server-side session (variables, temporary tables, transaction) is
    // gone; carrying on silently would hide that, so the client is closed too.
    close_after_flush();
}

// The primary connection closed where the session could go on (no answer
// started). If the server itself went away, the session survives on the next
// primary (survive_primary_loss). If only this connection ended (KILL from
// another connection, wait_timeout), the server would have ended the client's
// connection with it, without an error packet (make compat B7: the client got
// Causeway's 9002 where MariaDB's clients report 2013): a fresh login to the
// same server tells which, within connect_timeout_ms.
bool client_session::probe_primary(bool mid_command)
{
    if (state_ == state::closing || state_ == state::dead || client_stream_left_ || client_continuation_) return false;
    if (mid_command ? response_started_ : state_ != state::ready) return false;
    primary_choice p = current_primary(ctx_);
    if (!p.available || p.slot != primary_slot_) return false;   // a switch: client_failover.cc
    retire_backend(0);
    probe_mid_command_ = mid_command;
    state_ = state::probing_primary;
    backend_conn* probe = open_backend(0);
    if (probe && !probe->ready()) return true;
    state_ = mid_command ? state::in_flight : state::ready;   // no probe could start
    return false;
}

void client_session::primary_probed(bool server_up)
{
    bool mid_command = probe_mid_command_;
    state_ = mid_command ? state::in_flight : state::ready;
    if (server_up) {
        CW_LOG(LOG_INFO,
               "%s: the primary ended this client's server session while up (KILL or a timeout): "
               "closing the client, as the server does",
               who());
        return close_after_flush();
    }
    if (survive_primary_loss(mid_command)) return;
    if (mid_command)
        send_error(er::backend_lost, "HY000", "Lost connection to the primary during query",
                   std::uint8_t(last_client_seq_ + 1));
    close_after_flush();
}

}   // namespace causeway::worker
