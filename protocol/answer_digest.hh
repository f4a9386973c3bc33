// A digest of a statement's answer as a client receives it, so that the same
// statement answered by two servers can be compared (an optimistic transaction
// that migrates from a replica to the primary, worker/optimistic_tx.hh). Every
// packet counts with its length and bytes, except OK and EOF packets, of which
// only the warning count does: status flags and session tracking legitimately
// differ between servers. Packets may be fed whole or in pieces.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "protocol/response.hh"

namespace causeway::protocol {

class answer_digest {
public:
    // A whole packet of the given role (`capabilities` of the connection it came from).
    void packet(packet_role role, std::string_view payload, std::uint32_t capabilities);
    // A packet that is fed in pieces: its length now, its bytes through bytes().
    void packet_start(std::uint32_t length) { mix_u64(length); }
    void bytes(const void* data, std::size_t n);
    std::uint64_t value() const { return h_; }
    void reset() { h_ = offset_basis; }

private:
    static constexpr std::uint64_t offset_basis = 0xcbf29ce484222325ull;   // FNV-1a 64
    void mix_u64(std::uint64_t v);
    std::uint64_t h_ = offset_basis;
};

}   // namespace causeway::protocol
