// HTTP basic authentication for the admin endpoint: the Authorization header
// checked against admin_user and a crypt(3) hash (admin_password_hash), so the
// config file never holds the admin password itself.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace causeway::daemon {

// Standard base64 (RFC 4648, padding required when the length needs it);
// empty on any invalid character or length.
std::optional<std::string> base64_decode(std::string_view text);

// True when `authorization` (the header's value, "Basic <base64 user:pass>")
// names `user` and a password whose crypt(3) with `hash` as the setting gives
// `hash` back. An empty or unsupported hash never matches.
bool basic_auth_ok(std::string_view authorization, const std::string& user, const std::string& hash);

}   // namespace causeway::daemon
