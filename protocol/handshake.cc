// Codecs of the connection phase (see handshake.hh). Field order and the
// optional parts follow the protocol documentation; parsers are lenient where
// real clients differ (a missing plugin name or database) and strict on
// lengths, so no input can read past the payload.
#include "protocol/handshake.hh"

#include "protocol/bytes.hh"
#include "protocol/constants.hh"

namespace causeway::protocol {

using common::error;
using common::result;

std::string build_greeting(const server_greeting& g)
{
    std::string out;
    byte_writer w(out);
    w.u8(g.protocol_version);
    w.null_terminated(g.server_version);
    w.u32(g.connection_id);
    w.bytes(std::string_view(g.scramble).substr(0, 8));
    w.u8(0);
    w.u16(std::uint16_t(g.capabilities & 0xffff));
    w.u8(g.charset);
    w.u16(g.status);
    w.u16(std::uint16_t(g.capabilities >> 16));
    w.u8(std::uint8_t(g.scramble.size() + 1));
    w.zeros(6);
    if (g.capabilities & cap::long_password)
        w.zeros(4);
    else
        w.u32(g.mariadb_capabilities);
    w.null_terminated(std::string_view(g.scramble).substr(8));
    w.null_terminated(g.auth_plugin);
    return out;
}

result<server_greeting> parse_greeting(std::string_view payload)
{
    byte_reader r(payload);
    server_greeting g;
    g.protocol_version = r.u8();
    if (g.protocol_version != 10) return error{0, "unsupported protocol version " + std::to_string(g.protocol_version)};
    g.server_version = std::string(r.null_terminated());
    g.connection_id = r.u32();
    std::string scramble(r.bytes(8));
    r.skip(1);
    g.capabilities = r.u16();
    if (r.at_end()) {   // a pre-4.1 greeting: the 8 bytes are the whole scramble
        if (r.failed()) return error{0, "truncated greeting"};
        g.scramble = scramble;
        return g;
    }
    g.charset = r.u8();
    g.status = r.u16();
    g.capabilities |= std::uint32_t(r.u16()) << 16;
    std::uint8_t auth_len = r.u8();
    r.skip(6);
    std::uint32_t ext = r.u32();
    if (!(g.capabilities & cap::long_password)) g.mariadb_capabilities = ext;
    if (g.capabilities & cap::secure_connection) {
        std::size_t n = auth_len > 8 ? std::size_t(auth_len) - 8 : 13;
        if (n < 13) n = 13;
        std::string_view part2 = r.bytes(n);
        if (!part2.empty() && part2.back() == '\0') part2.remove_suffix(1);
        scramble.append(part2);
    }
    if (g.capabilities & cap::plugin_auth) {
        g.auth_plugin = std::string(r.remaining() ? r.rest() : std::string_view());
        if (!g.auth_plugin.empty() && g.auth_plugin.back() == '\0') g.auth_plugin.pop_back();
    }
    if (r.failed()) return error{0, "truncated greeting"};
    g.scramble = scramble;
    return g;
}

result<handshake_response> parse_handshake_response(std::string_view payload)
{
    byte_reader r(payload);
    handshake_response h;
    h.capabilities = r.u32();
    if (r.failed() || !(h.capabilities & cap::protocol_41))
        return error{0, "pre-4.1 handshake response (CLIENT_PROTOCOL_41 not set)"};
    h.max_packet = r.u32();
    h.charset = r.u8();
    r.skip(19);
    std::uint32_t ext = r.u32();
    if (!(h.capabilities & cap::long_password)) h.mariadb_capabilities = ext;
    if (r.failed()) return error{0, "truncated handshake response"};
    if (r.at_end()) {
        h.ssl_request = true;
        return h;
    }
    h.user = std::string(r.null_terminated());
    if (h.capabilities & cap::plugin_auth_lenenc_data)
        h.auth_response = std::string(r.lenenc_bytes());
    else if (h.capabilities & cap::secure_connection)
        h.auth_response = std::string(r.bytes(r.u8()));
    else
        h.auth_response = std::string(r.null_terminated());
    if ((h.capabilities & cap::connect_with_db) && !r.at_end()) h.database = std::string(r.null_terminated());
    if ((h.capabilities & cap::plugin_auth) && !r.at_end()) h.auth_plugin = std::string(r.null_terminated());
    if ((h.capabilities & cap::connect_attrs) && !r.at_end()) h.connect_attrs = std::string(r.lenenc_bytes());
    if (r.failed()) return error{0, "malformed handshake response"};
    return h;
}

std::string build_handshake_response(const handshake_response& h)
{
    std::string out;
    byte_writer w(out);
    w.u32(h.capabilities);
    w.u32(h.max_packet);
    w.u8(h.charset);
    w.zeros(19);
    if (h.capabilities & cap::long_password)
        w.zeros(4);
    else
        w.u32(h.mariadb_capabilities);
    if (h.ssl_request) return out;   // the fixed 32 bytes only; the rest follows over TLS
    w.null_terminated(h.user);
    if (h.capabilities & cap::plugin_auth_lenenc_data)
        w.lenenc_bytes(h.auth_response);
    else if (h.capabilities & cap::secure_connection)
        w.u8(std::uint8_t(h.auth_response.size())), w.bytes(h.auth_response);
    else
        w.null_terminated(h.auth_response);
    if (h.capabilities & cap::connect_with_db) w.null_terminated(h.database);
    if (h.capabilities & cap::plugin_auth) w.null_terminated(h.auth_plugin);
    if (h.capabilities & cap::connect_attrs) w.lenenc_bytes(h.connect_attrs);
    return out;
}

std::string build_auth_switch(std::string_view plugin, std::string_view data)
{
    std::string out;
    byte_writer w(out);
    w.u8(auth_switch_marker);
    w.null_terminated(plugin);
    w.null_terminated(data);
    return out;
}

result<auth_switch> parse_auth_switch(std::string_view payload)
{
    byte_reader r(payload);
    if (r.u8() != auth_switch_marker) return error{0, "not an auth switch request"};
    auth_switch s;
    s.plugin = std::string(r.null_terminated());
    s.data = std::string(r.rest());
    if (!s.data.empty() && s.data.back() == '\0') s.data.pop_back();
    if (r.failed()) return error{0, "malformed auth switch request"};
    return s;
}

result<change_user_request> parse_change_user(std::string_view payload, std::uint32_t caps)
{
    byte_reader r(payload);
    change_user_request c;
    if (r.u8() != std::uint8_t(command::change_user)) return error{0, "not COM_CHANGE_USER"};
    c.user = std::string(r.null_terminated());
    if (caps & cap::secure_connection)
        c.auth_response = std::string(r.bytes(r.u8()));
    else
        c.auth_response = std::string(r.null_terminated());
    c.database = std::string(r.null_terminated());
    if (!r.at_end()) c.charset = r.u16();
    if ((caps & cap::plugin_auth) && !r.at_end()) c.auth_plugin = std::string(r.null_terminated());
    if ((caps & cap::connect_attrs) && !r.at_end()) c.connect_attrs = std::string(r.lenenc_bytes());
    if (r.failed()) return error{0, "malformed COM_CHANGE_USER"};
    return c;
}

}   // namespace causeway::protocol
