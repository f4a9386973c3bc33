// What every libFuzzer target of t/fuzz/ shares: the check that turns a
// broken property into a finding, and the input copied to a buffer of its
// exact size, so that a parser reading one byte past it is a heap overflow
// under ASan (libFuzzer's own buffer may have room behind it).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string_view>

namespace causeway::fuzz {

inline void check(bool ok)
{
    if (!ok) __builtin_trap();
}

class exact_copy {
public:
    exact_copy(const std::uint8_t* data, std::size_t size) : bytes_(new char[size]), size_(size)
    {
        if (size) std::memcpy(bytes_.get(), data, size);
    }
    std::string_view view() const { return {bytes_.get(), size_}; }

private:
    std::unique_ptr<char[]> bytes_;
    std::size_t size_;
};

}   // namespace causeway::fuzz
