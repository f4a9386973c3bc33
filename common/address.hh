// host:port addresses as written in the config ("127.0.0.1:3306",
// "[::1]:3306", "/run/mysqld/mysqld.sock" is not supported: TCP only).
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.hh"

namespace causeway::common {

struct address {
    std::string host;   // numeric IPv4/IPv6 or a name resolved at start
    std::uint16_t port = 0;

    std::string to_string() const;
    bool operator==(const address&) const = default;
};

// Parses "host:port" or "[v6]:port"; the port must be 1..65535.
result<address> parse_address(std::string_view text);

// Resolves to a socket address (numeric hosts never block; names use getaddrinfo
// once, at config time, never on the data path).
struct resolved_address {
    sockaddr_storage storage{};
    socklen_t length = 0;
    const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&storage); }
};
result<resolved_address> resolve(const address& a);

}   // namespace causeway::common
