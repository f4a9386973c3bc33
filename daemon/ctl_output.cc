// JSON writer, text tables and human formats for causewayctl (see
// ctl_output.hh). Everything here is pure string work, so it is tested
// byte for byte in t/unit/daemon/ctl_output_test.cc.
#include "daemon/ctl_output.hh"

#include <time.h>

#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <ctime>

namespace causeway::daemon {

namespace {

// Length of the valid UTF-8 sequence at s[i], or 0 when it is not one
// (overlong forms, surrogates and values past U+10FFFF are invalid).
std::size_t utf8_sequence(std::string_view s, std::size_t i)
{
    const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[i + k]); };
    const unsigned char c = b(0);
    std::size_t n;
    std::uint32_t cp;
    if (c < 0x80) return 1;
    if (c >= 0xc2 && c <= 0xdf)
        n = 2, cp = c & 0x1f;
    else if (c >= 0xe0 && c <= 0xef)
        n = 3, cp = c & 0x0f;
    else if (c >= 0xf0 && c <= 0xf4)
        n = 4, cp = c & 0x07;
    else
        return 0;
    if (i + n > s.size()) return 0;
    for (std::size_t k = 1; k < n; ++k) {
        if ((b(k) & 0xc0) != 0x80) return 0;
        cp = cp << 6 | (b(k) & 0x3f);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
    return n;
}

std::string printf_string(const char* fmt, double v)
{
    char buf[64];
    std::snprintf(buf, sizeof buf, fmt, v);
    return buf;
}

}   // namespace

void json_quote(std::string& out, std::string_view text)
{
    static constexpr char hex[] = "0123456789abcdef";
    out += '"';
    for (std::size_t i = 0; i < text.size();) {
        const unsigned char c = static_cast<unsigned char>(text[i]);
        switch (c) {
            case '"':
                out += "\\\"";
                ++i;
                continue;
            case '\\':
                out += "\\\\";
                ++i;
                continue;
            case '\n':
                out += "\\n";
                ++i;
                continue;
            case '\r':
                out += "\\r";
                ++i;
                continue;
            case '\t':
                out += "\\t";
                ++i;
                continue;
            default: break;
        }
        if (c < 0x20 || c == 0x7f) {
            out += "\\u00";
            out += hex[c >> 4];
            out += hex[c & 0xf];
            ++i;
            continue;
        }
        std::size_t n = utf8_sequence(text, i);
        if (n == 0) {
            out += "\\ufffd";
            ++i;
            continue;
        }
        out.append(text.substr(i, n));
        i += n;
    }
    out += '"';
}

void json_writer::separate()
{
    if (after_key_) {
        after_key_ = false;
        return;
    }
    if (!first_.empty()) {
        if (!first_.back()) out_ += ',';
        first_.back() = false;
    }
}

json_writer& json_writer::begin_object()
{
    separate();
    out_ += '{';
    first_.push_back(true);
    return *this;
}

json_writer& json_writer::end_object()
{
    out_ += '}';
    if (!first_.empty()) first_.pop_back();
    return *this;
}

json_writer& json_writer::begin_array()
{
    separate();
    out_ += '[';
    first_.push_back(true);
    return *this;
}

json_writer& json_writer::end_array()
{
    out_ += ']';
    if (!first_.empty()) first_.pop_back();
    return *this;
}

json_writer& json_writer::key(std::string_view k)
{
    separate();
    json_quote(out_, k);
    out_ += ':';
    after_key_ = true;
    return *this;
}

json_writer& json_writer::value(std::string_view v)
{
    separate();
    json_quote(out_, v);
    return *this;
}

json_writer& json_writer::value(std::uint64_t v)
{
    separate();
    out_ += std::to_string(v);
    return *this;
}

json_writer& json_writer::value(std::int64_t v)
{
    separate();
    out_ += std::to_string(v);
    return *this;
}

json_writer& json_writer::value(bool v)
{
    separate();
    out_ += v ? "true" : "false";
    return *this;
}

json_writer& json_writer::value(double v, int decimals)
{
    if (!std::isfinite(v)) return null();
    separate();
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
    out_ += buf;
    return *this;
}

json_writer& json_writer::null()
{
    separate();
    out_ += "null";
    return *this;
}

json_writer& json_writer::value_ms(const std::optional<std::uint64_t>& ns)
{
    return ns ? value(double(*ns) / 1e6, 3) : null();
}

json_writer& json_writer::value_us(const std::optional<std::uint64_t>& ns)
{
    return ns ? value(double(*ns) / 1e3, 1) : null();
}

