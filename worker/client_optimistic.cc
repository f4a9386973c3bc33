// The client session's side of optimistic transactions (optimistic_tx.hh):
// starting one on the replica the router pinned, keeping each statement with
// a digest of the answer relayed to the client, ending it there, and moving
// it to the primary at its first statement that is not a plain read: the
// replica transaction is rolled back, the kept statements run again on the
// primary (pipelined, as internal commands), and their answers' digests must
// equal the client's. Then the statement goes on on the primary; otherwise
// the client gets the server's serialization failure, ERR 1213.
#include "common/log.hh"
#include "protocol/bytes.hh"
#include "protocol/constants.hh"
#include "shm/counters.hh"
#include "worker/client_session.hh"

namespace causeway::worker {

using namespace protocol;

namespace {
constexpr std::uint16_t er_lock_deadlock = 1213;
constexpr const char* deadlock_message = "Deadlock found when trying to get lock; try restarting transaction";
}   // namespace

// The replica that ran an optimistic transaction went away with its snapshot:
// the transaction's next statement fails as a serialization failure (a
// ROLLBACK is answered, as the server would after one). false: answered here.
bool client_session::optimistic_may_go_on(const statement_info& s)
{
    if (!otx_lost_) return true;
    otx_lost_ = false;
    if (s.kind == statement_kind::rollback) {
        evbuffer_drain(client_->input(), header_size + plan_.length);
        send_ok(1);
    } else {
        reject_command(er_lock_deadlock, "40001", deadlock_message);
    }
    return false;
}

// Whether statement `s` (a COM_QUERY of `bytes`) may run in the optimistic
// transaction on its replica: a plain read within the replay budget, or the
// COMMIT / ROLLBACK that ends it there.
bool client_session::stays_optimistic(const statement_info& s, std::size_t bytes) const
{
    if ((s.kind == statement_kind::commit || s.kind == statement_kind::rollback) && !s.chain && !s.release) return true;
    const common::config& cfg = *ctx_.cfg;
    return s.is_plain_read &&
        otx_.fits(bytes, std::size_t(cfg.optimistic_max_statements), std::size_t(cfg.optimistic_max_bytes));
}

// At forward(): starts the transaction the router pinned to `b`, and digests
// the answer of every statement that runs in it.
void client_session::optimistic_forward(backend_conn& b)
{
    if (plan_.optimistic_start && plan_.backend != 0) {
        bool autocommit_off = !(primary_status_ & server_status::autocommit);
        otx_.start(plan_.backend, autocommit_off);
        shm::add(ctx_.counters->optimistic_started);
        // The replica then opens the implicit transaction as the primary would,
        // and its status flags (what the client sees) match the primary's.
        if (autocommit_off) b.send_internal("\x03SET @@session.autocommit = 0");
    }
    digesting_ = otx_.active() && plan_.backend == otx_.replica();
    if (digesting_) otx_digest_.reset();
}

// The digest of a streamed packet's bytes, about to be relayed.
void client_session::digest_streamed(evbuffer* in, std::size_t n)
{
    evbuffer_iovec v[16];
    int count = evbuffer_peek(in, ssize_t(n), nullptr, v, 16);
    if (count > 16) {   // many small chunks: make them one
        evbuffer_pullup(in, ssize_t(n));
        count = evbuffer_peek(in, ssize_t(n), nullptr, v, 1);
    }
    std::size_t left = n;
    for (int i = 0; i < count && left; ++i) {
        std::size_t len = std::min(left, v[i].iov_len);
        left -= len;
        const char* p = static_cast<const char*>(v[i].iov_base);
        std::size_t skip = std::min(digest_skip_, len);
        digest_skip_ -= skip;
        otx_digest_.bytes(p + skip, len - skip);
    }
}

// At response_complete() of a statement that ran in the transaction.
void client_session::optimistic_answered()
{
    digesting_ = false;
    if (!(last_status_ & server_status::in_trans)) {   // COMMIT or ROLLBACK ended it there
        backend_conn* r = backends_[std::size_t(otx_.replica())].get();
        if (r && otx_.autocommit_off()) r->send_internal("\x03SET @@session.autocommit = 1");
        shm::add(ctx_.counters->optimistic_completed);
        otx_.end();
        return;
    }
    otx_.record(plan_.original, otx_digest_.value());
}

// Moves the transaction to the primary before the command at the head of the
// client's input runs (it is planned again once the replay is answered).
// Returns false when the command was answered here instead.
bool client_session::start_migration()
{
    backend_conn* p = open_backend(0);   // commands queue until its login completes
    if (!p) {
        reject_command(er::backend_unavailable, "HY000", "Can't connect to the primary: out of resources");
        return false;
    }
    if (backend_conn* r = backends_[std::size_t(otx_.replica())].get()) {
        r->send_internal("\x03ROLLBACK");
        if (otx_.autocommit_off()) r->send_internal("\x03SET @@session.autocommit = 1");
    }
    pinned_ = -1;
    const auto& statements = otx_.statements();
    for (std::size_t i = 0; i < statements.size(); ++i) p->send_internal(statements[i].payload, migration_tag + i);
    migration_left_ = statements.size();
    migration_failed_ = false;
    state_ = state::migrating;
    if (migration_left_ == 0) finish_migration();
    return true;
}

void client_session::migration_answered(const internal_answer& a)
{
    if (state_ != state::migrating || migration_left_ == 0) return;
    std::size_t i = std::size_t(a.tag - migration_tag);
    const auto& statements = otx_.statements();
    if (i >= statements.size() || a.digest != statements[i].digest) migration_failed_ = true;
    if (a.status_seen) primary_status_ = a.status;
    if (--migration_left_ == 0) finish_migration();
}

void client_session::finish_migration()
{
    otx_.end();
    state_ = state::ready;
    if (migration_failed_) {
        // The primary shows other data than the transaction read: it must not
        // go on. The server's answer to a serialization failure; the
        // transaction is rolled back, and the next one starts on the primary.
        static common::log_rate_limit limit;
        if (limit.allow())
            CW_LOG(LOG_INFO, "%s: optimistic transaction read other data than the primary has: ERR 1213", who());
        shm::add(ctx_.counters->optimistic_conflicts);
        otx_.wrote();
        backends_[0]->send_internal("\x03ROLLBACK");
        primary_status_ &= std::uint16_t(~server_status::in_trans);
        reject_command(er_lock_deadlock, "40001", deadlock_message);
    } else {
        shm::add(ctx_.counters->optimistic_migrated);
        otx_.wrote();
    }
    handle_client_input();
}

}   // namespace causeway::worker
