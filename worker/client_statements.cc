// Prepared statements across backends (not in bridge mode, where every
// command passes through): the ids the client sees, where each statement is
// prepared, and the commands that name one. A read-only statement is prepared
// where the read would run (a replica, normally), so that a prepare-execute-
// close client costs the primary nothing; any backend that has to run it later
// prepares it lazily. A statement prepared on the primary keeps the primary's
// id (no rewriting there, and streamed packets pass untouched); one prepared
// elsewhere gets an id of Causeway's, counted down from the top of the range
// so that it never meets the primary's, which count up from 1.
#include <string.h>

#include "common/log.hh"
#include "protocol/bytes.hh"
#include "protocol/constants.hh"
#include "worker/client_session.hh"
#include "worker/session_state.hh"

namespace causeway::worker {

using namespace protocol;
using shm::route_reason;

namespace {
// Statements that only begin or end a transaction.
bool transaction_control(statement_kind k)
{
    return k == statement_kind::begin || k == statement_kind::begin_read_only ||
        k == statement_kind::begin_read_write || k == statement_kind::commit || k == statement_kind::rollback;
}
constexpr std::uint16_t er_unknown_stmt_handler = 1243;
constexpr std::uint32_t last_prepared_statement = 0xffffffff;   // MariaDB: the connection's last prepare

const char* handler_name(command c)
{
    switch (c) {
        case command::stmt_execute: return "mysqld_stmt_execute";
        case command::stmt_fetch: return "mysqld_stmt_fetch";
        case command::stmt_reset: return "mysqld_stmt_reset";
        default: return "mysqld_stmt_send_long_data";
    }
}

void put_u32(char* at, std::uint32_t v)
{
    for (int i = 0; i < 4; ++i) at[i] = char((v >> (8 * i)) & 0xff);
}
}   // namespace

// The statement a command names (bytes 1..4); -1 is the last one prepared.
std::uint32_t client_session::named_statement(std::string_view payload) const
{
    byte_reader r(payload);
    r.u8();
    std::uint32_t id = r.u32();
    return id == last_prepared_statement ? last_prepared_ : id;
}

// Plans COM_STMT_PREPARE, EXECUTE, CLOSE, RESET, SEND_LONG_DATA and FETCH;
// false when the command was answered (or, for CLOSE, done) here.
bool client_session::plan_statement_command(std::string_view payload)
{
    if (plan_.cmd == command::stmt_prepare) {
        std::string_view sql = statement_text(payload);
        plan_.after.prepare = true;
        plan_.after.prepare_sql = std::string(sql);
        statement_info s = classify(sql, lex_);
        if (route_to_diagnostics(sql, s)) {   // prepared where the diagnostics it shows are
            plan_.original = std::string(payload);
        } else if (s.is_plain_read) {   // prepared where the read would run
            route_read(s);
            if (plan_.backend != 0) plan_.original = std::string(payload);
        } else if (pinned_ >= 0 && !otx_.active()) {
            // In a read-only transaction the server refuses to prepare a write
            // (ERR 1792): the transaction's replica answers, as the primary would.
            plan_.backend = pinned_;
            plan_.original = std::string(payload);
        }
        return true;
    }
    if (plan_.cmd == command::stmt_execute) return plan_execute(payload);
    std::uint32_t id = named_statement(payload);
    plan_.statement_id = id;
    auto it = statements_.find(id);
    if (plan_.cmd == command::stmt_close || plan_.cmd == command::stmt_send_long_data) {
        // No answer to either; the server ignores an unknown statement here too
        // (SEND_LONG_DATA's error comes with the next execute).
        if (it == statements_.end() || plan_.cmd == command::stmt_close) {
            if (it != statements_.end()) close_statement(it);
            evbuffer_drain(client_->input(), header_size + plan_.length);
            return false;
        }
        plan_.after.long_data = true;
        return true;   // to the primary, where the execute that uses it will run
    }
    if (it == statements_.end()) {
        reject_command(
            er_unknown_stmt_handler, "HY000",
            "Unknown prepared statement handler (" + std::to_string(id) + ") given to " + handler_name(plan_.cmd));
        return false;
    }
    if (plan_.cmd == command::stmt_reset) {
        plan_.after.long_data_reset = true;
        if (!it->second.ids.count(0)) {
            // Long data and cursors live on the primary only: nothing to reset.
            it->second.long_data = false;
            evbuffer_drain(client_->input(), header_size + plan_.length);
            send_ok(1);
            return false;
        }
    }
    return true;   // RESET, FETCH: the primary
}

bool client_session::plan_execute(std::string_view payload)
{
    std::uint32_t id = named_statement(payload);
    plan_.statement_id = id;
    auto it = statements_.find(id);
    if (it == statements_.end()) {
        reject_command(er_unknown_stmt_handler, "HY000",
                       "Unknown prepared statement handler (" + std::to_string(id) + ") given to mysqld_stmt_execute");
        return false;
    }
    prepared_statement& st = it->second;
    statement_info s = classify(st.sql, lex_);   // once: every decision below reads it
    if (st.params == 0 && transaction_control(s.kind)) {
        // BEGIN, COMMIT and ROLLBACK sent as prepared statements (DBD::MariaDB
        // and sysbench prepare them) run as their text form, whose answer is
        // the same OK: an optimistic transaction then starts, ends and is
        // replayed exactly as for the text statements (as an execute, a
        // prepared BEGIN's transaction ended with a false ERR 1213 at its
        // first write).
        std::string text = "\x03" + st.sql;
        plan_.cmd = command::query;
        bool planned = plan_query(text);
        if (!plan_.rewritten) {
            plan_.payload = std::move(text);
            plan_.rewritten = true;
        }
        return planned;
    }
    execute_view v = parse_execute(payload, st.params);
    // The client's latest types, whatever comes of this execute: it will not
    // send them again, and a backend that never sees this execute (answered
    // here, e.g. an optimistic transaction's ERR 1213) gets them inserted at
    // its next one (prepare_statement_on), else ERR 1210 there.
    if (v.ok && v.types_included) st.param_types = std::string(v.types);
    bool planned = true;
    if (!plan_optimistic_execute(st, s, v, payload, planned)) return planned;   // client_optimistic.cc
    if (!v.ok) return true;   // the primary answers a malformed execute
    if (v.types_included) {
        plan_.after.types = std::string(v.types);
        plan_.after.types_sent = true;
    }
    plan_.cannot_commit = cannot_commit(s, primary_status_ & server_status::in_trans);
    // A prepared SET (PDO native, Laravel's time zone, Perl server prepares)
    // changes the session like a SET query: replayed verbatim when it has no
    // parameters, else learnt from the server's report (client_variables.cc).
    plan_prepared_set(s, st);
    if (route_to_diagnostics(st.sql, s)) {
        plan_.original = std::string(payload);
        return true;
    }
    // A cursor must be fetched where it was opened; long data went to the primary.
    if (v.flags != 0 || st.long_data) {
        plan_.reason = route_reason::primary_unclassified;
        if (ctx_.cfg->session() == common::session_id_kind::database) {
            session_keys(*ctx_.cfg, identity_, &s, keys_);
            unrecorded_keys_.insert(unrecorded_keys_.end(), keys_.begin(), keys_.end());
        }
        return true;
    }
    if (plan_tracking_read(st.sql)) return true;   // client_variables.cc
    route_read(s);
    if (plan_.backend != 0) plan_.original = std::string(payload);
    return true;
}

// COM_STMT_BULK_EXECUTE: on the primary under the primary's id of the
// statement (prepare_statement_on), as an execute: the client's id may be one
// of Causeway's (the statement was first prepared on a replica), and -1 names
// the client's last prepare, which may not be the primary's.
void client_session::plan_bulk_execute(std::string_view payload)
{
    plan_.statement_id = named_statement(payload);
    auto it = statements_.find(plan_.statement_id);
    if (it == statements_.end()) return;   // the primary answers an unknown statement
    bulk_view v = parse_bulk_execute(payload, it->second.params);
    if (v.ok && v.types_included) {   // the client's latest types, as for an execute
        it->second.param_types = std::string(v.types);
        plan_.after.types = std::string(v.types);
        plan_.after.types_sent = true;
    }
}

// For a command naming a prepared statement, on its way to `b`: prepares the
// statement there first when b does not hold it (false while that prepare is
// out), then gives the command b's id and, for an execute, the parameter
// types b never saw (else ERR 1210 there).
bool client_session::prepare_statement_on(backend_conn& b)
{
    switch (plan_.cmd) {
        case command::stmt_execute:
        case command::stmt_bulk_execute:
        case command::stmt_send_long_data:
        case command::stmt_reset:
        case command::stmt_fetch: break;
        default: return true;
    }
    if (ctx_.cfg->routing() == common::routing_mode::bridge) return true;
    auto it = statements_.find(plan_.statement_id);
    if (it == statements_.end()) {   // closed by a pipelined COM_STMT_CLOSE? the primary answers
        if (b.index() != 0) retry_on_primary("statement unknown");
        return true;
    }
    prepared_statement& st = it->second;
    int index = b.index();
    auto id = st.ids.find(index);
    if (id == st.ids.end()) {
        b.send_internal("\x16" + st.sql, plan_.statement_id);
        return false;
    }
    if (!plan_.whole) {   // a streamed packet (over 1 MiB): its id is rewritten in place
        if (id->second != plan_.statement_id) {
            char* p = reinterpret_cast<char*>(evbuffer_pullup(client_->input(), header_size + 5));
            put_u32(p + header_size + 1, id->second);
        }
        return true;
    }
    std::string types;
    const bool executes = plan_.cmd == command::stmt_execute || plan_.cmd == command::stmt_bulk_execute;
    if (executes && !plan_.after.types_sent && st.params && !st.has_types.count(index)) {
        // The client relies on types this backend never saw: send the last ones.
        if (st.param_types.empty()) {
            if (index != 0 && retry_on_primary("no parameter types to send")) return true;
        } else {
            types = st.param_types;
        }
    }
    if (id->second == plan_.statement_id && types.empty()) return true;
    std::string_view base = plan_.payload;
    if (!plan_.rewritten) {
        const char* p = reinterpret_cast<const char*>(evbuffer_pullup(client_->input(), header_size + plan_.length));
        base = std::string_view(p + header_size, plan_.length);
    }
    std::string out;
    if (plan_.cmd == command::stmt_execute) {
        out = rewrite_execute(base, st.params, id->second, types);
    } else if (plan_.cmd == command::stmt_bulk_execute) {
        out = rewrite_bulk_execute(base, st.params, id->second, types);
    } else {
        out = std::string(base);
        if (out.size() >= 5) put_u32(out.data() + 1, id->second);
    }
    plan_.payload = std::move(out);
    plan_.rewritten = true;
    if (!types.empty()) plan_.after.types_sent = true;
    return true;
}

// COM_STMT_PREPARE's OK, on its way to the client: the id the client will use.
// The primary's own when it prepared the statement, else one of ours. Returns
// the packet to send instead, or empty when it goes as it is.
std::string client_session::name_prepared_statement(std::string_view prepare_ok)
{
    std::uint32_t server_id = plan_.after.statement_id;
    std::uint32_t client_id = server_id;
    if (active_ != 0 || statements_.count(server_id)) {
        while (statements_.count(next_own_statement_id_) || next_own_statement_id_ == last_prepared_statement ||
               next_own_statement_id_ == 0)
            --next_own_statement_id_;
        client_id = next_own_statement_id_--;
    }
    plan_.statement_id = client_id;
    if (client_id == server_id || prepare_ok.size() < 5) return {};
    std::string out(prepare_ok);
    put_u32(out.data() + 1, client_id);
    return out;
}

// After a statement command succeeded: registers a prepare, and records what
// an execute or long data changed.
void client_session::statement_done()
{
    after_ok& a = plan_.after;
    if (a.prepare) {
        if (!a.statement_id) return;
        prepared_statement st;
        st.sql = std::move(a.prepare_sql);
        st.params = a.params;
        st.ids[plan_.backend] = a.statement_id;
        statements_[plan_.statement_id] = std::move(st);
        last_prepared_ = plan_.statement_id;
        return;
    }
    auto it = statements_.find(plan_.statement_id);
    if (it == statements_.end()) return;
    prepared_statement& st = it->second;
    if (a.types_sent) {
        if (!a.types.empty()) st.param_types = a.types;
        st.has_types.insert(plan_.backend);
    }
    if (a.long_data)
        st.long_data = true;
    else if (a.long_data_reset || plan_.cmd == command::stmt_execute)
        st.long_data = false;   // consumed
}

// COM_STMT_CLOSE: on every backend that holds the statement (no answer).
void client_session::close_statement(std::map<std::uint32_t, prepared_statement>::iterator it)
{
    for (auto& [index, id] : it->second.ids) {
        backend_conn* b = backends_[std::size_t(index)].get();
        if (!b || !b->ready()) continue;
        std::string close(1, char(command::stmt_close));
        byte_writer(close).u32(id);
        b->send_no_answer(close);
    }
    if (last_prepared_ == it->first) last_prepared_ = 0;
    statements_.erase(it);
}

}   // namespace causeway::worker
