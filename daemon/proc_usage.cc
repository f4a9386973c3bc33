// Reading /proc for proc_usage (see proc_usage.hh).
#include "daemon/proc_usage.hh"

#include <unistd.h>

#include <charconv>
#include <fstream>
#include <sstream>
#include <string_view>

namespace causeway::daemon {

namespace {

std::string read_small_file(const std::string& path)
{
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// The `n`th space-separated field of `s` (0-based), or empty.
std::string_view field(std::string_view s, int n)
{
    std::size_t pos = 0;
    for (int i = 0;; ++i) {
        while (pos < s.size() && s[pos] == ' ') ++pos;
        if (pos >= s.size()) return {};
        std::size_t end = s.find(' ', pos);
        if (end == std::string_view::npos) end = s.size();
        if (i == n) return s.substr(pos, end - pos);
        pos = end;
    }
}

bool to_number(std::string_view s, std::uint64_t& out)
{
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.remove_suffix(1);
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return !s.empty() && ec == std::errc() && end == s.data() + s.size();
}

}   // namespace

std::optional<proc_usage> parse_proc_usage(const std::string& stat, const std::string& statm, long ticks_per_second,
                                           long page_size)
{
    // The command name (field 2) is in parentheses and may hold spaces or
    // parentheses itself: the fields we want follow the last ')'.
    std::size_t close = stat.rfind(')');
    if (close == std::string::npos || ticks_per_second <= 0 || page_size <= 0) return std::nullopt;
    std::string_view rest = std::string_view(stat).substr(close + 1);
    // After ')': state is field 3 of proc(5), so utime (14) and stime (15) are 11 and 12 here.
    std::uint64_t utime = 0, stime = 0, resident_pages = 0;
    if (!to_number(field(rest, 11), utime) || !to_number(field(rest, 12), stime)) return std::nullopt;
    if (!to_number(field(statm, 1), resident_pages)) return std::nullopt;
    proc_usage u;
    u.cpu_seconds = double(utime + stime) / double(ticks_per_second);
    u.resident_bytes = resident_pages * std::uint64_t(page_size);
    return u;
}

std::optional<proc_usage> read_proc_usage(pid_t pid, const std::string& proc_root)
{
    if (pid <= 0) return std::nullopt;
    std::string dir = proc_root + "/" + std::to_string(pid);
    std::string stat = read_small_file(dir + "/stat"), statm = read_small_file(dir + "/statm");
    if (stat.empty() || statm.empty()) return std::nullopt;
    return parse_proc_usage(stat, statm, sysconf(_SC_CLK_TCK), sysconf(_SC_PAGESIZE));
}

}   // namespace causeway::daemon
