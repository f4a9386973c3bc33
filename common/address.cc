// Parsing and resolving host:port addresses (see address.hh).
#include "common/address.hh"

#include <netdb.h>
#include <string.h>

#include <charconv>

namespace causeway::common {

std::string address::to_string() const
{
    if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
    return host + ":" + std::to_string(port);
}

result<address> parse_address(std::string_view text)
{
    address a;
    std::string_view port_text;
    if (!text.empty() && text.front() == '[') {
        auto close = text.find(']');
        if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':')
            return error{0, "expected [ipv6]:port, got '" + std::string(text) + "'"};
        a.host = std::string(text.substr(1, close - 1));
        port_text = text.substr(close + 2);
    } else {
        auto colon = text.rfind(':');
        if (colon == std::string_view::npos || colon == 0)
            return error{0, "expected host:port, got '" + std::string(text) + "'"};
        a.host = std::string(text.substr(0, colon));
        port_text = text.substr(colon + 1);
    }
    unsigned port = 0;
    auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc() || end != port_text.data() + port_text.size() || port == 0 || port > 65535)
        return error{0, "bad port in '" + std::string(text) + "' (1..65535)"};
    a.port = std::uint16_t(port);
    return a;
}

result<resolved_address> resolve(const address& a)
{
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    std::string port = std::to_string(a.port);
    int rc = getaddrinfo(a.host.c_str(), port.c_str(), &hints, &res);
    if (rc != 0 || !res) return error{0, "resolve " + a.to_string() + ": " + gai_strerror(rc)};
    resolved_address out;
    memcpy(&out.storage, res->ai_addr, res->ai_addrlen);
    out.length = res->ai_addrlen;
    freeaddrinfo(res);
    return out;
}

}   // namespace causeway::common
