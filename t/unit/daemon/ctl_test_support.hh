// Test helpers for causewayctl: a fake ctl_env (clocks, running pids and the
// retry pause all under the test's control) and a strict JSON syntax check
// (RFC 8259: one value, no trailing commas), so every report can be asserted
// well formed without a JSON library.
#pragma once

#include <sys/types.h>

#include <cctype>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include "daemon/ctl_view.hh"

namespace causeway::daemon::test {

// One fake environment per process; reset() at the start of each test.
struct fake_env {
    static inline std::uint64_t monotonic = 0;
    static inline std::uint64_t realtime = 0;
    static inline std::set<pid_t> running;
    static inline int pauses = 0;

    static std::uint64_t mono() { return monotonic; }
    static std::uint64_t real() { return realtime; }
    static bool is_running(pid_t pid) { return running.count(pid) != 0; }
    static void pause() { ++pauses; }

    static ctl_env reset(std::uint64_t mono_now, std::uint64_t real_now)
    {
        monotonic = mono_now;
        realtime = real_now;
        running.clear();
        pauses = 0;
        ctl_env e;
        e.monotonic_ns = mono;
        e.realtime_ns = real;
        e.pid_running = is_running;
        e.pause = pause;
        e.torn_retries = 3;
        return e;
    }
};

class json_check {
public:
    // True when `text` is exactly one JSON value (blanks and one final newline allowed).
    static bool valid(std::string_view text, std::string* why = nullptr)
    {
        json_check c(text);
        bool ok = c.value() && (c.blank(), c.i_ == text.size());
        if (!ok && why) *why = "at byte " + std::to_string(c.i_) + ": " + std::string(text.substr(c.i_, 40));
        return ok;
    }

private:
    explicit json_check(std::string_view t) : t_(t) {}
    void blank()
    {
        while (i_ < t_.size() && (t_[i_] == ' ' || t_[i_] == '\n' || t_[i_] == '\t' || t_[i_] == '\r')) ++i_;
    }
    bool eat(char c)
    {
        blank();
        if (i_ < t_.size() && t_[i_] == c) return ++i_, true;
        return false;
    }
    bool literal(std::string_view w)
    {
        if (t_.substr(i_, w.size()) != w) return false;
        i_ += w.size();
        return true;
    }
    bool string()
    {
        if (!eat('"')) return false;
        while (i_ < t_.size()) {
            unsigned char c = static_cast<unsigned char>(t_[i_++]);
            if (c == '"') return true;
            if (c < 0x20) return false;
            if (c == '\\') {
                if (i_ >= t_.size()) return false;
                char e = t_[i_++];
                if (e == 'u') {
                    for (int k = 0; k < 4; ++k)
                        if (i_ >= t_.size() || !std::isxdigit(static_cast<unsigned char>(t_[i_++]))) return false;
                } else if (std::string_view("\"\\/bfnrt").find(e) == std::string_view::npos) {
                    return false;
                }
            }
        }
        return false;
    }
    bool number()
    {
        std::size_t start = i_;
        if (i_ < t_.size() && t_[i_] == '-') ++i_;
        if (i_ >= t_.size() || !std::isdigit(static_cast<unsigned char>(t_[i_]))) return false;
        if (t_[i_] == '0' && i_ + 1 < t_.size() && std::isdigit(static_cast<unsigned char>(t_[i_ + 1]))) return false;
        while (i_ < t_.size() && std::isdigit(static_cast<unsigned char>(t_[i_]))) ++i_;
        if (i_ < t_.size() && t_[i_] == '.') {
            ++i_;
            std::size_t d = i_;
            while (i_ < t_.size() && std::isdigit(static_cast<unsigned char>(t_[i_]))) ++i_;
            if (i_ == d) return false;
        }
        return i_ > start;
    }
    bool value()
    {
        blank();
        if (i_ >= t_.size()) return false;
        char c = t_[i_];
        if (c == '{') {
            ++i_;
            if (eat('}')) return true;
            do {
                blank();
                if (!string() || !eat(':') || !value()) return false;
            } while (eat(','));
            return eat('}');
        }
        if (c == '[') {
            ++i_;
            if (eat(']')) return true;
            do {
                if (!value()) return false;
            } while (eat(','));
            return eat(']');
        }
        if (c == '"') return string();
        if (c == 't') return literal("true");
        if (c == 'f') return literal("false");
        if (c == 'n') return literal("null");
        return number();
    }

    std::string_view t_;
    std::size_t i_ = 0;
};

}   // namespace causeway::daemon::test
