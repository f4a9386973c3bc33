// The MySQL compressed protocol (CLIENT_COMPRESS): frames of a 7-byte header
// (3-byte compressed length, compressed sequence id, 3-byte uncompressed
// length, 0 meaning "stored as is") around a zlib stream of their own. A frame
// carries any run of the plain protocol's bytes: several packets or a part of
// one. Framing and zlib only, no I/O: the worker's channel moves the bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace causeway::protocol {

inline constexpr std::size_t compressed_header_size = 7;
// Below this a server sends the bytes stored, as deflate would not pay
// (MariaDB's MIN_COMPRESS_LENGTH).
inline constexpr std::size_t min_compress_length = 50;
// Either length field has three bytes.
inline constexpr std::uint32_t max_frame_length = 0xffffff;

struct compressed_header {
    std::uint32_t length = 0;   // bytes after the header
    std::uint8_t seq = 0;
    std::uint32_t uncompressed_length = 0;   // 0: the bytes are stored, not deflated
};

compressed_header parse_compressed_header(const std::uint8_t* p);   // 7 bytes

// One deflate and one inflate state, reset for every frame (each frame is a
// zlib stream of its own). A deflate state takes ~256 KiB, so a worker keeps
// one codec for all its connections instead of one per connection. Move-only,
// never throws; ok() is false when zlib could not allocate its states.
class zlib_codec {
public:
    explicit zlib_codec(int level = -1);   // -1: zlib's default level, as the servers use
    zlib_codec(const zlib_codec&) = delete;
    zlib_codec& operator=(const zlib_codec&) = delete;
    zlib_codec(zlib_codec&&) noexcept;
    zlib_codec& operator=(zlib_codec&&) noexcept;
    ~zlib_codec();
    bool ok() const;

    // Appends one frame holding `data` (at most max_frame_length bytes) to
    // `out`: deflated when that is shorter and `n` >= min_compress_length,
    // stored otherwise.
    bool append_frame(const std::uint8_t* data, std::size_t n, std::uint8_t seq, std::string& out);
    // Appends the bytes of a frame's body (h.length bytes at `body`) to `out`.
    // False when the body is not a zlib stream that inflates to exactly
    // h.uncompressed_length bytes; `why` says how. Never allocates more than
    // the bytes it really produced.
    bool inflate_frame(const compressed_header& h, const std::uint8_t* body, std::string& out, std::string& why);

private:
    struct state;
    std::unique_ptr<state> s_;
};

// Cuts `n` bytes into frames of at most `max_frame` bytes each (the first
// numbered `seq`, which is left one past the last) and appends them to `out`.
bool append_frames(zlib_codec& codec, const std::uint8_t* data, std::size_t n, std::size_t max_frame, std::uint8_t& seq,
                   std::string& out);

enum class frame_status {
    frame,   // one frame taken: its bytes appended, `consumed` set
    need_more,   // the frame has not fully arrived
    too_large,   // it declares more than the caller accepts
    corrupt,   // its zlib stream is bad (`why`)
};

// Takes the frame at the front of `data` (n bytes of a compressed stream).
// A frame declaring more than `max_uncompressed` bytes is refused before any
// of it is buffered or inflated.
frame_status take_frame(zlib_codec& codec, const std::uint8_t* data, std::size_t n, std::uint32_t max_uncompressed,
                        std::string& out, compressed_header& h, std::size_t& consumed, std::string& why);

// The plain packets' sequence ids inside compressed frames are not what the
// uncompressed protocol needs: a client numbers every packet of a command 0
// (libmariadb, mysqlnd) and resynchronises its numbering to the frames'. A
// server in compressed mode ignores them; the servers behind the proxy are
// spoken to uncompressed and check them. This renumbers the client's packets
// as an uncompressed client would: a command's first packet (the first to
// start in a frame numbered 0: a client starts each command's frames at 0) is
// 0, and every other packet is one past the last packet of the exchange in
// either direction (a LOAD DATA LOCAL file follows the server's request).
class packet_renumberer {
public:
    // Packets written to the client, in order: only their sequence ids are noted.
    void saw_output(const std::uint8_t* p, std::size_t n);
    // The plain bytes of one client frame numbered `frame_seq`, in order:
    // sequence ids rewritten in place.
    void rewrite_input(std::uint8_t* p, std::size_t n, std::uint8_t frame_seq);

private:
    struct walker {
        std::uint32_t left = 0;   // payload bytes of the current packet still to come
        std::uint8_t hdr[3] = {};
        unsigned have = 0;   // header bytes seen of the next packet (0..3)
    };
    // Calls `at_seq(byte)` at each packet's sequence id byte.
    template <class F>
    static void walk(walker& w, std::uint8_t* p, std::size_t n, F&& at_seq);
    walker in_, out_;
    std::uint8_t last_ = 0;   // the last sequence id of the exchange, either way
    bool new_command_ = false;   // the packet whose header is being read starts a command
};

}   // namespace causeway::protocol
