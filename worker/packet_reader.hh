// Taking one whole, small packet off an evbuffer: the connection phase, the
// answers to the proxy's own commands and the poller's queries read packets
// this way (the client data path streams instead: see client_session.cc).
#pragma once

#include <event2/buffer.h>

#include <cstdint>
#include <string>

#include "protocol/bytes.hh"
#include "protocol/constants.hh"

namespace causeway::worker {

enum class take_result {
    taken,
    need_more,
    too_large
};

// Moves the next packet's payload into `payload` (and its sequence id into
// `seq`) once it has fully arrived; a packet longer than `max_len` is left
// where it is and reported.
inline take_result take_packet(evbuffer* in, std::uint32_t max_len, std::string& payload, std::uint8_t& seq)
{
    unsigned char hdr[protocol::header_size];
    if (evbuffer_copyout(in, hdr, sizeof hdr) < ssize_t(sizeof hdr)) return take_result::need_more;
    std::uint32_t len = protocol::packet_length(hdr);
    if (len > max_len) return take_result::too_large;
    if (evbuffer_get_length(in) < protocol::header_size + len) return take_result::need_more;
    payload.resize(len);
    evbuffer_drain(in, protocol::header_size);
    evbuffer_remove(in, payload.data(), len);
    seq = hdr[3];
    return take_result::taken;
}

}   // namespace causeway::worker
