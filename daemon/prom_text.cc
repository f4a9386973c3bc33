// The exposition-format writer (see prom_text.hh).
#include "daemon/prom_text.hh"

#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace causeway::daemon {

void prom_escape_label(std::string& out, std::string_view value)
{
    for (char c : value) {
        if (c == '\\')
            out += "\\\\";
        else if (c == '"')
            out += "\\\"";
        else if (c == '\n')
            out += "\\n";
        else
            out += c;
    }
}

void prom_escape_help(std::string& out, std::string_view text)
{
    for (char c : text) {
        if (c == '\\')
            out += "\\\\";
        else if (c == '\n')
            out += "\\n";
        else
            out += c;
    }
}

std::string prom_number(double v)
{
    if (std::isnan(v)) return "NaN";
    if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
    char buf[32];
    // The shortest precision that reads back to the same double.
    for (int precision = 6; precision <= 17; ++precision) {
        std::snprintf(buf, sizeof buf, "%.*g", precision, v);
        if (std::strtod(buf, nullptr) == v) break;
    }
    return buf;
}

void prom_writer::begin(std::string_view name, std::string_view type, std::string_view help)
{
    name_ = name;
    type_ = type;
    help_ = help;
    header_written_ = false;
}

void prom_writer::start_sample(std::initializer_list<prom_label> labels, std::string_view suffix,
                               const prom_label* extra)
{
    if (!header_written_) {
        out_ += "# HELP " + name_ + " ";
        prom_escape_help(out_, help_);
        out_ += "\n# TYPE " + name_ + " " + type_ + "\n";
        header_written_ = true;
    }
    out_ += name_;
    out_ += suffix;
    if (labels.size() == 0 && !extra) {
        out_ += ' ';
        return;
    }
    char sep = '{';
    auto label = [&](const prom_label& l) {
        out_ += sep;
        out_ += l.first;
        out_ += "=\"";
        prom_escape_label(out_, l.second);
        out_ += '"';
        sep = ',';
    };
    for (const prom_label& l : labels) label(l);
    if (extra) label(*extra);
    out_ += "} ";
}

void prom_writer::histogram(std::initializer_list<prom_label> labels, std::span<const double> bounds,
                            std::span<const std::uint64_t> per_bucket, double sum)
{
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i <= bounds.size(); ++i) {
        cumulative += i < per_bucket.size() ? per_bucket[i] : 0;
        std::string le = i < bounds.size() ? prom_number(bounds[i]) : "+Inf";
        prom_label extra{"le", le};
        start_sample(labels, "_bucket", &extra);
        out_ += std::to_string(cumulative);
        out_ += '\n';
    }
    start_sample(labels, "_sum");
    out_ += prom_number(sum);
    out_ += '\n';
    start_sample(labels, "_count");
    out_ += std::to_string(cumulative);
    out_ += '\n';
}

void prom_writer::sample(std::initializer_list<prom_label> labels, std::uint64_t value)
{
    start_sample(labels);
    out_ += std::to_string(value);
    out_ += '\n';
}

void prom_writer::sample(std::initializer_list<prom_label> labels, double value)
{
    start_sample(labels);
    out_ += prom_number(value);
    out_ += '\n';
}

}   // namespace causeway::daemon
