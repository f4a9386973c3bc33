// The client session's side of optimistic transactions (optimistic_tx.hh):
// starting one on the replica the router pinned, keeping each statement with
// a digest of the answer relayed to the client, ending it there, and moving
// it to the primary at its first statement that is not a plain read: the
// replica transaction is rolled back, the kept statements run again on the
// primary (pipelined, as internal commands), and their answers' digests must
// equal the client's. Then the statement goes on on the primary; otherwise
// the client gets the server's serialization failure, ERR 1213. Executes of
// prepared statements run there too: replayed, they are prepared on the primary
// first and run with the same parameters (binary rows compared the same way).
// A statement whose answer cannot be repeated (protocol/unrepeatable.hh) moves
// the transaction at once, before it runs: its answer is then the primary's,
// never compared, so it causes no ERR 1213 of its own.
#include "common/log.hh"
#include "protocol/bytes.hh"
#include "protocol/constants.hh"
#include "protocol/unrepeatable.hh"
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
// transaction on its replica: a plain read whose answer repeats, within the
// replay budget, or the COMMIT / ROLLBACK that ends it there.
bool client_session::stays_optimistic(const statement_info& s, std::size_t bytes) const
{
    if ((s.kind == statement_kind::commit || s.kind == statement_kind::rollback) && !s.chain && !s.release) return true;
    const common::config& cfg = *ctx_.cfg;
    return s.is_plain_read && !plan_.unrepeatable &&
        otx_.fits(bytes, std::size_t(cfg.optimistic_max_statements), std::size_t(cfg.optimistic_max_bytes));
}

// Whether a COM_STMT_EXECUTE (`payload`, of statement `st` classified as `s`)
// may run in the optimistic transaction on its replica; if so its replay form
// is in plan_.otx_replay. Not a cursor (fetched where it was opened), not long
// data (sent to the primary), and the parameter types must be known, since
// the primary's statement, prepared at the replay, has seen none.
bool client_session::optimistic_execute(const statement_info& s, const prepared_statement& st, const execute_view& v,
                                        std::string_view payload)
{
    if (!v.ok || v.flags != 0 || st.long_data || !stays_optimistic(s, payload.size() + st.sql.size())) return false;
    if (st.params && !v.types_included && st.param_types.empty()) return false;
    plan_.otx_replay = rewrite_execute(payload, st.params, 0, v.types_included ? std::string_view() : st.param_types);
    return true;
}

// Whether an unrepeatable answer matters to this statement: it would start an
// optimistic transaction (the first statement under autocommit=0) or run in one.
bool client_session::may_start_or_keep_optimistic() const
{
    const common::config& cfg = *ctx_.cfg;
    if (!cfg.optimistic_transactions || cfg.routing() != common::routing_mode::smartscale) return false;
    if (otx_.active()) return true;
    return pinned_ < 0 && !(primary_status_ & server_status::in_trans) &&
        !(primary_status_ & server_status::autocommit);
}

// A statement `s` that may not run in the optimistic transaction moves it to
// the primary first. What the move is counted as: a write (or another
// statement that is not a plain read) before any read is a transaction sent to
// the primary from the start, and so is an unrepeatable first read; a budget
// past its end with reads answered is a migration.
bool client_session::start_migration_for(const statement_info& s)
{
    shm::worker_counters& c = *ctx_.counters;
    bool writes = !s.is_plain_read;
    shm::word* from_start = plan_.unrepeatable ? &c.optimistic_primary_unrepeatable
        : writes                               ? &c.optimistic_primary_write_first
                                               : nullptr;
    return start_migration(writes, from_start);
}

// COM_STMT_EXECUTE of `st`: notes whether its answer repeats, and inside an
// optimistic transaction decides whether it runs there (true) or moves the
// transaction first (false, with `planned` what plan_execute() returns).
bool client_session::plan_optimistic_execute(const prepared_statement& st, const statement_info& s,
                                             const execute_view& v, std::string_view payload, bool& planned)
{
    if (!may_start_or_keep_optimistic()) return true;
    plan_.unrepeatable = s.is_plain_read && answer_unrepeatable(st.sql, lex_) != unrepeatable::none;
    bool replayable = optimistic_execute(s, st, v, payload);
    if (!otx_.active()) {
        // It may start one (the first read under autocommit=0): only if it can
        // be replayed too; otherwise the transaction starts on the primary.
        if (!replayable && s.is_plain_read) plan_.unrepeatable = true;
        return true;
    }
    if (replayable) return true;
    planned = start_migration_for(s);
    return false;
}

// At forward(): starts the transaction the router pinned to `b`, and digests
// the answer of every statement that runs in it.
void client_session::optimistic_forward(backend_conn& b)
{
    shm::worker_counters& c = *ctx_.counters;
    switch (plan_.refusal) {   // a transaction that could have started on a replica starts here
        case optimistic_refusal::session_wrote: shm::add(c.optimistic_primary_wrote); break;
        case optimistic_refusal::unrepeatable: shm::add(c.optimistic_primary_unrepeatable); break;
        case optimistic_refusal::temporary_table: shm::add(c.optimistic_primary_temporary); break;
        case optimistic_refusal::none: break;
    }
    if (plan_.optimistic_start && plan_.backend != 0) {
        bool autocommit_off = !(primary_status_ & server_status::autocommit);
        otx_.start(plan_.backend, autocommit_off);
        shm::add(ctx_.counters->optimistic_started);
        // The replica then opens the implicit transaction as the primary would,
        // and its status flags (what the client sees) match the primary's.
        if (autocommit_off) b.send_internal("\x03SET @@session.autocommit = 0");
    }
    // Only statements are replayed: a prepare on the replica (the primary
    // prepares at the replay), a ping or a close are not.
    digesting_ = otx_.active() && plan_.backend == otx_.replica() &&
        (plan_.cmd == command::query || plan_.cmd == command::stmt_execute);
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
    // The statement that opened the transaction is a read under autocommit=0,
    // BEGIN otherwise.
    bool read = !(plan_.optimistic_start && !otx_.autocommit_off());
    if (plan_.cmd == command::stmt_execute) {
        auto it = statements_.find(plan_.statement_id);
        if (it == statements_.end() || plan_.otx_replay.empty()) {
            // Not meant to happen (plan_optimistic_execute keeps such executes
            // off the replica); if it does, what it read cannot be proven.
            otx_.unprovable();
            return;
        }
        otx_.record(std::move(plan_.otx_replay), otx_digest_.value(), it->second.sql, read);
        return;
    }
    otx_.record(plan_.original, otx_digest_.value(), {}, read);
}

