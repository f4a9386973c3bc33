// See compress.hh.
#include "protocol/compress.hh"

#include <zlib.h>

#include <cstring>

namespace causeway::protocol {

namespace {
void put3(std::uint8_t* p, std::uint32_t v)
{
    p[0] = std::uint8_t(v);
    p[1] = std::uint8_t(v >> 8);
    p[2] = std::uint8_t(v >> 16);
}
std::uint32_t get3(const std::uint8_t* p)
{
    return std::uint32_t(p[0]) | std::uint32_t(p[1]) << 8 | std::uint32_t(p[2]) << 16;
}
// Inflated in steps of this much, so that a frame that lies about its
// uncompressed length costs only what it really inflates to.
constexpr std::size_t inflate_step = 65536;
}   // namespace

compressed_header parse_compressed_header(const std::uint8_t* p)
{
    return {get3(p), p[3], get3(p + 4)};
}

struct zlib_codec::state {
    z_stream def{};
    z_stream inf{};
    bool def_ok = false;
    bool inf_ok = false;
    ~state()
    {
        if (def_ok) deflateEnd(&def);
        if (inf_ok) inflateEnd(&inf);
    }
};

zlib_codec::zlib_codec(int level) : s_(new (std::nothrow) state)
{
    if (!s_) return;
    s_->def_ok = deflateInit(&s_->def, level) == Z_OK;
    s_->inf_ok = inflateInit(&s_->inf) == Z_OK;
}

zlib_codec::zlib_codec(zlib_codec&&) noexcept = default;
zlib_codec& zlib_codec::operator=(zlib_codec&&) noexcept = default;
zlib_codec::~zlib_codec() = default;

bool zlib_codec::ok() const
{
    return s_ && s_->def_ok && s_->inf_ok;
}

bool zlib_codec::append_frame(const std::uint8_t* data, std::size_t n, std::uint8_t seq, std::string& out)
{
    if (n > max_frame_length || !ok()) return false;
    std::size_t at = out.size();
    std::uint32_t deflated = 0;
    if (n >= min_compress_length) {
        z_stream& z = s_->def;
        if (deflateReset(&z) != Z_OK) return false;
        uLong bound = deflateBound(&z, uLong(n));
        out.resize(at + compressed_header_size + bound);
        z.next_in = const_cast<Bytef*>(data);
        z.avail_in = uInt(n);
        z.next_out = reinterpret_cast<Bytef*>(out.data() + at + compressed_header_size);
        z.avail_out = uInt(bound);
        // deflateBound() leaves room for the whole stream: one call finishes it.
        if (deflate(&z, Z_FINISH) == Z_STREAM_END && z.total_out < n) deflated = std::uint32_t(z.total_out);
    }
    auto* h = reinterpret_cast<std::uint8_t*>(out.data());
    if (deflated) {
        out.resize(at + compressed_header_size + deflated);
        h = reinterpret_cast<std::uint8_t*>(out.data()) + at;
        put3(h, deflated);
        put3(h + 4, std::uint32_t(n));
    } else {
        // Small, or incompressible: stored, uncompressed length 0.
        out.resize(at + compressed_header_size);
        h = reinterpret_cast<std::uint8_t*>(out.data()) + at;
        put3(h, std::uint32_t(n));
        put3(h + 4, 0);
        out.append(reinterpret_cast<const char*>(data), n);
        h = reinterpret_cast<std::uint8_t*>(out.data()) + at;
    }
    h[3] = seq;
    return true;
}

bool zlib_codec::inflate_frame(const compressed_header& h, const std::uint8_t* body, std::string& out, std::string& why)
{
    if (h.uncompressed_length == 0) {
        out.append(reinterpret_cast<const char*>(body), h.length);
        return true;
    }
    if (!ok()) {
        why = "zlib could not allocate its state";
        return false;
    }
    z_stream& z = s_->inf;
    if (inflateReset(&z) != Z_OK) {
        why = "inflateReset failed";
        return false;
    }
    z.next_in = const_cast<Bytef*>(body);
    z.avail_in = uInt(h.length);
    std::size_t start = out.size();
    std::size_t left = h.uncompressed_length;
    int rc = Z_OK;
    while (rc == Z_OK) {
        if (left == 0) break;   // the declared length is reached; the stream must end here
        std::size_t step = left < inflate_step ? left : inflate_step;
        std::size_t at = out.size();
        out.resize(at + step);
        z.next_out = reinterpret_cast<Bytef*>(out.data() + at);
        z.avail_out = uInt(step);
        rc = inflate(&z, Z_FINISH);
        std::size_t got = step - z.avail_out;
        out.resize(at + got);
        left -= got;
        if (rc == Z_BUF_ERROR && got > 0) rc = Z_OK;   // the step was full: go on
    }
    if (rc == Z_OK && left == 0) {
        // All the declared bytes are out: the stream must end with no more output.
        std::uint8_t extra;
        z.next_out = &extra;
        z.avail_out = 1;
        rc = inflate(&z, Z_FINISH);
        if (z.avail_out == 0) rc = Z_DATA_ERROR;
    }
    std::size_t produced = out.size() - start;
    if (rc != Z_STREAM_END) {
        // More bytes than declared is bad data too.
        why = rc == Z_DATA_ERROR ? "bad deflate data" : rc == Z_MEM_ERROR ? "out of memory" : "truncated deflate data";
        if (z.msg) why += std::string(" (") + z.msg + ")";
        out.resize(start);
        return false;
    }
    if (produced != h.uncompressed_length || z.avail_in != 0) {
        why = "deflate data of " + std::to_string(produced) + " bytes where the header says " +
            std::to_string(h.uncompressed_length);
        if (z.avail_in) why = "bytes after the end of the deflate data";
        out.resize(start);
        return false;
    }
    return true;
}

bool append_frames(zlib_codec& codec, const std::uint8_t* data, std::size_t n, std::size_t max_frame, std::uint8_t& seq,
                   std::string& out)
{
    if (max_frame == 0 || max_frame > max_frame_length) max_frame = max_frame_length;
    do {
        std::size_t take = n < max_frame ? n : max_frame;
        if (!codec.append_frame(data, take, seq, out)) return false;
        ++seq;
        data += take;
        n -= take;
    } while (n);
    return true;
}

frame_status take_frame(zlib_codec& codec, const std::uint8_t* data, std::size_t n, std::uint32_t max_uncompressed,
                        std::string& out, compressed_header& h, std::size_t& consumed, std::string& why)
{
    if (n < compressed_header_size) return frame_status::need_more;
    h = parse_compressed_header(data);
    std::uint32_t plain = h.uncompressed_length ? h.uncompressed_length : h.length;
    if (plain > max_uncompressed) return frame_status::too_large;
    if (n - compressed_header_size < h.length) return frame_status::need_more;
    if (!codec.inflate_frame(h, data + compressed_header_size, out, why)) return frame_status::corrupt;
    consumed = compressed_header_size + h.length;
    return frame_status::frame;
}

template <class F>
void packet_renumberer::walk(walker& w, std::uint8_t* p, std::size_t n, F&& at_seq)
{
    while (n) {
        if (w.left) {
            std::size_t skip = n < w.left ? n : w.left;
            p += skip, n -= skip, w.left -= std::uint32_t(skip);
            continue;
        }
        if (w.have < 3) {
            w.hdr[w.have++] = *p++, --n;
            continue;
        }
        at_seq(*p);
        w.left = std::uint32_t(w.hdr[0]) | std::uint32_t(w.hdr[1]) << 8 | std::uint32_t(w.hdr[2]) << 16;
        w.have = 0;
        ++p, --n;
    }
}

void packet_renumberer::saw_output(const std::uint8_t* p, std::size_t n)
{
    // walk() writes nothing through the pointer here.
    walk(out_, const_cast<std::uint8_t*>(p), n, [this](std::uint8_t& seq) { last_ = seq; });
}

void packet_renumberer::rewrite_input(std::uint8_t* p, std::size_t n, std::uint8_t frame_seq)
{
    bool first = true;   // the first packet to start in this frame
    while (n) {
        // Where the next packet starts (its first header byte) decides whether it opens a command.
        if (in_.left == 0 && in_.have == 0) {
            new_command_ = first && frame_seq == 0;
            first = false;
        }
        std::size_t step = in_.left ? (n < in_.left ? n : in_.left) : 1;
        walk(in_, p, step, [this](std::uint8_t& seq) {
            seq = new_command_ ? 0 : std::uint8_t(last_ + 1);
            last_ = seq;
        });
        p += step, n -= step;
    }
}

}   // namespace causeway::protocol
