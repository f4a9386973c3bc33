// Which system variables the primary reports changed (it tracks them all:
// session_track_system_variables = '*') are carried to the session's replica
// connections, and how. Pure decisions, table-tested; the I/O that reads the
// reports and sends the SETs is client_variables.cc.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace causeway::worker {

// What to do with a reported change of one session variable.
enum class tracked_action {
    replay,   // SET it on every replica connection of the session, as reported
    ignore,   // no effect on what a read returns, or only where it ran (binlog, positions)
    handled,   // transaction state, tracking: the session follows it itself
    profiling,   // SHOW PROFILES answers from where the statements ran: reads stay on the primary
    primary_only,   // cannot be replayed faithfully: the session reads from the primary
};
tracked_action tracked_variable_action(std::string_view name);

// `SET @@session.name = 'value'` (a COM_QUERY payload) to replay a reported
// value; nullopt when the name or value cannot be written safely (a backslash
// means different things under NO_BACKSLASH_ESCAPES, a NUL byte ends nothing).
std::optional<std::string> replay_set(std::string_view name, std::string_view value);

// Whether a SET statement assigns a user variable (`SET @x = ?`): the server
// reports system variables only, so such a SET with parameters cannot be
// learnt from its OK. True when the text cannot be read (doubt).
bool set_assigns_user_variable(std::string_view sql);

// Whether a statement may read session_track_system_variables (by name, or in
// SHOW VARIABLES / information_schema.SESSION_VARIABLES): one pass over the
// text, cheap enough for every query.
bool may_read_tracking_list(std::string_view sql);

// The answer of tracking_lists_query: "session;global" values of
// session_track_system_variables.
struct tracking_lists {
    std::string session;
    std::string global;
};
std::optional<tracking_lists> parse_tracking_lists(std::string_view answer);

}   // namespace causeway::worker
