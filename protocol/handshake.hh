// The connection phase: the server greeting (HandshakeV10), the client's
// HandshakeResponse41, the auth-switch request, and COM_CHANGE_USER's body.
// Parsers take a payload (no header) and return a value or an error; builders
// return a payload. No I/O.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.hh"

namespace causeway::protocol {

struct server_greeting {
    std::uint8_t protocol_version = 10;
    std::string server_version;
    std::uint32_t connection_id = 0;
    std::string scramble;   // 20 bytes for mysql_native_password
    std::uint32_t capabilities = 0;
    std::uint8_t charset = 0;
    std::uint16_t status = 0;
    std::uint32_t mariadb_capabilities = 0;   // only when !(capabilities & long_password)
    std::string auth_plugin;
};

std::string build_greeting(const server_greeting& g);
common::result<server_greeting> parse_greeting(std::string_view payload);

struct handshake_response {
    std::uint32_t capabilities = 0;
    std::uint32_t max_packet = 0;
    std::uint8_t charset = 0;
    std::uint32_t mariadb_capabilities = 0;
    std::string user;
    std::string auth_response;
    std::string database;
    std::string auth_plugin;
    std::string connect_attrs;   // the attribute block's bytes, without its lenenc length
    bool ssl_request = false;   // the 32-byte SSLRequest that precedes a TLS handshake
};

common::result<handshake_response> parse_handshake_response(std::string_view payload);
std::string build_handshake_response(const handshake_response& r);

// 0xfe, plugin name, plugin data: asks the other side to answer with `plugin`.
std::string build_auth_switch(std::string_view plugin, std::string_view data);
struct auth_switch {
    std::string plugin;
    std::string data;
};
common::result<auth_switch> parse_auth_switch(std::string_view payload);

struct change_user_request {
    std::string user;
    std::string auth_response;
    std::string database;
    std::uint16_t charset = 0;
    std::string auth_plugin;
    std::string connect_attrs;
};
// `client_capabilities` decides the optional fields, as the server does.
common::result<change_user_request> parse_change_user(std::string_view payload, std::uint32_t client_capabilities);

}   // namespace causeway::protocol
