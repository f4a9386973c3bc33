// GTID positions as MariaDB writes them ("0-1-22,1-2-7": domain-server-seqno
// per replication domain): parse, compare per domain on seqno, merge, format.
// Pure value code shared by the worker, the poller and shm/: no I/O, no
// exceptions, no allocation except to_string(). Not a GTID *set* (MySQL).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hh"

namespace causeway::protocol {

// A position holds at most this many domains: the 32 replication domains the
// session table can track (shm/layout.hh max_tracked_domains) plus the one
// shm/ uses for its epoch. A server's whole position, which may name more
// domains, is read with parse_gtid_list().
inline constexpr std::size_t gtid_max_domains = 33;

// Longest text format() can produce: per domain 10 + 1 + 10 + 1 + 20 digits
// and separators, plus commas.
inline constexpr std::size_t gtid_max_text = gtid_max_domains * 43;

struct gtid {
    std::uint32_t domain = 0;
    std::uint32_t server = 0;   // informative only: never used to compare
    std::uint64_t seqno = 0;

    bool operator==(const gtid&) const = default;
};

// At most one gtid per domain, kept sorted by domain. A missing domain means
// seqno 0 (nothing applied / nothing required in it).
class gtid_position {
public:
    std::size_t size() const noexcept { return n_; }
    bool empty() const noexcept { return n_ == 0; }
    const gtid* begin() const noexcept { return v_.data(); }
    const gtid* end() const noexcept { return v_.data() + n_; }
    const gtid& operator[](std::size_t i) const noexcept { return v_[i]; }

    const gtid* find(std::uint32_t domain) const noexcept;
    // The seqno reached in `domain`; 0 when the domain is absent.
    std::uint64_t seqno(std::uint32_t domain) const noexcept;

    // Replaces the domain's gtid (or adds it). false, and no change, when a new
    // domain does not fit.
    [[nodiscard]] bool set(const gtid& g) noexcept;
    // Raises the domain to max(current, g.seqno); the server id follows the
    // higher seqno. false, and no change, when a new domain does not fit.
    [[nodiscard]] bool merge_max(const gtid& g) noexcept;
    // merge_max of every domain of `other`; false when some domain did not fit
    // (the domains that fit are merged).
    [[nodiscard]] bool merge_max(const gtid_position& other) noexcept;
    // Keeps, per domain, min(this, other); a domain absent from either is
    // dropped (seqno 0). The position every one of several replicas has applied.
    void meet(const gtid_position& other) noexcept;
    void clear() noexcept { n_ = 0; }

    // "a covers b": for every domain in b, a's seqno there >= b's. A replica
    // at position a may serve a read that requires b.
    bool covers(const gtid_position& required) const noexcept;

    // "0-1-22,1-2-7", "" when empty. format() writes into `out` and returns the
    // length, or 0 when it does not fit (gtid_max_text always fits).
    std::size_t format(std::span<char> out) const noexcept;
    std::string to_string() const;

    bool operator==(const gtid_position& o) const noexcept;

private:
    std::array<gtid, gtid_max_domains> v_{};
    std::uint8_t n_ = 0;
};

// Parses a MariaDB GTID list: comma-separated "domain-server-seqno", blanks
// (space, tab, CR, LF) allowed around items; "" or only blanks is the empty
// position. Rejects: missing or empty parts, signs, non-digits, values past
// 32 bits (domain, server) or 64 bits (seqno), a leading or trailing comma, a
// domain given twice, and more than gtid_max_domains domains.
common::result<gtid_position> parse_gtid_position(std::string_view text);

// A whole position however many domains it names (a server's
// @@gtid_binlog_pos or @@gtid_slave_pos), sorted by domain, with the same
// rules as parse_gtid_position() otherwise. Allocates: for the poller and the
// position fence, not for every statement.
using gtid_list = std::vector<gtid>;
common::result<gtid_list> parse_gtid_list(std::string_view text);
// "applied covers required" for two sorted lists (see gtid_position::covers).
bool list_covers(std::span<const gtid> applied, std::span<const gtid> required) noexcept;

// One "domain-server-seqno", no blanks.
common::result<gtid> parse_gtid(std::string_view text);

}   // namespace causeway::protocol
