// Bounds-checked little-endian reading and writing of protocol fields,
// including length-encoded integers and strings. A reader that runs past the
// end sets failed() and returns zeros/empty views: callers check once at the
// end, which keeps parsers short and never reads out of bounds.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace causeway::protocol {

class byte_reader {
public:
    byte_reader(const void* data, std::size_t size) : p_(static_cast<const std::uint8_t*>(data)), end_(p_ + size) {}
    explicit byte_reader(std::string_view s) : byte_reader(s.data(), s.size()) {}

    bool failed() const { return failed_; }
    std::size_t remaining() const { return std::size_t(end_ - p_); }
    bool at_end() const { return p_ == end_; }

    std::uint64_t fixed(std::size_t n)   // n <= 8, little endian
    {
        if (!need(n)) return 0;
        std::uint64_t v = 0;
        for (std::size_t i = 0; i < n; ++i) v |= std::uint64_t(p_[i]) << (8 * i);
        p_ += n;
        return v;
    }
    std::uint8_t u8() { return std::uint8_t(fixed(1)); }
    std::uint16_t u16() { return std::uint16_t(fixed(2)); }
    std::uint32_t u32() { return std::uint32_t(fixed(4)); }

    // Length-encoded integer. 0xfb (NULL) and 0xff are not integers: failed().
    std::uint64_t lenenc()
    {
        std::uint8_t first = u8();
        if (first < 0xfb) return first;
        if (first == 0xfc) return fixed(2);
        if (first == 0xfd) return fixed(3);
        if (first == 0xfe) return fixed(8);
        failed_ = true;
        return 0;
    }
    std::string_view bytes(std::size_t n)
    {
        if (!need(n)) return {};
        std::string_view v(reinterpret_cast<const char*>(p_), n);
        p_ += n;
        return v;
    }
    std::string_view lenenc_bytes()
    {
        std::uint64_t n = lenenc();
        if (failed_ || n > remaining()) {
            failed_ = true;
            return {};
        }
        return bytes(std::size_t(n));
    }
    std::string_view null_terminated()
    {
        // memchr's pointer must not be null, even for 0 bytes (an empty view's may be).
        const void* nul = remaining() ? std::memchr(p_, 0, remaining()) : nullptr;
        if (!nul) {
            failed_ = true;
            return {};
        }
        auto n = std::size_t(static_cast<const std::uint8_t*>(nul) - p_);
        std::string_view v = bytes(n);
        ++p_;
        return v;
    }
    std::string_view rest() { return bytes(remaining()); }
    void skip(std::size_t n) { (void)bytes(n); }

private:
    bool need(std::size_t n)
    {
        if (failed_ || remaining() < n) {
            failed_ = true;
            return false;
        }
        return true;
    }
    const std::uint8_t* p_;
    const std::uint8_t* end_;
    bool failed_ = false;
};

// Appends fields to a std::string used as a byte buffer.
class byte_writer {
public:
    explicit byte_writer(std::string& out) : out_(out) {}
    void fixed(std::uint64_t v, std::size_t n)
    {
        for (std::size_t i = 0; i < n; ++i) out_.push_back(char((v >> (8 * i)) & 0xff));
    }
    void u8(std::uint8_t v) { out_.push_back(char(v)); }
    void u16(std::uint16_t v) { fixed(v, 2); }
    void u32(std::uint32_t v) { fixed(v, 4); }
    void lenenc(std::uint64_t v)
    {
        if (v < 0xfb)
            u8(std::uint8_t(v));
        else if (v <= 0xffff)
            u8(0xfc), fixed(v, 2);
        else if (v <= 0xffffff)
            u8(0xfd), fixed(v, 3);
        else
            u8(0xfe), fixed(v, 8);
    }
    void bytes(std::string_view s) { out_.append(s); }
    void lenenc_bytes(std::string_view s) { lenenc(s.size()), bytes(s); }
    void null_terminated(std::string_view s) { bytes(s), u8(0); }
    void zeros(std::size_t n) { out_.append(n, '\0'); }

private:
    std::string& out_;
};

// A whole physical packet (header + payload) around `payload`.
std::string frame_packet(std::string_view payload, std::uint8_t sequence_id);

// The payload length in a 4-byte packet header (the 4th byte is the sequence id).
inline std::uint32_t packet_length(const unsigned char* header)
{
    return header[0] | header[1] << 8 | header[2] << 16;
}

}   // namespace causeway::protocol
