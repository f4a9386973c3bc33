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

// Stored credentials: a clear password, or the mysql_native_password hash
// exactly as a server stores it, "*" + 40 hex digits of SHA1(SHA1(password))
// (mysql.user.authentication_string, PASSWORD('...')).
bool is_native_password_hash(std::string_view stored);

// Checks a client's token against a stored credential (clear or hash) and,
// when it matches, gives SHA1(password): with a hash the proxy never knows
// the password, but the client's token XOR SHA1(scramble + hash) is
// SHA1(password), and that is all it takes to answer another server's
// scramble. Empty `sha1_out` for an empty password. Constant time in the
// token's bytes.
bool native_password_verify(std::string_view token, std::string_view stored, std::string_view scramble,
                            std::string& sha1_out);

// The token for `scramble` from SHA1(password) (20 bytes; empty: no password).
std::string native_password_token_from_sha1(std::string_view password_sha1, std::string_view scramble);

// 20 random bytes, none of them NUL (the greeting writes the scramble as a
// NUL-terminated string), from getrandom(2).
std::string random_scramble();

}   // namespace causeway::protocol
