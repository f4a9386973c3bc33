// Test helpers over captured wire bytes: split them into packets, and copy a
// payload into a buffer of exactly its size so that a read past the end is a
// heap overflow that AddressSanitizer reports (a std::string has slack).
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace causeway::protocol::test {

struct wire_packet {
    std::uint32_t length;   // from the header
    std::uint8_t sequence;
    std::string_view payload;
};

// The packets of `wire`; a trailing partial packet is returned truncated.
inline std::vector<wire_packet> split_wire(std::string_view wire)
{
    std::vector<wire_packet> out;
    std::size_t i = 0;
    while (i + 4 <= wire.size()) {
        auto b = [&](std::size_t k) { return std::uint32_t(std::uint8_t(wire[i + k])); };
        std::uint32_t n = b(0) | b(1) << 8 | b(2) << 16;
        out.push_back({n, std::uint8_t(b(3)), wire.substr(i + 4, n)});
        i += 4 + std::size_t(n);
    }
    return out;
}

inline std::vector<std::string_view> payloads(std::string_view wire)
{
    std::vector<std::string_view> out;
    for (const wire_packet& p : split_wire(wire)) out.push_back(p.payload);
    return out;
}

inline std::string_view payload(std::string_view wire, std::size_t index = 0)
{
    return payloads(wire).at(index);
}

// `bytes` in a heap block of exactly bytes.size() (new char[0] for none).
class exact_copy {
public:
    explicit exact_copy(std::string_view bytes) : size_(bytes.size()), data_(new char[bytes.size()])
    {
        if (size_) std::memcpy(data_.get(), bytes.data(), size_);
    }
    std::string_view view() const { return {data_.get(), size_}; }

private:
    std::size_t size_;
    std::unique_ptr<char[]> data_;
};

inline std::string hex(std::string_view s)
{
    static const char digits[] = "0123456789abcdef";
    std::string out;
    for (char c : s) {
        if (!out.empty()) out += ' ';
        out += digits[std::uint8_t(c) >> 4];
        out += digits[std::uint8_t(c) & 15];
    }
    return out;
}

}   // namespace causeway::protocol::test
