// GTID position parsing, comparison and formatting (see gtid.hh). Parsing is
// strict: a position the proxy misreads could let a stale replica serve a
// read, so anything unexpected is an error and the caller routes to the primary.
#include "protocol/gtid.hh"

#include <algorithm>
#include <charconv>

namespace causeway::protocol {

namespace {

bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

std::string_view trim(std::string_view s)
{
    while (!s.empty() && is_blank(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_blank(s.back())) s.remove_suffix(1);
    return s;
}

// Digits only (from_chars alone would accept a leading '-' for signed types
// and stop silently at the first non-digit).
template <typename T>
bool parse_number(std::string_view s, T& out)
{
    if (s.empty()) return false;
    for (char c : s)
        if (c < '0' || c > '9') return false;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && end == s.data() + s.size();
}

common::error bad(std::string_view text, const char* why)
{
    std::string shown(text.substr(0, 80));
    return common::error{0, "bad GTID '" + shown + "': " + why};
}

}   // namespace

const gtid* gtid_position::find(std::uint32_t domain) const noexcept
{
    for (std::size_t i = 0; i < n_; ++i)
        if (v_[i].domain == domain) return &v_[i];
    return nullptr;
}

std::uint64_t gtid_position::seqno(std::uint32_t domain) const noexcept
{
    const gtid* g = find(domain);
    return g ? g->seqno : 0;
}

bool gtid_position::set(const gtid& g) noexcept
{
    std::size_t i = 0;
    while (i < n_ && v_[i].domain < g.domain) ++i;
    if (i < n_ && v_[i].domain == g.domain) {
        v_[i] = g;
        return true;
    }
    if (n_ == gtid_max_domains) return false;
    for (std::size_t j = n_; j > i; --j) v_[j] = v_[j - 1];
    v_[i] = g;
    ++n_;
    return true;
}

bool gtid_position::merge_max(const gtid& g) noexcept
{
    const gtid* cur = find(g.domain);
    if (cur && cur->seqno >= g.seqno) return true;
    return set(g);
}

bool gtid_position::merge_max(const gtid_position& other) noexcept
{
    bool all = true;
    for (const gtid& g : other)
        if (!merge_max(g)) all = false;
    return all;
}

void gtid_position::meet(const gtid_position& other) noexcept
{
    std::size_t kept = 0;
    for (std::size_t i = 0; i < n_; ++i) {
        std::uint64_t s = std::min(v_[i].seqno, other.seqno(v_[i].domain));
        if (s == 0) continue;
        v_[kept] = v_[i];
        v_[kept].seqno = s;
        ++kept;
    }
    n_ = std::uint8_t(kept);
}

bool gtid_position::covers(const gtid_position& required) const noexcept
{
    for (const gtid& g : required)
        if (seqno(g.domain) < g.seqno) return false;
    return true;
}

std::size_t gtid_position::format(std::span<char> out) const noexcept
{
    char* p = out.data();
    char* const end = out.data() + out.size();
    for (std::size_t i = 0; i < n_; ++i) {
        if (i > 0) {
            if (p == end) return 0;
            *p++ = ',';
        }
        auto r = std::to_chars(p, end, v_[i].domain);
        if (r.ec != std::errc() || r.ptr == end) return 0;
        p = r.ptr;
        *p++ = '-';
        r = std::to_chars(p, end, v_[i].server);
        if (r.ec != std::errc() || r.ptr == end) return 0;
        p = r.ptr;
        *p++ = '-';
        r = std::to_chars(p, end, v_[i].seqno);
        if (r.ec != std::errc()) return 0;
        p = r.ptr;
    }
    return std::size_t(p - out.data());
}

std::string gtid_position::to_string() const
{
    std::array<char, gtid_max_text> buf;
    return std::string(buf.data(), format(buf));
}

bool gtid_position::operator==(const gtid_position& o) const noexcept
{
    return n_ == o.n_ && std::equal(begin(), end(), o.begin());
}

common::result<gtid> parse_gtid(std::string_view text)
{
    auto d1 = text.find('-');
    if (d1 == std::string_view::npos) return bad(text, "expected domain-server-seqno");
    auto d2 = text.find('-', d1 + 1);
    if (d2 == std::string_view::npos) return bad(text, "expected domain-server-seqno");
    gtid g;
    if (!parse_number(text.substr(0, d1), g.domain)) return bad(text, "bad domain id");
    if (!parse_number(text.substr(d1 + 1, d2 - d1 - 1), g.server)) return bad(text, "bad server id");
    if (!parse_number(text.substr(d2 + 1), g.seqno)) return bad(text, "bad sequence number");
    return g;
}

namespace {

// Calls add(g) for each item of a GTID list; an error for a malformed one
// (or whatever add() refuses, as a message).
template <typename Add>
common::status parse_items(std::string_view text, Add add)
{
    std::string_view rest = trim(text);
    if (rest.empty()) return {};
    while (true) {
        auto comma = rest.find(',');
        std::string_view item = trim(rest.substr(0, comma));
        if (item.empty()) return bad(text, "empty item");
        auto g = parse_gtid(item);
        if (!g) return g.err();
        if (const char* why = add(*g)) return bad(text, why);
        if (comma == std::string_view::npos) return {};
        rest = rest.substr(comma + 1);
    }
}

}   // namespace

common::result<gtid_position> parse_gtid_position(std::string_view text)
{
    gtid_position pos;
    auto ok = parse_items(text, [&](const gtid& g) -> const char* {
        if (pos.find(g.domain)) return "domain given twice";
        if (!pos.set(g)) return "more domains than supported";
        return nullptr;
    });
    if (!ok) return ok.err();
    return pos;
}

common::result<gtid_list> parse_gtid_list(std::string_view text)
{
    gtid_list list;
    auto ok = parse_items(text, [&](const gtid& g) -> const char* {
        list.push_back(g);
        return nullptr;
    });
    if (!ok) return ok.err();
    std::sort(list.begin(), list.end(), [](const gtid& a, const gtid& b) { return a.domain < b.domain; });
    for (std::size_t i = 1; i < list.size(); ++i)
        if (list[i].domain == list[i - 1].domain) return bad(text, "domain given twice");
    return list;
}

bool list_covers(std::span<const gtid> applied, std::span<const gtid> required) noexcept
{
    std::size_t a = 0;
    for (const gtid& g : required) {
        while (a < applied.size() && applied[a].domain < g.domain) ++a;
        const std::uint64_t have = a < applied.size() && applied[a].domain == g.domain ? applied[a].seqno : 0;
        if (have < g.seqno) return false;
    }
    return true;
}

}   // namespace causeway::protocol
