// FNV-1a over what answer_digest.hh says counts.
#include "protocol/answer_digest.hh"

#include "protocol/ok_err.hh"

namespace causeway::protocol {

namespace {
constexpr std::uint64_t fnv_prime = 0x100000001b3ull;
}

void answer_digest::bytes(const void* data, std::size_t n)
{
    const auto* p = static_cast<const unsigned char*>(data);
    std::uint64_t h = h_;
    for (std::size_t i = 0; i < n; ++i) h = (h ^ p[i]) * fnv_prime;
    h_ = h;
}

void answer_digest::mix_u64(std::uint64_t v)
{
    unsigned char b[8];
    for (int i = 0; i < 8; ++i) b[i] = static_cast<unsigned char>(v >> (8 * i));
    bytes(b, sizeof b);
}

void answer_digest::packet(packet_role role, std::string_view payload, std::uint32_t capabilities)
{
    if (role == packet_role::ok) {
        auto ok = parse_ok(payload, capabilities);
        mix_u64(0x4f4b0000u | (ok ? ok->warnings : 0xffffu));
        return;
    }
    if (role == packet_role::eof) {
        mix_u64(0x454f0000u | parse_eof(payload).warnings);
        return;
    }
    packet_start(std::uint32_t(payload.size()));
    bytes(payload.data(), payload.size());
}

}   // namespace causeway::protocol
