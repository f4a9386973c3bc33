// libFuzzer target for the compressed protocol's framing: the input is a
// stream of client frames, taken as the channel takes them (a bound on the
// declared length, frames one after another, plain bytes renumbered). Beyond
// no crash or sanitizer report: a frame taken never yields more bytes than it
// declares, and whatever was taken, framed again and taken back, is the same.
#include <cstddef>
#include <cstdint>
#include <string>

#include "protocol/compress.hh"

namespace {

using namespace causeway::protocol;

void check(bool ok)
{
    if (!ok) __builtin_trap();
}

// Small enough that the bound is reached by fuzzed headers.
constexpr std::uint32_t max_plain = 1u << 20;

}   // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    static zlib_codec codec;
    check(codec.ok());
    packet_renumberer renumber;
    std::string plain, why;
    std::size_t at = 0;
    while (at < size) {
        compressed_header h;
        std::size_t used = 0, before = plain.size();
        auto st = take_frame(codec, data + at, size - at, max_plain, plain, h, used, why);
        if (st != frame_status::frame) {
            check(plain.size() == before);   // nothing half-taken
            break;
        }
        std::size_t got = plain.size() - before;
        check(got == (h.uncompressed_length ? h.uncompressed_length : h.length));
        check(used == compressed_header_size + h.length);
        renumber.rewrite_input(reinterpret_cast<std::uint8_t*>(plain.data()) + before, got, h.seq);
        renumber.saw_output(reinterpret_cast<const std::uint8_t*>(plain.data()) + before, got);
        at += used;
    }
    // What came out, framed again (in frames of a size the input picks) and taken back.
    std::string stream, back;
    std::uint8_t seq = size ? data[0] : 0;
    std::size_t frame = size > 1 ? 1 + data[1] * 64 : 0;
    check(append_frames(codec, reinterpret_cast<const std::uint8_t*>(plain.data()), plain.size(), frame, seq, stream));
    std::size_t pos = 0;
    while (pos < stream.size()) {
        compressed_header h;
        std::size_t used = 0;
        auto st = take_frame(codec, reinterpret_cast<const std::uint8_t*>(stream.data()) + pos, stream.size() - pos,
                             max_frame_length, back, h, used, why);
        check(st == frame_status::frame);
        pos += used;
    }
    check(back == plain);
    return 0;
}
