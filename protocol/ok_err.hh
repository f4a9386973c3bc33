// OK, EOF and ERR packets: parsing (with the session-state block, where the
// server reports last_gtid), building, and the rewrite that removes session
// tracking for clients that did not ask for it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.hh"
#include "protocol/bytes.hh"
#include "protocol/constants.hh"

namespace causeway::protocol {

struct ok_packet {
    std::uint8_t marker = 0;   // 0x00, or 0xfe when it ends a result set (DEPRECATE_EOF)
    std::uint64_t affected_rows = 0;
    std::uint64_t last_insert_id = 0;
    std::uint16_t status = 0;
    std::uint16_t warnings = 0;
    std::string_view info;
    std::string_view session_state;   // the raw tracker block, empty if none
};

// `capabilities` are those negotiated on the connection the packet came from.
common::result<ok_packet> parse_ok(std::string_view payload, std::uint32_t capabilities);

// The value of a system variable in a session-state block ("last_gtid"), or
// an empty view when it is not there.
std::string_view tracked_variable(std::string_view session_state, std::string_view name);

// Calls f(name, value) for every system variable of a session-state block, in
// order; stops where the block itself is malformed.
template <typename F>
void for_each_tracked_variable(std::string_view session_state, F f);

// Whether a session_track_system_variables value ("autocommit,time_zone",
// "*", "") names `name` (case-insensitive, blanks around names ignored).
bool in_tracking_list(std::string_view list, std::string_view name);

// The session-state block with the system-variable entries of variables that
// `list` does not name removed (the other trackers' entries are kept): what
// the server would send a session tracking `list`, when it tracks more.
std::string keep_tracked_variables(std::string_view session_state, std::string_view list);

// The OK as a client without CLIENT_SESSION_TRACK expects it (MariaDB writes
// the info as a length-encoded string when it is not empty, and nothing
// otherwise; SERVER_SESSION_STATE_CHANGED is cleared).
std::string build_ok(const ok_packet& ok, std::uint32_t client_capabilities);

struct eof_packet {
    std::uint16_t warnings = 0;
    std::uint16_t status = 0;
};
// A classic EOF: 0xfe and fewer than 9 bytes.
bool is_eof(std::string_view payload);
eof_packet parse_eof(std::string_view payload);

struct err_packet {
    std::uint16_t code = 0;
    std::string_view sql_state;   // 5 characters, or empty before the handshake
    std::string_view message;
};
common::result<err_packet> parse_err(std::string_view payload);
std::string build_err(std::uint16_t code, std::string_view sql_state, std::string_view message);

// Error codes the proxy itself sends, with the server's SQLSTATEs.
namespace er {
inline constexpr std::uint16_t con_count = 1040;   // 08004 Too many connections
inline constexpr std::uint16_t access_denied = 1045;   // 28000
inline constexpr std::uint16_t unknown_com = 1047;   // 08S01
inline constexpr std::uint16_t out_of_order = 1156;   // 08S01
inline constexpr std::uint16_t net_read_error = 1158;   // 08S01
inline constexpr std::uint16_t malformed_packet = 1835;   // HY000
// No primary to send the statement to (down, switching, split brain): the
// code a read-only server gives a write, as MaxScale's error_on_write does.
inline constexpr std::uint16_t no_primary = 1290;   // HY000
// The primary changed under an open transaction, which was rolled back: the
// code of a deadlock, so that applications and ORMs restart the transaction.
inline constexpr std::uint16_t transaction_lost = 1213;   // 40001
// Causeway's own codes. Not 2003/2013: those are client-library codes, and
// Connector/C turns a server ERR carrying a code in 2000-2999 into 2027
// "Received malformed packet".
inline constexpr std::uint16_t backend_unavailable = 9001;   // HY000
inline constexpr std::uint16_t backend_lost = 9002;   // HY000
inline constexpr std::uint16_t not_supported_auth = 1251;   // 08004
// What a 10.11 server answers at login, beyond 1045: a locked account
// (after a right password); an expired password.
inline constexpr std::uint16_t account_has_been_locked = 4151;   // HY000
inline constexpr std::uint16_t must_change_password_login = 1862;   // HY000
}   // namespace er

template <typename F>
void for_each_tracked_variable(std::string_view session_state, F f)
{
    byte_reader r(session_state);
    while (!r.at_end() && !r.failed()) {
        std::uint8_t type = r.u8();
        std::string_view data = r.lenenc_bytes();
        if (r.failed()) return;
        if (type != track_system_variables) continue;
        byte_reader entry(data);
        std::string_view name = entry.lenenc_bytes();
        std::string_view value = entry.lenenc_bytes();
        if (!entry.failed()) f(name, value);   // an entry overrunning its own data is skipped
    }
}

}   // namespace causeway::protocol
