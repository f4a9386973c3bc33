// Output primitives for causewayctl: a hand-written JSON writer (strings
// escaped, invalid UTF-8 replaced, commas managed), an aligned text table, and
// the number and duration formats both share. No knowledge of the segment here;
// see daemon/ctl_report.hh for what is printed.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace causeway::daemon {

// Appends `text` to `out` as a JSON string literal (quotes included): ", \ and
// control characters escaped, bytes that are not valid UTF-8 become U+FFFD.
void json_quote(std::string& out, std::string_view text);

// Builds one compact JSON document. Commas and key/value order are tracked, so
// callers only say what comes next; misuse (a value where a key is due) is a
// programming error and is not checked beyond what keeps the output well formed.
class json_writer {
public:
    json_writer& begin_object();
    json_writer& end_object();
    json_writer& begin_array();
    json_writer& end_array();
    json_writer& key(std::string_view k);

    json_writer& value(std::string_view v);
    json_writer& value(const char* v) { return value(std::string_view(v)); }
    json_writer& value(const std::string& v) { return value(std::string_view(v)); }
    json_writer& value(std::uint64_t v);
    json_writer& value(std::int64_t v);
    json_writer& value(int v) { return value(std::int64_t(v)); }
    json_writer& value(bool v);
    json_writer& value(double v, int decimals);   // not finite: null
    json_writer& null();
    // Optionals: null when empty.
    json_writer& value(const std::optional<std::uint64_t>& v) { return v ? value(*v) : null(); }
    json_writer& value(const std::optional<bool>& v) { return v ? value(*v) : null(); }
    json_writer& value_ms(const std::optional<std::uint64_t>& ns);   // ns as ms, 3 decimals, or null
    json_writer& value_us(const std::optional<std::uint64_t>& ns);   // ns as µs, 1 decimal, or null

    // key(k) then value(v), for the common case.
    template <typename T>
    json_writer& field(std::string_view k, const T& v)
    {
        key(k);
        return value(v);
    }

    // The document so far, with a final newline when it is complete.
    std::string str() const;

private:
    void separate();
    std::string out_;
    std::vector<bool> first_;   // per open container: nothing written in it yet
    bool after_key_ = false;
};

// A table of left- or right-aligned columns, two spaces apart, widths measured
// in characters (UTF-8 code points), no trailing blanks.
class text_table {
public:
    enum class align {
        left,
        right
    };
    void column(std::string header, align a = align::left);
    void row(std::vector<std::string> cells);   // missing cells print empty
    bool empty() const noexcept { return rows_.empty(); }
    std::string render() const;

private:
    std::vector<std::string> headers_;
    std::vector<align> aligns_;
    std::vector<std::vector<std::string>> rows_;
};

// "label  value" lines with the labels padded to one width.
class text_fields {
public:
    void add(std::string label, std::string value);
    std::string render() const;

private:
    std::vector<std::pair<std::string, std::string>> lines_;
};

// Characters in a UTF-8 string (bytes that do not start a code point are not counted).
std::size_t display_width(std::string_view s);

// An age or a duration for people: "0.4 ms", "12 ms", "3.5 s", "2m05s", "3h02m",
// "4d03h"; "never" when empty.
std::string format_age(const std::optional<std::uint64_t>& ns);
// A round trip in microseconds: "45 µs", "1.2 ms"; "-" when empty.
std::string format_rtt(const std::optional<std::uint64_t>& ns);
// "12.3%" (one decimal).
std::string format_percent(double percent);
// "12,345,678": grouped digits for big counters.
std::string format_count(std::uint64_t n);
// "64.0 MiB", "512 KiB", "100 B".
std::string format_bytes(std::uint64_t n);
// Wall-clock nanoseconds since the epoch as "2024-05-01 12:00:00 UTC" or
// (iso) "2024-05-01T12:00:00Z".
std::string format_utc(std::uint64_t realtime_ns, bool iso);
std::string yes_no(bool b);

}   // namespace causeway::daemon
