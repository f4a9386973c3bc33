// SHA-1 (FIPS 180-1) and the mysql_native_password token (see auth.hh).
#include "protocol/auth.hh"

#include <sys/random.h>

#include <cstring>

namespace causeway::protocol {

namespace {

std::uint32_t rol(std::uint32_t x, int n)
{
    return (x << n) | (x >> (32 - n));
}

struct sha1_state {
    std::uint32_t h[5] = {0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0};
    std::uint8_t block[64];
    std::size_t used = 0;
    std::uint64_t total = 0;

    void compress()
    {
        std::uint32_t w[80];
        for (int i = 0; i < 16; ++i)
            w[i] = std::uint32_t(block[4 * i]) << 24 | std::uint32_t(block[4 * i + 1]) << 16 |
                std::uint32_t(block[4 * i + 2]) << 8 | block[4 * i + 3];
        for (int i = 16; i < 80; ++i) w[i] = rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
        std::uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
        for (int i = 0; i < 80; ++i) {
            std::uint32_t f, k;
            if (i < 20)
                f = (b & c) | (~b & d), k = 0x5A827999;
            else if (i < 40)
                f = b ^ c ^ d, k = 0x6ED9EBA1;
            else if (i < 60)
                f = (b & c) | (b & d) | (c & d), k = 0x8F1BBCDC;
            else
                f = b ^ c ^ d, k = 0xCA62C1D6;
            std::uint32_t t = rol(a, 5) + f + e + k + w[i];
            e = d, d = c, c = rol(b, 30), b = a, a = t;
        }
        h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e;
    }
    void update(std::string_view s)
    {
        for (char ch : s) {
            block[used++] = std::uint8_t(ch);
            if (used == 64) compress(), used = 0;
        }
        total += s.size();
    }
    sha1_digest finish()
    {
        std::uint64_t bits = total * 8;
        std::uint8_t pad = 0x80;
        update(std::string_view(reinterpret_cast<char*>(&pad), 1));
        std::uint8_t zero = 0;
        while (used != 56) update(std::string_view(reinterpret_cast<char*>(&zero), 1));
        for (int i = 7; i >= 0; --i) {
            std::uint8_t byte = std::uint8_t(bits >> (8 * i));
            update(std::string_view(reinterpret_cast<char*>(&byte), 1));
        }
        sha1_digest out;
        for (int i = 0; i < 5; ++i)
            for (int j = 0; j < 4; ++j) out[4 * i + j] = std::uint8_t(h[i] >> (24 - 8 * j));
        return out;
    }
};

std::string_view view(const sha1_digest& d)
{
    return {reinterpret_cast<const char*>(d.data()), d.size()};
}

}   // namespace

sha1_digest sha1(std::string_view a, std::string_view b)
{
    sha1_state s;
    s.update(a);
    s.update(b);
    return s.finish();
}

std::string native_password_token(std::string_view password, std::string_view scramble)
{
    if (password.empty()) return {};
    sha1_digest stage1 = sha1(password);
    sha1_digest stage2 = sha1(view(stage1));
    sha1_digest mix = sha1(scramble.substr(0, scramble_size), view(stage2));
    std::string token(20, '\0');
    for (int i = 0; i < 20; ++i) token[i] = char(stage1[i] ^ mix[i]);
    return token;
}

bool native_password_matches(std::string_view token, std::string_view password, std::string_view scramble)
{
    std::string expected = native_password_token(password, scramble);
    if (token.size() != expected.size()) return false;
    unsigned char diff = 0;
    for (std::size_t i = 0; i < token.size(); ++i) diff |= (unsigned char)(token[i] ^ expected[i]);
    return diff == 0;
}

bool is_native_password_hash(std::string_view stored)
{
    if (stored.size() != 41 || stored[0] != '*') return false;
    for (char c : stored.substr(1))
        if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'F') || (c >= 'a' && c <= 'f'))) return false;
    return true;
}

namespace {
int hex_value(char c)
{
    return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}

bool same_bytes(std::string_view a, std::string_view b)
{
    if (a.size() != b.size()) return false;
    unsigned char diff = 0;
    for (std::size_t i = 0; i < a.size(); ++i) diff |= (unsigned char)(a[i] ^ b[i]);
    return diff == 0;
}
}   // namespace

std::string native_password_token_from_sha1(std::string_view password_sha1, std::string_view scramble)
{
    if (password_sha1.size() != 20) return {};
    sha1_digest stage2 = sha1(password_sha1);
    sha1_digest mix = sha1(scramble.substr(0, scramble_size), view(stage2));
    std::string token(20, '\0');
    for (int i = 0; i < 20; ++i) token[i] = char(std::uint8_t(password_sha1[std::size_t(i)]) ^ mix[i]);
    return token;
}

bool native_password_verify(std::string_view token, std::string_view stored, std::string_view scramble,
                            std::string& sha1_out)
{
    sha1_out.clear();
    if (!is_native_password_hash(stored)) {
        if (!native_password_matches(token, stored, scramble)) return false;
        if (!stored.empty()) sha1_out = std::string(view(sha1(stored)));
        return true;
    }
    std::string stage2(20, '\0');
    for (std::size_t i = 0; i < 20; ++i)
        stage2[i] = char(hex_value(stored[1 + 2 * i]) << 4 | hex_value(stored[2 + 2 * i]));
    if (token.size() != 20) return false;
    sha1_digest mix = sha1(scramble.substr(0, scramble_size), stage2);
    std::string candidate(20, '\0');
    for (std::size_t i = 0; i < 20; ++i) candidate[i] = char(std::uint8_t(token[i]) ^ mix[i]);
    if (!same_bytes(view(sha1(candidate)), stage2)) return false;
    sha1_out = std::move(candidate);
    return true;
}

std::string random_scramble()
{
    std::string s(scramble_size, '\0');
    std::size_t got = 0;
    while (got < s.size()) {
        ssize_t n = getrandom(s.data() + got, s.size() - got, 0);
        if (n > 0) got += std::size_t(n);
    }
    // Printable, non-NUL bytes, as servers send (some clients assume it).
    for (char& c : s) c = char(0x21 + (static_cast<unsigned char>(c) % 94));
    return s;
}

}   // namespace causeway::protocol
