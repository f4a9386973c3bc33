// Basic authentication against a crypt(3) hash (see admin_auth.hh).
#include "daemon/admin_auth.hh"

#include <crypt.h>
#include <strings.h>

#include <cstring>
#include <memory>

namespace causeway::daemon {

namespace {

int base64_value(char c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

// Compares without an early exit, so the time taken says nothing about where
// two hashes differ.
bool same_bytes(std::string_view a, std::string_view b)
{
    if (a.size() != b.size()) return false;
    unsigned char diff = 0;
    for (std::size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
    return diff == 0;
}

}   // namespace

std::optional<std::string> base64_decode(std::string_view text)
{
    if (text.size() % 4 != 0) return std::nullopt;
    std::string out;
    out.reserve(text.size() / 4 * 3);
    for (std::size_t i = 0; i < text.size(); i += 4) {
        int v[4];
        int pad = 0;
        for (int k = 0; k < 4; ++k) {
            char c = text[i + std::size_t(k)];
            if (c == '=' && i + 4 == text.size() && k >= 2) {
                v[k] = 0;
                ++pad;
                continue;
            }
            if (pad) return std::nullopt;   // data after padding
            v[k] = base64_value(c);
            if (v[k] < 0) return std::nullopt;
        }
        unsigned n = unsigned(v[0]) << 18 | unsigned(v[1]) << 12 | unsigned(v[2]) << 6 | unsigned(v[3]);
        out += char(n >> 16);
        if (pad < 2) out += char(n >> 8 & 0xff);
        if (pad < 1) out += char(n & 0xff);
    }
    return out;
}

bool basic_auth_ok(std::string_view authorization, const std::string& user, const std::string& hash)
{
    constexpr std::string_view scheme = "Basic ";
    if (hash.empty() || authorization.size() <= scheme.size()) return false;
    if (strncasecmp(authorization.data(), scheme.data(), scheme.size()) != 0) return false;
    auto decoded = base64_decode(authorization.substr(scheme.size()));
    if (!decoded) return false;
    std::size_t colon = decoded->find(':');
    if (colon == std::string::npos) return false;
    bool user_ok = same_bytes(std::string_view(*decoded).substr(0, colon), user);
    std::string password = decoded->substr(colon + 1);
    // crypt_data is ~32 KiB: on the heap, once per request (scrapes are seconds apart).
    auto data = std::make_unique<crypt_data>();
    const char* out = crypt_r(password.c_str(), hash.c_str(), data.get());
    // libxcrypt returns a "*"-prefixed failure token, never NULL, for a bad setting.
    bool password_ok = out && out[0] != '*' && same_bytes(out, hash);
    return user_ok && password_ok;
}

}   // namespace causeway::daemon
