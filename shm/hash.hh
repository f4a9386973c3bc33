// 64-bit hashing for shared-memory keys: session keys (kind + id, seeded per
// segment so clients cannot choose colliding session ids in advance) and
// backend identities. Multiply-fold mixing in the style of wyhash; not a
// cryptographic hash, and a collision only ever makes routing slower.
#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>

namespace causeway::shm {

enum class session_kind : std::uint8_t {
    connection = 1,
    user = 2,
    database = 3,
    provided = 4
};

namespace detail {
inline std::uint64_t mix(std::uint64_t a, std::uint64_t b) noexcept
{
    unsigned __int128 r = (unsigned __int128)a * b;
    return std::uint64_t(r) ^ std::uint64_t(r >> 64);
}
inline constexpr std::uint64_t k0 = 0xa0761d6478bd642full, k1 = 0xe7037ed1a0b428dbull, k2 = 0x8ebc6af09c88c6e3ull;
}   // namespace detail

inline std::uint64_t hash_bytes(std::string_view s, std::uint64_t seed) noexcept
{
    std::uint64_t h = seed ^ detail::mix(s.size() ^ detail::k2, detail::k1);
    const char* p = s.data();
    std::size_t n = s.size();
    for (; n >= 8; n -= 8, p += 8) {
        std::uint64_t w;
        std::memcpy(&w, p, 8);
        h = detail::mix(h ^ w ^ detail::k0, detail::k1);
    }
    if (n > 0) {
        std::uint64_t w = 0;
        std::memcpy(&w, p, n);
        h = detail::mix(h ^ w ^ detail::k2, detail::k1 ^ n);
    }
    return detail::mix(h ^ detail::k0, h ^ detail::k2);
}

// The key of a session in the session table. The kind is mixed into the seed,
// so one id under two kinds gives unrelated keys. A numeric id (connection ids)
// and its decimal text are different ids: use one form per kind.
inline std::uint64_t session_key(session_kind kind, std::string_view id, std::uint64_t seed) noexcept
{
    return hash_bytes(id, seed ^ detail::mix(std::uint64_t(kind) + detail::k0, detail::k2));
}

inline std::uint64_t session_key(session_kind kind, std::uint64_t id, std::uint64_t seed) noexcept
{
    char buf[8];
    std::memcpy(buf, &id, 8);
    return session_key(kind, std::string_view(buf, 8), seed);
}

}   // namespace causeway::shm