std::string json_writer::str() const
{
    return first_.empty() && !out_.empty() ? out_ + "\n" : out_;
}

std::size_t display_width(std::string_view s)
{
    std::size_t n = 0;
    for (char c : s)
        if ((static_cast<unsigned char>(c) & 0xc0) != 0x80) ++n;
    return n;
}

void text_table::column(std::string header, align a)
{
    headers_.push_back(std::move(header));
    aligns_.push_back(a);
}

void text_table::row(std::vector<std::string> cells)
{
    cells.resize(headers_.size());
    rows_.push_back(std::move(cells));
}

std::string text_table::render() const
{
    std::vector<std::size_t> width(headers_.size());
    for (std::size_t c = 0; c < headers_.size(); ++c) {
        width[c] = display_width(headers_[c]);
        for (const auto& r : rows_) width[c] = std::max(width[c], display_width(r[c]));
    }
    std::string out;
    auto line = [&](const std::vector<std::string>& cells) {
        std::string l;
        for (std::size_t c = 0; c < cells.size(); ++c) {
            std::size_t pad = width[c] - display_width(cells[c]);
            if (c) l += "  ";
            if (aligns_[c] == align::right) l.append(pad, ' ');
            l += cells[c];
            if (aligns_[c] == align::left) l.append(pad, ' ');
        }
        while (!l.empty() && l.back() == ' ') l.pop_back();
        out += l;
        out += '\n';
    };
    line(headers_);
    for (const auto& r : rows_) line(r);
    return out;
}

void text_fields::add(std::string label, std::string value)
{
    lines_.emplace_back(std::move(label), std::move(value));
}

std::string text_fields::render() const
{
    std::size_t w = 0;
    for (const auto& [label, value] : lines_) w = std::max(w, display_width(label));
    std::string out;
    for (const auto& [label, value] : lines_) {
        out += label;
        if (!value.empty()) {
            out.append(w - display_width(label) + 2, ' ');
            out += value;
        }
        out += '\n';
    }
    return out;
}

std::string format_age(const std::optional<std::uint64_t>& ns)
{
    if (!ns) return "never";
    const std::uint64_t v = *ns;
    constexpr std::uint64_t ms = 1000000, s = 1000 * ms, min = 60 * s, h = 60 * min, d = 24 * h;
    char buf[64];
    if (v < 10 * ms) return printf_string("%.1f ms", double(v) / ms);
    if (v < s) return std::to_string(v / ms) + " ms";
    if (v < min) return printf_string("%.1f s", double(v) / s);
    if (v < h)
        std::snprintf(buf, sizeof buf, "%" PRIu64 "m%02" PRIu64 "s", v / min, v % min / s);
    else if (v < d)
        std::snprintf(buf, sizeof buf, "%" PRIu64 "h%02" PRIu64 "m", v / h, v % h / min);
    else
        std::snprintf(buf, sizeof buf, "%" PRIu64 "d%02" PRIu64 "h", v / d, v % d / h);
    return buf;
}

std::string format_rtt(const std::optional<std::uint64_t>& ns)
{
    if (!ns) return "-";
    if (*ns < 1000000) return std::to_string((*ns + 500) / 1000) + " µs";
    return printf_string("%.1f ms", double(*ns) / 1e6);
}

std::string format_percent(double percent)
{
    return printf_string("%.1f%%", percent);
}

std::string format_count(std::uint64_t n)
{
    std::string digits = std::to_string(n), out;
    for (std::size_t i = 0; i < digits.size(); ++i) {
        if (i && (digits.size() - i) % 3 == 0) out += ',';
        out += digits[i];
    }
    return out;
}

std::string format_bytes(std::uint64_t n)
{
    if (n < 1024) return std::to_string(n) + " B";
    if (n < 1024 * 1024) return printf_string("%.0f KiB", double(n) / 1024);
    if (n < 1024ull * 1024 * 1024) return printf_string("%.1f MiB", double(n) / (1024 * 1024));
    return printf_string("%.1f GiB", double(n) / (1024.0 * 1024 * 1024));
}

std::string format_utc(std::uint64_t realtime_ns, bool iso)
{
    time_t t = time_t(realtime_ns / 1000000000u);
    struct tm tm;
    if (!gmtime_r(&t, &tm)) return "?";
    char buf[64];
    std::strftime(buf, sizeof buf, iso ? "%Y-%m-%dT%H:%M:%SZ" : "%Y-%m-%d %H:%M:%S UTC", &tm);
    return buf;
}

std::string yes_no(bool b)
{
    return b ? "yes" : "no";
}

}   // namespace causeway::daemon
