// Reported session variables (see session_vars.hh).
#include "worker/session_vars.hh"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#include <algorithm>
#include <optional>

#include "protocol/sql_lexer.hh"
#include "worker/session_state.hh"

namespace causeway::worker {

namespace {
bool same_name(std::string_view a, std::string_view b)
{
    return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}
bool has_prefix(std::string_view name, std::string_view prefix)
{
    return name.size() >= prefix.size() && strncasecmp(name.data(), prefix.data(), prefix.size()) == 0;
}
// 10, -1, 1000.000000: as the server writes a numeric variable's value.
bool is_number(std::string_view v)
{
    std::size_t i = !v.empty() && v[0] == '-' ? 1 : 0;
    std::size_t digits = 0, dots = 0;
    for (; i < v.size(); ++i) {
        if (isdigit((unsigned char)v[i]))
            ++digits;
        else if (v[i] == '.' && digits && !dots)
            ++dots;
        else
            return false;
    }
    return digits && v.back() != '.';
}
}   // namespace

tracked_action tracked_variable_action(std::string_view name)
{
    // Followed by the session from the statement text and the OK's status
    // flags (autocommit=0 replayed would open a transaction on a replica whose
    // snapshot goes stale), or our own tracking.
    static constexpr std::string_view handled[] = {
        "autocommit", "in_transaction", "transaction_read_only", "tx_read_only", "session_track_system_variables",
        "last_gtid"};
    // They change only what the primary writes to its binlog or remembers for
    // its next insert; a replica connection needs privileges the application
    // user may lack for some (sql_log_bin, gtid_*), and a read returns the same.
    // rand_seed*: RAND() is answered on the primary anyway (unrepeatable).
    static constexpr std::string_view ignored[] = {"sql_log_bin",
                                                   "skip_replication",
                                                   "server_id",
                                                   "gtid_domain_id",
                                                   "gtid_seq_no",
                                                   "insert_id",
                                                   "last_insert_id",
                                                   "identity",
                                                   "rand_seed1",
                                                   "rand_seed2",
                                                   "pseudo_thread_id",
                                                   "pseudo_slave_mode",
                                                   "sql_log_off",
                                                   "binlog_format",
                                                   "binlog_annotate_row_events",
                                                   "binlog_row_image",
                                                   "binlog_direct_non_transactional_updates",
                                                   "binlog_row_metadata"};
    for (std::string_view n : handled)
        if (same_name(n, name)) return tracked_action::handled;
    for (std::string_view n : ignored)
        if (same_name(n, name)) return tracked_action::ignore;
    if (has_prefix(name, "wsrep_")) return tracked_action::ignore;
    if (same_name(name, "profiling")) return tracked_action::profiling;
    // The server reports the value it last set, not "now" after SET timestamp
    // = DEFAULT (10.11 reports the old fixed time): replayed, it would freeze
    // NOW() on the replicas.
    if (same_name(name, "timestamp")) return tracked_action::primary_only;
    bool plain = !name.empty() &&
        std::all_of(name.begin(), name.end(), [](char c) { return isalnum((unsigned char)c) || c == '_'; });
    return plain ? tracked_action::replay : tracked_action::primary_only;
}

std::optional<std::string> replay_set(std::string_view name, std::string_view value)
{
    if (tracked_variable_action(name) != tracked_action::replay) return std::nullopt;
    if (value.find_first_of(std::string_view("\\\0", 2)) != std::string_view::npos) return std::nullopt;
    std::string set = "\x03SET @@session." + std::string(name) + " = ";
    // Numeric variables refuse a string ('10' for div_precision_increment:
    // ERR 1232), and every other kind refuses a number that is not one of its
    // values, which the server would not have reported.
    if (is_number(value)) return set + std::string(value);
    set += '\'';
    for (char c : value) set += c == '\'' ? std::string("''") : std::string(1, c);
    return set + "'";
}

bool set_assigns_user_variable(std::string_view sql)
{
    protocol::sql_lexer lex(sql, protocol::lex_options{});
    int depth = 0;
    bool target_next = false;   // the next token at depth 0 is an assignment's target
    bool first = true;
    for (protocol::token t = lex.next(); t.kind != protocol::token_kind::end; t = lex.next()) {
        if (first) {
            first = false;
            if (t.kind != protocol::token_kind::word || !same_name(t.text, "set")) return true;
            target_next = true;
            continue;
        }
        if (t.kind == protocol::token_kind::punct) {
            if (t.ch == '(') ++depth;
            if (t.ch == ')') --depth;
            if (t.ch == ',' && depth == 0) target_next = true;
            continue;
        }
        if (!target_next || depth != 0) continue;
        // SET [SESSION | LOCAL | GLOBAL] name = ...: the scope word is not the target.
        if (t.kind == protocol::token_kind::word &&
            (same_name(t.text, "session") || same_name(t.text, "local") || same_name(t.text, "global")))
            continue;
        if (t.kind == protocol::token_kind::user_variable) return true;
        target_next = false;
    }
    return lex.unterminated() || lex.doubtful() || first;
}

bool may_read_tracking_list(std::string_view sql)
{
    // The common case, no "variables" at all, costs two memchr passes (the
    // sysbench read path pays only this: ~50 ns for its statements, against
    // ~20-40 us of proxy CPU per query).
    constexpr std::string_view rest = "ariables";
    bool seen = false;
    for (char v : {'v', 'V'}) {
        const char* p = sql.data();
        const char* end = sql.data() + sql.size();
        while (!seen && p < end && (p = static_cast<const char*>(memchr(p, v, std::size_t(end - p))))) {
            ++p;
            seen = std::size_t(end - p) >= rest.size() && strncasecmp(p, rest.data(), rest.size()) == 0;
        }
    }
    if (!seen) return false;
    // By name; SHOW [SESSION] VARIABLES; information_schema.SESSION_VARIABLES.
    // A table of the application's called `variables` stays a plain read.
    return mentions(sql, "session_track_system_variables") || mentions(sql, "session_variables") ||
        (starts_with_word(sql, "show") && mentions(sql, "variables"));
}

std::optional<tracking_lists> parse_tracking_lists(std::string_view answer)
{
    auto semi = answer.find(';');
    if (semi == std::string_view::npos) return std::nullopt;
    return tracking_lists{std::string(answer.substr(0, semi)), std::string(answer.substr(semi + 1))};
}

}   // namespace causeway::worker
