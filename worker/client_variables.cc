// Session variables as the server reports them. The primary connection
// tracks every system variable, so each OK names what its statement changed,
// whatever the form (a procedure, EXECUTE, a multi-statement, a prepared SET
// with parameters): those changes are carried to the replica connections, and
// the client's OKs are cut back to the variables it tracks itself.
#include <strings.h>

#include "common/log.hh"
#include "protocol/constants.hh"
#include "protocol/lex_session.hh"
#include "protocol/ok_err.hh"
#include "shm/counters.hh"
#include "worker/client_session.hh"
#include "worker/session_vars.hh"

namespace causeway::worker {

using namespace protocol;

// On a primary connection: read the session's tracking lists (what they mean
// depends on `tag`: see session_state.hh), then track everything. On a new or
// reset session the read waits for a statement that needs it.
void client_session::track_session(backend_conn& primary, std::uint64_t tag)
{
    if (tag == tracking_fresh_tag) {
        client_tracking_known_ = false;
        tracking_read_pending_ = true;
    } else {
        primary.send_internal(tracking_lists_query, tag);
    }
    primary.send_internal(track_all_variables_query);
}

// Before a command on the primary whose answer may report variables (anything
// but a plain read: its OK is cut to the client's list) or show the list.
void client_session::read_tracking_list(backend_conn& primary)
{
    if (!tracking_read_pending_ || (plan_.plain_read && !plan_.tracking_rows)) return;
    if (plan_.cmd != command::query && plan_.cmd != command::stmt_execute && plan_.cmd != command::stmt_bulk_execute)
        return;
    tracking_read_pending_ = false;
    primary.send_internal(tracking_lists_query, tracking_fresh_tag);
}

void client_session::tracking_answered(const internal_answer& a)
{
    auto lists = a.ok && a.has_value && !a.value_null ? parse_tracking_lists(a.value) : std::nullopt;
    if (!lists) {   // OKs then reach the client as the server sent them, as before
        client_tracking_known_ = false;
        return;
    }
    if (a.tag == tracking_fresh_tag) {
        client_tracking_ = lists->global;
        client_tracking_known_ = true;
    } else if (a.tag == tracking_set_tag || lists->session != "*") {
        // The client's SET, or one it ran where we could not see it (a
        // procedure, EXECUTE): its list from now on. Elsewhere '*' is ours, or
        // the client's own as its OK reported it (learn_session_variables).
        client_tracking_ = lists->session;
        client_tracking_known_ = true;
    }
}

// The OK as the client would get it from the server: only the variables its
// own list names (the primary tracks them all). Empty: forward it unchanged.
std::string client_session::as_client_tracks(const ok_packet& ok) const
{
    if (!client_tracking_known_ || active_ != 0 || plan_.after.retrack) return {};
    std::string kept = keep_tracked_variables(ok.session_state, client_tracking_);
    if (kept.size() == ok.session_state.size()) return {};
    ok_packet client = ok;
    client.session_state = kept;
    // Nothing left to report: the server would not have flagged a change.
    if (kept.empty()) client.status &= std::uint16_t(~server_status::session_state_changed);
    return build_ok(client, login_.capabilities);
}

// What a statement changed, from the primary's report, for the statements
// whose text is not replayed verbatim (a SET replayed as it was written is
// already in the log). The server is the truth: replica connections get each
// variable's new value as a plain SET. Applied at once, even if the answer
// ends in an error, since the change happened.
void client_session::start_lexing_as_new_session()
{
    lex_ = protocol::lex_options{};
    // A new server session starts with the global sql_mode (as the poller
    // last read it on the primary; the server default until then).
    shm::progress_snapshot primary = ctx_.progress.read(shm::primary_index);
    if (primary.ok && primary.sql_mode_known) {
        lex_.ansi_quotes = primary.ansi_quotes;
        lex_.no_backslash_escapes = primary.no_backslash_escapes;
    }
    lex_.multibyte_unsafe_charset = protocol::multibyte_unsafe_collation(login_.charset);
}

// Whatever the statement (a SET, a SET inside CALL or EXECUTE, SET NAMES), the
// primary reports these when they change: the next statement lexes as the
// server will read it.
void client_session::learn_lexing_variable(std::string_view name, std::string_view value)
{
    if (name.size() == 8 && strncasecmp(name.data(), "sql_mode", 8) == 0)
        protocol::apply_sql_mode(lex_, value);
    else if (name.size() == 20 && strncasecmp(name.data(), "character_set_client", 20) == 0)
        lex_.multibyte_unsafe_charset = protocol::multibyte_unsafe_charset(value);
}

void client_session::learn_session_variables(const ok_packet& ok)
{
    after_ok& a = plan_.after;
    // Its clause's values are temporary (main.ctype_utf8mb4_innodb: a strict
    // sql_mode lost on the replicas after SET STATEMENT sql_mode = '...' FOR
    // INSERT): neither carried nor lexed with.
    if (a.set_statement) return;
    // Lexing follows every report; the replicas need none in bridge mode, nor
    // after a SET that is replayed as written.
    const bool carry = ctx_.cfg->routing() != common::routing_mode::bridge && !(a.replay && !a.replay_payload.empty());
    for_each_tracked_variable(ok.session_state, [&](std::string_view name, std::string_view value) {
        learn_lexing_variable(name, value);
        if (!carry) return;
        switch (tracked_variable_action(name)) {
            case tracked_action::ignore: return;
            case tracked_action::handled:
                // Reported only when the new list names it ('*'): the client's
                // list now. Any other list makes the server stop reporting: track
                // everything again after this statement.
                if (strncasecmp(name.data(), "session_track_system_variables", name.size()) == 0 && name.size() == 30) {
                    client_tracking_ = std::string(value);
                    client_tracking_known_ = true;
                    if (!in_tracking_list(value, "*")) a.retrack = true;
                }
                return;
            case tracked_action::profiling:
                // SHOW PROFILES lists the statements of the server it runs on.
                if (strcasecmp(std::string(value).c_str(), "OFF") != 0 && value != "0") measuring_ = true;
                return;
            case tracked_action::primary_only: replay_.mark_unknown(); return;
            case tracked_action::replay: break;
        }
        if (auto set = replay_set(name, value))
            replay_.add(*set, "var:" + std::string(name));
        else
            replay_.mark_unknown();
    });
}

// A prepared SET with parameters cannot be replayed as written; the server's
// report names every system variable it set (learn_session_variables), so the
// replicas stay known unless it also set a user variable, which no report
// names.
void client_session::plan_prepared_set(const statement_info& s, const prepared_statement& st)
{
    if (st.params == 0) return plan_set(s, "\x03" + st.sql);
    plan_set(s, std::string());
    after_ok& a = plan_.after;
    a.retrack = mentions(st.sql, "session_track_system_variables");
    a.measuring = mentions(st.sql, "profiling");
    if (a.replay && !set_assigns_user_variable(st.sql)) {
        a.replay = false;   // learnt from the OK instead
        a.restore_autocommit = false;
    }
}

// A read (a query or a prepared statement's execute) that may show
// session_track_system_variables runs on the primary, where the session's
// list is known, and its rows get the client's value (answer_rows.hh); false
// when it is routed as usual.
bool client_session::plan_tracking_read(std::string_view sql)
{
    bool list_known_or_coming = client_tracking_known_ || tracking_read_pending_;
    if (!list_known_or_coming || (client_tracking_known_ && client_tracking_ == "*") || !may_read_tracking_list(sql))
        return false;
    // SHOW GLOBAL VARIABLES, @@global.x: not the session's value.
    if (mentions(sql, "global")) return false;
    plan_.tracking_rows = true;
    // Named (@@..., or WHERE variable_name = '...'): whatever column shows it.
    plan_.tracking_by_value = mentions(sql, "@@") || mentions(sql, "session_track_system_variables");
    plan_.backend = 0;
    plan_.reason = shm::route_reason::primary_unclassified;
    return true;
}

}   // namespace causeway::worker
