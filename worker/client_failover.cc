// A client session following the primary role: backends_[0] is "the primary
// now", and the server behind it comes from the role block the poller
// publishes. At a statement boundary a connection to a server that is no
// longer the primary is retired (an open transaction ends with an error, the
// client stays); the next primary connection gets the session replayed as a
// replica connection does (prepared statements are prepared there lazily, as
// on any backend: client_statements.cc).
// A command for the primary while there is none waits for one during a
// switchover (switchover_wait_ms) and fails at once when the primary is down
// or in split brain.
#include <utility>

#include "common/clock.hh"
#include "common/log.hh"
#include "protocol/bytes.hh"
#include "protocol/classifier.hh"
#include "protocol/constants.hh"
#include "protocol/ok_err.hh"
#include "shm/counters.hh"
#include "worker/client_session.hh"
#include "worker/session_state.hh"
#include "worker/topology_view.hh"

namespace causeway::worker {

using namespace protocol;

// Called before a command is planned. A transaction cannot move between
// servers: if one was open on the old primary, this command is answered with
// a deadlock-style error (the old server rolls it back when its connection
// closes) and the session continues outside any transaction.
bool client_session::follow_primary()
{
    if (transaction_lost_ && state_ == state::ready && plan_.whole) {
        transaction_lost_ = false;
        reject_command(er::transaction_lost, "40001",
                       "Causeway: the primary was lost during this transaction, which was rolled back; try restarting "
                       "transaction");
        return false;
    }
    if (!backends_[0] || state_ != state::ready) return true;
    primary_choice p = current_primary(ctx_);
    if (p.available && p.slot == primary_slot_) return true;
    std::string old = backends_[0]->describe();
    bool in_trans = primary_status_ & server_status::in_trans;
    retire_backend(0);
    primary_switched_ = true;
    // What lived only in the old server session is gone with it.
    primary_status_ &= std::uint16_t(~server_status::in_trans);
    temporary_.clear();
    tables_locked_ = false;
    CW_LOG(LOG_INFO, "%s: %s is no longer the primary (%s): its connection is retired%s", who(), old.c_str(),
           p.available ? ("now " + ctx_.servers[p.slot].name).c_str() : shm::primary_state_name(p.state),
           in_trans ? " and the open transaction ends with an error" : "");
    if (!in_trans) return true;
    if (!plan_.whole) {   // a huge packet that cannot be drained here: as a lost server would
        close_after_flush();
        return false;
    }
    reject_command(er::transaction_lost, "40001",
                   "Causeway: the primary changed during this transaction, which was rolled back; try restarting "
                   "transaction");
    return false;
}

// The primary connection closed (the server died, or killed it). What the
// session's state replay cannot rebuild is a transaction (the next command
// ends it with an error), temporary tables and table locks (gone, as after a
// reconnect); an answer half relayed cannot be finished: the client goes then.
bool client_session::survive_primary_loss(bool mid_command)
{
    if (state_ == state::closing || state_ == state::dead || client_stream_left_ || client_continuation_) return false;
    // A read waiting for a replica to catch up does not use the primary
    // connection: it goes on waiting (and then finds no primary, or a new one).
    bool waiting_read = !mid_command && state_ == state::waiting_replica;
    if (mid_command ? response_started_ : state_ != state::ready && !waiting_read) return false;
    bool in_trans = primary_status_ & server_status::in_trans;
    if (mid_command)
        send_error(er::backend_lost, "HY000", "Lost connection to the primary during query",
                   std::uint8_t(last_client_seq_ + 1));
    retire_backend(0);
    tracker_ = response_tracker{};
    primary_switched_ = true;
    primary_status_ &= std::uint16_t(~server_status::in_trans);
    temporary_.clear();
    tables_locked_ = false;
    // A statement that errored mid-transaction leaves the client believing
    // the transaction is open: its next command says it is not.
    transaction_lost_ = in_trans;
    if (waiting_read) return true;
    state_ = state::ready;
    if (mid_command) handle_client_input();
    return true;
}

bool client_session::await_primary()
{
    primary_choice p = current_primary(ctx_);
    if (p.available) {
        primary_wait_started_ns_ = 0;
        primary_generation_ = p.generation;
        return true;
    }
    std::uint64_t now = common::monotonic_ns();
    bool waited = primary_wait_started_ns_ != 0;
    if (!waited) primary_wait_started_ns_ = now;
    std::uint64_t budget = std::uint64_t(ctx_.cfg->switchover_wait_ms) * 1000000u;
    if (waits_for_primary(p.state) && plan_.whole && now - primary_wait_started_ns_ < budget) {
        arm_primary_wait();
        state_ = state::waiting_primary;
        return false;
    }
    primary_wait_started_ns_ = 0;
    shm::count_route(*ctx_.counters, shm::route_reason::primary_unavailable);
    std::string message = no_primary_message(ctx_, p, waited);
    if (ctx_.noise.allow("no primary", client_host())) CW_LOG(LOG_INFO, "%s: refused: %s", who(), message.c_str());
    if (!plan_.whole) {
        send_error(er::no_primary, "HY000", message, 1);
        close_after_flush();
        return false;
    }
    reject_command(er::no_primary, "HY000", message);
    return false;
}

// Checked every 2 ms: the poller decides within a poll interval of the
// promoted server becoming writable.
void client_session::arm_primary_wait()
{
    if (!primary_wait_timer_) primary_wait_timer_.reset(evtimer_new(ctx_.base, on_primary_wait, this));
    timeval tv{0, 2000};
    evtimer_add(primary_wait_timer_.get(), &tv);
}

void client_session::on_primary_wait(evutil_socket_t, short, void* arg)
{
    auto& self = *static_cast<client_session*>(arg);
    if (self.state_ != state::waiting_primary) return;
    if (!self.held_refusal_.empty()) return self.poll_switch_retry();
    // Plan the same command again: its packet is still in the client's input.
    self.state_ = state::ready;
    self.handle_client_input();
}

// A write the primary refused as read-only, before it ran: during a
// switchover the old primary is read-only for up to a poll interval before the
// poller sees it. An autocommit statement (nothing of it ran, no transaction
// to lose) then waits for the role to move, as a write arriving a moment later
// would in await_primary(), and runs on the next primary; the server's ERR
// reaches the client only if the role has not moved within switchover_wait_ms
// (read_only set by hand, no switchover).
bool client_session::hold_read_only_refusal(std::string_view payload, std::uint8_t seq)
{
    if (active_ != 0 || !plan_.switch_retry || response_started_ || ctx_.cfg->switchover_wait_ms <= 0) return false;
    auto e = parse_err(payload);
    if (!e || e->code != er::no_primary || e->message.find("--read-only") == std::string_view::npos) return false;
    // Classified only now (bridge mode classifies nothing): one statement
    // that writes; a multi-statement may have run its first parts.
    statement_kind kind = classify(statement_text(plan_.original), lex_).kind;
    if (kind != statement_kind::write && kind != statement_kind::do_stmt) return false;
    held_refusal_.assign(payload);
    held_refusal_seq_ = seq;
    primary_wait_started_ns_ = common::monotonic_ns();
    publish_statement(nullptr);
    state_ = state::waiting_primary;
    arm_primary_wait();
    return true;
}

void client_session::poll_switch_retry()
{
    primary_choice p = current_primary(ctx_);
    std::uint64_t now = common::monotonic_ns();
    std::uint64_t budget = std::uint64_t(ctx_.cfg->switchover_wait_ms) * 1000000u;
    if (p.generation != primary_generation_) {   // the role moved: the statement again, planned afresh
        held_refusal_.clear();
        primary_wait_started_ns_ = 0;
        active_ = -1;
        state_ = state::ready;
        shm::add(ctx_.counters->switch_retries);
        std::string pkt = frame_packet(plan_.original, 0);
        evbuffer_prepend(client_->input(), pkt.data(), pkt.size());
        handle_client_input();
        return;
    }
    if (now - primary_wait_started_ns_ >= budget) {   // no switchover after all: the server's answer
        primary_wait_started_ns_ = 0;
        send_packet(std::exchange(held_refusal_, std::string()), held_refusal_seq_);
        response_error_ = true;
        state_ = state::in_flight;
        response_complete();
        return;
    }
    arm_primary_wait();
}

// The first connection to a new primary: the session's state as a replica
// connection gets it (SET, USE), and autocommit, which replicas never get.
void client_session::prepare_new_primary(backend_conn& b)
{
    replayed_[0] = 0;
    replay_state(b);
    if (!(primary_status_ & server_status::autocommit)) b.send_internal("\x03SET @@session.autocommit = 0");
}

}   // namespace causeway::worker
