// Packet framing helpers (see bytes.hh).
#include "protocol/bytes.hh"

namespace causeway::protocol {

std::string frame_packet(std::string_view payload, std::uint8_t sequence_id)
{
    // Callers only frame packets they build themselves (greetings, errors,
    // auth); those are far below max_payload.
    std::string out;
    out.reserve(4 + payload.size());
    byte_writer w(out);
    w.fixed(payload.size(), 3);
    w.u8(sequence_id);
    w.bytes(payload);
    return out;
}

}   // namespace causeway::protocol