// Moves the transaction to the primary before the command at the head of the
// client's input runs (it is planned again once the replay is answered).
// `writes`: that command writes (else its answer cannot be repeated on the
// primary, or the budget is spent). `from_start`: the counter of transactions
// sent to the primary from the start, used instead of optimistic_migrated when
// no read was answered on the replica. Returns false when the command was
// answered here instead.
bool client_session::start_migration(bool writes, shm::word* from_start)
{
    backend_conn* p = open_backend(0);   // commands queue until its login completes
    if (!p && limited_ >= 0) {   // planned again when the wait ends
        wait_for_connection();
        return false;
    }
    if (!p) {
        reject_command(er::backend_unavailable, "HY000", "Can't connect to the primary: out of resources");
        return false;
    }
    if (backend_conn* r = backends_[std::size_t(otx_.replica())].get()) {
        r->send_internal("\x03ROLLBACK");
        if (otx_.autocommit_off()) r->send_internal("\x03SET @@session.autocommit = 1");
    }
    pinned_ = -1;
    migration_writes_ = writes;
    migration_from_start_ = otx_.reads() == 0 ? from_start : nullptr;
    // A statement answered there that cannot be replayed: the move fails.
    migration_failed_ = otx_.is_unprovable();
    migration_left_ = 0;
    state_ = state::migrating;
    // The executes' statements are prepared on the primary first: their ids
    // are needed before the replay can be sent.
    const auto& statements = otx_.statements();
    migration_ids_.assign(statements.size(), 0);
    migration_prepares_left_ = 0;
    for (std::size_t i = 0; i < statements.size(); ++i) {
        if (statements[i].prepare_sql.empty()) continue;
        p->send_internal("\x16" + statements[i].prepare_sql, migration_prepare_tag + i);
        ++migration_prepares_left_;
    }
    // Never finished from here: the caller still holds the command's plan, so
    // the end of the migration always comes from an answer (backend_readable).
    if (migration_prepares_left_ == 0) send_replay();
    return true;
}

// Closes the statements the replay prepared on the primary (no answer).
void client_session::close_migration_statements()
{
    for (std::uint32_t id : migration_ids_) {
        if (!id) continue;
        std::string close(1, char(command::stmt_close));
        byte_writer(close).u32(id);
        backends_[0]->send_no_answer(close);
    }
}

// The kept statements, pipelined; each execute runs the statement prepared for
// it (closed right after: the transaction's later executes prepare their own).
void client_session::send_replay()
{
    backend_conn* p = backends_[0].get();
    const auto& statements = otx_.statements();
    migration_left_ = statements.size();
    if (statements.empty()) {   // nothing kept: a ping, so that an answer ends the migration
        p->send_internal("\x0e", migration_tag);
        migration_left_ = 1;
    }
    for (std::size_t i = 0; i < statements.size(); ++i) {
        if (statements[i].prepare_sql.empty()) {
            p->send_internal(statements[i].payload, migration_tag + i);
            continue;
        }
        std::string execute = statements[i].payload;
        for (int k = 0; k < 4; ++k) execute[std::size_t(1 + k)] = char((migration_ids_[i] >> (8 * k)) & 0xff);
        p->send_internal(execute, migration_tag + i);
    }
    close_migration_statements();
}

void client_session::migration_answered(const internal_answer& a)
{
    if (state_ != state::migrating) return;
    if (a.tag >= migration_prepare_tag) {
        std::size_t i = std::size_t(a.tag - migration_prepare_tag);
        // A statement the replica prepared that the primary refuses: the
        // schemas differ, and the transaction cannot be proven.
        if (!a.ok || !a.statement_id || i >= migration_ids_.size())
            migration_failed_ = true;
        else
            migration_ids_[i] = a.statement_id;
        if (migration_prepares_left_ && --migration_prepares_left_ == 0) {
            if (migration_failed_) {   // nothing replayed: the prepared ones are closed
                close_migration_statements();
                finish_migration();
            } else {
                send_replay();
            }
        }
        return;
    }
    if (migration_left_ == 0) return;
    std::size_t i = std::size_t(a.tag - migration_tag);
    const auto& statements = otx_.statements();
    // (An index past the statements is the ping of an empty replay.)
    if (i < statements.size() ? a.digest != statements[i].digest : !statements.empty()) migration_failed_ = true;
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
        shm::add(migration_from_start_ ? *migration_from_start_ : ctx_.counters->optimistic_migrated);
        // A session that writes in its transactions starts the next ones on
        // the primary; one that only read something unrepeatable does not.
        if (migration_writes_) otx_.wrote();
    }
    migration_from_start_ = nullptr;
    handle_client_input();
}

}   // namespace causeway::worker
