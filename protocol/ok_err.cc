// OK/EOF/ERR codecs (see ok_err.hh).
#include "protocol/ok_err.hh"

#include <strings.h>

#include "protocol/bytes.hh"
#include "protocol/constants.hh"

namespace causeway::protocol {

using common::error;
using common::result;

result<ok_packet> parse_ok(std::string_view payload, std::uint32_t caps)
{
    byte_reader r(payload);
    ok_packet ok;
    ok.marker = r.u8();
    if (ok.marker != ok_marker && ok.marker != eof_marker) return error{0, "not an OK packet"};
    ok.affected_rows = r.lenenc();
    ok.last_insert_id = r.lenenc();
    ok.status = r.u16();
    ok.warnings = r.u16();
    if (r.failed()) return error{0, "truncated OK packet"};
    if (r.at_end()) return ok;
    if (caps & cap::session_track) {
        ok.info = r.lenenc_bytes();
        if ((ok.status & server_status::session_state_changed) && !r.at_end()) ok.session_state = r.lenenc_bytes();
    } else {
        // MariaDB sends the info length-encoded to every client; MySQL as
        // string<EOF>. Accept both: a lenenc that exactly fills the rest.
        byte_reader probe = r;
        std::string_view v = probe.lenenc_bytes();
        ok.info = (!probe.failed() && probe.at_end()) ? v : r.rest();
    }
    if (r.failed()) return error{0, "malformed OK packet"};
    return ok;
}

std::string_view tracked_variable(std::string_view session_state, std::string_view name)
{
    std::string_view found;
    for_each_tracked_variable(session_state, [&](std::string_view var, std::string_view value) {
        if (var == name) found = value;   // the last one wins
    });
    return found;
}

bool in_tracking_list(std::string_view list, std::string_view name)
{
    auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
    while (!list.empty()) {
        std::size_t comma = list.find(',');
        std::string_view item = list.substr(0, comma);
        while (!item.empty() && blank(item.front())) item.remove_prefix(1);
        while (!item.empty() && blank(item.back())) item.remove_suffix(1);
        if (item == "*") return true;
        if (!item.empty() && item.size() == name.size() && strncasecmp(item.data(), name.data(), name.size()) == 0)
            return true;
        if (comma == std::string_view::npos) break;
        list.remove_prefix(comma + 1);
    }
    return false;
}

std::string keep_tracked_variables(std::string_view session_state, std::string_view list)
{
    std::string out;
    byte_writer w(out);
    byte_reader r(session_state);
    while (!r.at_end()) {
        std::uint8_t type = r.u8();
        std::string_view data = r.lenenc_bytes();
        if (r.failed()) return std::string(session_state);   // not ours to judge: as the server sent it
        if (type == track_system_variables) {
            byte_reader entry(data);
            std::string_view name = entry.lenenc_bytes();
            if (!entry.failed() && !in_tracking_list(list, name)) continue;
        }
        w.u8(type);
        w.lenenc_bytes(data);
    }
    return out;
}

std::string build_ok(const ok_packet& ok, std::uint32_t client_caps)
{
    std::string out;
    byte_writer w(out);
    w.u8(ok.marker);
    w.lenenc(ok.affected_rows);
    w.lenenc(ok.last_insert_id);
    bool track = client_caps & cap::session_track;
    std::uint16_t status = ok.status;
    if (!track) status &= std::uint16_t(~server_status::session_state_changed);
    w.u16(status);
    w.u16(ok.warnings);
    if (track && (status & server_status::session_state_changed)) {
        w.lenenc_bytes(ok.info);
        w.lenenc_bytes(ok.session_state);
    } else if (!ok.info.empty()) {
        w.lenenc_bytes(ok.info);
    }
    return out;
}

bool is_eof(std::string_view payload)
{
    return !payload.empty() && std::uint8_t(payload[0]) == eof_marker && payload.size() < 9;
}

eof_packet parse_eof(std::string_view payload)
{
    byte_reader r(payload);
    r.u8();
    eof_packet e;
    e.warnings = r.u16();
    e.status = r.u16();
    return e;
}

result<err_packet> parse_err(std::string_view payload)
{
    byte_reader r(payload);
    if (r.u8() != err_marker) return error{0, "not an ERR packet"};
    err_packet e;
    e.code = r.u16();
    if (r.failed()) return error{0, "truncated ERR packet"};
    if (r.remaining() >= 6 && payload[3] == '#') {
        r.skip(1);
        e.sql_state = r.bytes(5);
    }
    e.message = r.rest();
    return e;
}

std::string build_err(std::uint16_t code, std::string_view sql_state, std::string_view message)
{
    std::string out;
    byte_writer w(out);
    w.u8(err_marker);
    w.u16(code);
    w.u8('#');
    w.bytes(sql_state.substr(0, 5));
    w.bytes(message.substr(0, 512));
    return out;
}

}   // namespace causeway::protocol
