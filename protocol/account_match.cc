// Host patterns and account order as a MariaDB 10.11 server applies them
// (see account_match.hh). The order reproduces the server's "magic sort" of
// host patterns: a pattern is more specific when fewer strings match it.
#include "protocol/account_match.hh"

#include <algorithm>
#include <optional>

namespace causeway::protocol {

namespace {

constexpr char wild_many = '%';
constexpr char wild_one = '_';
constexpr char wild_escape = '\\';
// The server's Host column width: the bound of what a '%' can stand for.
constexpr std::uint64_t max_host_length = 255;

// SQL LIKE over bytes, case-sensitive as the server compares addresses.
// Iterative with one backtrack point per '%', so a hostile pattern costs
// O(pattern * text), never exponential time.
bool like(std::string_view text, std::string_view pattern)
{
    std::size_t t = 0, p = 0;
    std::optional<std::size_t> star_p, star_t;
    while (t < text.size()) {
        if (p < pattern.size()) {
            char c = pattern[p];
            if (c == wild_many) {
                while (p < pattern.size() && pattern[p] == wild_many) ++p;
                if (p == pattern.size()) return true;
                star_p = p;
                star_t = t;
                continue;
            }
            if (c == wild_one) {
                ++p;
                ++t;
                continue;
            }
            if (c == wild_escape && p + 1 < pattern.size()) c = pattern[p + 1];
            if (c == text[t]) {
                p += pattern[p] == wild_escape && p + 1 < pattern.size() ? 2 : 1;
                ++t;
                continue;
            }
        }
        if (!star_p) return false;
        p = *star_p;
        t = ++*star_t;
    }
    while (p < pattern.size() && pattern[p] == wild_many) ++p;
    return p == pattern.size();
}

// "a.b.c.d" exactly (decimal octets), as the server's calc_ip accepts them.
std::optional<std::uint32_t> ipv4(std::string_view s)
{
    std::uint32_t out = 0;
    int octets = 0;
    std::size_t i = 0;
    while (octets < 4) {
        if (i >= s.size() || s[i] < '0' || s[i] > '9') return std::nullopt;
        std::uint32_t v = 0;
        std::size_t digits = 0;
        for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i, ++digits) {
            if (digits == 3) return std::nullopt;
            v = v * 10 + std::uint32_t(s[i] - '0');
        }
        if (v > 255) return std::nullopt;
        out = out << 8 | v;
        ++octets;
        if (octets < 4) {
            if (i >= s.size() || s[i] != '.') return std::nullopt;
            ++i;
        }
    }
    if (i != s.size()) return std::nullopt;
    return out;
}

bool loopback(std::string_view ip)
{
    return ip == "::1" || ip == "::ffff:127.0.0.1" || (ip.size() > 4 && ip.substr(0, 4) == "127." && ipv4(ip));
}

}   // namespace

bool host_matches(std::string_view pattern, std::string_view ip)
{
    if (pattern.empty()) return true;   // the server reads an empty Host as '%'
    if (pattern == "localhost" && loopback(ip)) return true;
    if (auto slash = pattern.find('/'); slash != std::string_view::npos) {
        auto net = ipv4(pattern.substr(0, slash));
        auto mask = ipv4(pattern.substr(slash + 1));
        // A valid ip/mask never falls back to a text match; the network is
        // compared unmasked, as the server does (so 10.0.0.1/255.0.0.0
        // admits nobody).
        if (net && mask) {
            auto addr = ipv4(ip);
            if (addr) return (*addr & *mask) == *net;
        }
    }
    return like(ip, pattern);
}

std::uint64_t account_rank(std::string_view host, bool anonymous)
{
    // N literal characters, M '_', K runs of '%', P the literal prefix
    // before the first wildcard. L: how long a '%' may stretch. The server
    // builds one number whose order is that of the sets of matching strings.
    std::uint64_t n = 0, m = 0, k = 0, p = 0;
    if (host.empty()) host = "%";
    for (std::size_t i = 0; i < host.size(); ++i) {
        char c = host[i];
        if (c == wild_many) {
            if (!k && !m) p = n;
            ++k;
            while (i + 1 < host.size() && host[i + 1] == wild_many) ++i;
            continue;
        }
        if (c == wild_one) {
            if (!k && !m) p = n;
            ++m;
            continue;
        }
        if (c == wild_escape && i + 1 < host.size()) ++i;
        ++n;
    }
    k = std::min<std::uint64_t>(k, 31);
    m = std::min<std::uint64_t>(m, 31);
    std::uint64_t l = k ? (n + m >= max_host_length ? 0 : max_host_length - n - m) : 0;
    const std::uint64_t d = max_host_length + 1, d1 = 32;
    std::uint64_t generality = l > m ? (((l * 2 + 1) * d + k) * d1 + m) * d + p : (((m * 2) * d + l) * d1 + k) * d + p;
    // Larger: more general; an anonymous user is more general still.
    return ~((generality << 1) | (anonymous ? 1 : 0));
}

long pick_account(std::span<const account_key> accounts, std::string_view user, std::string_view ip)
{
    long named = -1, anon = -1;
    std::uint64_t named_rank = 0, anon_rank = 0;
    auto better = [&](std::size_t i, long best, std::uint64_t rank, std::uint64_t best_rank) {
        if (best < 0 || rank > best_rank) return true;
        return rank == best_rank && accounts[i].host > accounts[std::size_t(best)].host;
    };
    for (std::size_t i = 0; i < accounts.size(); ++i) {
        const account_key& a = accounts[i];
        bool anonymous = a.user.empty();
        if (!anonymous && a.user != user) continue;
        if (!host_matches(a.host, ip)) continue;
        std::uint64_t rank = account_rank(a.host, anonymous);
        if (anonymous) {
            if (better(i, anon, rank, anon_rank)) anon = long(i), anon_rank = rank;
        } else if (better(i, named, rank, named_rank)) {
            named = long(i), named_rank = rank;
        }
    }
    if (anon >= 0 && (named < 0 || anon_rank > named_rank)) return anon;
    return named;
}

}   // namespace causeway::protocol
