// mysql_native_password: the scramble exchange the proxy uses both to check
// clients and to log in to backends. SHA-1 is implemented here (the design
// card's packages have no crypto library; this is the only use of a hash).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace causeway::protocol {

using sha1_digest = std::array<std::uint8_t, 20>;

sha1_digest sha1(std::string_view a, std::string_view b = {});

inline constexpr std::size_t scramble_size = 20;
inline constexpr const char* native_password_plugin = "mysql_native_password";

// The client's answer to a 20-byte scramble:
// SHA1(password) XOR SHA1(scramble + SHA1(SHA1(password))); empty for an
// empty password.
std::string native_password_token(std::string_view password, std::string_view scramble);

// Constant-time comparison of what the client sent with the expected token.
bool native_password_matches(std::string_view token, std::string_view password, std::string_view scramble);

// 20 random bytes, none of them NUL (the greeting writes the scramble as a
// NUL-terminated string), from getrandom(2).
std::string random_scramble();

}   // namespace causeway::protocol
