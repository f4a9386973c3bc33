// The Prometheus text exposition format (version 0.0.4), as a writer: families
// with HELP and TYPE lines, samples with escaped label values, numbers in the
// format's syntax. Knows nothing of Causeway; see daemon/metrics.hh for what is
// exported.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <utility>

namespace causeway::daemon {

inline constexpr const char* prom_content_type = "text/plain; version=0.0.4; charset=utf-8";

using prom_label = std::pair<std::string_view, std::string_view>;

class prom_writer {
public:
    // Starts a family (type: counter, gauge, histogram, untyped). Its HELP and TYPE lines
    // are written with its first sample, so a family without samples leaves no
    // trace. Samples of one family must follow its begin() without another
    // begin() in between: the format requires a family's samples together.
    void begin(std::string_view name, std::string_view type, std::string_view help);
    void sample(std::initializer_list<prom_label> labels, std::uint64_t value);
    void sample(std::initializer_list<prom_label> labels, double value);
    void sample(std::uint64_t value) { sample({}, value); }
    void sample_double(double value) { sample({}, value); }
    // A histogram family's series: NAME_bucket{..., le="B"} for each upper
    // bound and +Inf, cumulative, then NAME_sum and NAME_count. `per_bucket`
    // holds one count per bound and a last one above them all (not cumulative).
    void histogram(std::initializer_list<prom_label> labels, std::span<const double> bounds,
                   std::span<const std::uint64_t> per_bucket, double sum);

    const std::string& str() const noexcept { return out_; }

private:
    void start_sample(std::initializer_list<prom_label> labels, std::string_view suffix = {},
                      const prom_label* extra = nullptr);
    std::string out_;
    std::string name_, type_, help_;
    bool header_written_ = true;
};

// A label value with \, " and newline escaped, as the format requires.
void prom_escape_label(std::string& out, std::string_view value);
// HELP text: \ and newline escaped.
void prom_escape_help(std::string& out, std::string_view text);
// A float in the format's syntax: NaN, +Inf, -Inf or the shortest %g that reads back.
std::string prom_number(double v);

}   // namespace causeway::daemon
