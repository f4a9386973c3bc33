// The compressed protocol's framing: frames made and taken back across every
// split of the stream (as the socket delivers it), small payloads stored and
// large ones deflated and cut into frames, the sequence ids, a frame checked
// against zlib's own compress(), and the refusals: too large, bad deflate
// data, lengths that do not match. And the SHOW STATUS the proxy answers.
#include <cppunit/extensions/HelperMacros.h>
#include <zlib.h>

#include <string>
#include <vector>

#include "protocol/compress.hh"

using namespace causeway::protocol;

namespace {
const std::uint8_t* bytes(const std::string& s)
{
    return reinterpret_cast<const std::uint8_t*>(s.data());
}

std::string sample(std::size_t n)
{
    std::string s;
    std::uint32_t x = 7;
    for (std::size_t i = 0; i < n; ++i) {
        x = x * 1103515245u + 12345u;
        // Compressible text with some noise: deflate wins, but not trivially.
        s.push_back(i % 7 == 0 ? char(x >> 24) : char('a' + i % 26));
    }
    return s;
}

// Takes every whole frame from the front of `stream`; returns the plain bytes.
std::string take_all(zlib_codec& c, std::string& stream, std::vector<std::uint8_t>& seqs,
                     std::uint32_t max = max_frame_length)
{
    std::string out, why;
    while (true) {
        compressed_header h;
        std::size_t used = 0;
        auto st = take_frame(c, bytes(stream), stream.size(), max, out, h, used, why);
        if (st == frame_status::need_more) return out;
        CPPUNIT_ASSERT_MESSAGE(why, st == frame_status::frame);
        seqs.push_back(h.seq);
        stream.erase(0, used);
    }
}
}   // namespace

class compress_test : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(compress_test);
    CPPUNIT_TEST(small_is_stored);
    CPPUNIT_TEST(large_is_deflated_like_zlib);
    CPPUNIT_TEST(incompressible_is_stored);
    CPPUNIT_TEST(frames_and_sequence_ids);
    CPPUNIT_TEST(every_split_of_the_stream);
    CPPUNIT_TEST(refuses_too_large);
    CPPUNIT_TEST(refuses_bad_deflate);
    CPPUNIT_TEST(refuses_wrong_lengths);
    CPPUNIT_TEST(renumbers_client_packets);
    CPPUNIT_TEST_SUITE_END();

public:
    void small_is_stored()
    {
        zlib_codec c;
        std::string out, payload("\x09\x00\x00\x00\x03SELECT 1", 13);
        CPPUNIT_ASSERT(c.append_frame(bytes(payload), payload.size(), 3, out));
        // 3-byte length, seq, 3-byte uncompressed length 0 (stored), the bytes.
        CPPUNIT_ASSERT_EQUAL(std::string("\x0d\x00\x00\x03\x00\x00\x00", 7) + payload, out);
    }

    void large_is_deflated_like_zlib()
    {
        zlib_codec c;
        std::string payload = sample(5000), out;
        CPPUNIT_ASSERT(c.append_frame(bytes(payload), payload.size(), 1, out));
        auto h = parse_compressed_header(bytes(out));
        CPPUNIT_ASSERT_EQUAL(std::uint32_t(5000), h.uncompressed_length);
        CPPUNIT_ASSERT_EQUAL(std::uint8_t(1), h.seq);
        CPPUNIT_ASSERT_EQUAL(out.size() - compressed_header_size, std::size_t(h.length));
        CPPUNIT_ASSERT(h.length < 5000);
        // zlib's own uncompress() (what clients call) reads the body.
        std::string back(5000, '\0');
        uLongf n = back.size();
        CPPUNIT_ASSERT_EQUAL(Z_OK, uncompress(reinterpret_cast<Bytef*>(back.data()), &n, bytes(out) + 7, h.length));
        CPPUNIT_ASSERT_EQUAL(payload, back);
        // And a frame made by zlib's compress() (what clients send) is taken.
        std::string z(compressBound(5000), '\0');
        uLongf zn = z.size();
        CPPUNIT_ASSERT_EQUAL(Z_OK, compress(reinterpret_cast<Bytef*>(z.data()), &zn, bytes(payload), 5000));
        std::string frame = std::string("\0\0\0\0\x88\x13\0", 7) + z.substr(0, zn);
        frame[0] = char(zn & 0xff), frame[1] = char(zn >> 8);
        std::vector<std::uint8_t> seqs;
        CPPUNIT_ASSERT_EQUAL(payload, take_all(c, frame, seqs));
        CPPUNIT_ASSERT(frame.empty());
    }

    void incompressible_is_stored()
    {
        zlib_codec c;
        std::string noise;
        std::uint32_t x = 1;
        for (int i = 0; i < 300; ++i) noise.push_back(char((x = x * 1664525u + 1013904223u) >> 24));
        std::string out;
        CPPUNIT_ASSERT(c.append_frame(bytes(noise), noise.size(), 0, out));
        CPPUNIT_ASSERT_EQUAL(std::uint32_t(0), parse_compressed_header(bytes(out)).uncompressed_length);
        CPPUNIT_ASSERT_EQUAL(noise, out.substr(7));
    }

    void frames_and_sequence_ids()
    {
        zlib_codec c;
        std::string payload = sample(100000), stream;
        std::uint8_t seq = 254;
        CPPUNIT_ASSERT(append_frames(c, bytes(payload), payload.size(), 30000, seq, stream));
        CPPUNIT_ASSERT_EQUAL(std::uint8_t(2), seq);   // 4 frames: 254, 255, 0, 1
        std::vector<std::uint8_t> seqs;
        CPPUNIT_ASSERT_EQUAL(payload, take_all(c, stream, seqs));
        CPPUNIT_ASSERT_EQUAL(std::size_t(4), seqs.size());
        CPPUNIT_ASSERT_EQUAL(std::uint8_t(254), seqs[0]);
        CPPUNIT_ASSERT_EQUAL(std::uint8_t(1), seqs[3]);
    }

    void every_split_of_the_stream()
    {
        // Frames of mixed kinds (stored, deflated), delivered in two parts at
        // every possible point: what comes out is the input, in order.
        zlib_codec c;
        std::string plain = "tiny" + sample(3000) + "x" + sample(200), stream;
        std::uint8_t seq = 0;
        std::size_t at = 0;
        for (int n : {4, 3000, 1, 200}) {
            CPPUNIT_ASSERT(append_frames(c, bytes(plain) + at, std::size_t(n), 0, seq, stream));
            at += std::size_t(n);
        }
        for (std::size_t cut = 0; cut <= stream.size(); ++cut) {
            std::string have = stream.substr(0, cut), out;
            std::vector<std::uint8_t> seqs;
            out = take_all(c, have, seqs);
            have += stream.substr(cut);
            out += take_all(c, have, seqs);
            CPPUNIT_ASSERT(have.empty());
            CPPUNIT_ASSERT_EQUAL(plain, out);
            CPPUNIT_ASSERT_EQUAL(std::size_t(4), seqs.size());
            CPPUNIT_ASSERT_EQUAL(std::uint8_t(3), seqs[3]);
        }
    }

    void refuses_too_large()
    {
        zlib_codec c;
        // Declares 1 MiB uncompressed behind 10 bytes: refused from the header alone.
        std::string frame("\x0a\x00\x00\x00\x00\x00\x10", 7);
        std::string out, why;
        compressed_header h;
        std::size_t used = 0;
        CPPUNIT_ASSERT(take_frame(c, bytes(frame), frame.size(), 65536, out, h, used, why) == frame_status::too_large);
        CPPUNIT_ASSERT(out.empty());
        // Stored bytes count too.
        std::string stored("\x00\x00\x02\x00\x00\x00\x00", 7);
        CPPUNIT_ASSERT(take_frame(c, bytes(stored), stored.size(), 65536, out, h, used, why) ==
                       frame_status::too_large);
    }

    void refuses_bad_deflate()
    {
        zlib_codec c;
        std::string frame = std::string("\x0c\x00\x00\x00\x00\x10\x00", 7) + "not deflate!";
        std::string out, why;
        compressed_header h;
        std::size_t used = 0;
        CPPUNIT_ASSERT(take_frame(c, bytes(frame), frame.size(), max_frame_length, out, h, used, why) ==
                       frame_status::corrupt);
        CPPUNIT_ASSERT(!why.empty());
        CPPUNIT_ASSERT(out.empty());
        // The codec is fine afterwards.
        std::string good, payload = sample(1000), stream;
        std::uint8_t seq = 0;
        CPPUNIT_ASSERT(append_frames(c, bytes(payload), payload.size(), 0, seq, stream));
        std::vector<std::uint8_t> seqs;
        CPPUNIT_ASSERT_EQUAL(payload, take_all(c, stream, seqs));
    }

    void refuses_wrong_lengths()
    {
        zlib_codec c;
        std::string payload = sample(1000), frame;
        CPPUNIT_ASSERT(c.append_frame(bytes(payload), payload.size(), 0, frame));
        for (std::uint32_t declared : {999u, 1001u, 64000u}) {
            std::string f = frame;
            f[4] = char(declared & 0xff), f[5] = char((declared >> 8) & 0xff), f[6] = char(declared >> 16);
            std::string out, why;
            compressed_header h;
            std::size_t used = 0;
            CPPUNIT_ASSERT_MESSAGE(
                std::to_string(declared),
                take_frame(c, bytes(f), f.size(), max_frame_length, out, h, used, why) == frame_status::corrupt);
            CPPUNIT_ASSERT(out.empty());
        }
        // Bytes after the deflate stream's end, inside the frame.
        std::string f = frame + "zz";
        std::uint32_t len = std::uint32_t(f.size() - 7);
        f[0] = char(len & 0xff), f[1] = char(len >> 8);
        std::string out, why;
        compressed_header h;
        std::size_t used = 0;
        CPPUNIT_ASSERT(take_frame(c, bytes(f), f.size(), max_frame_length, out, h, used, why) == frame_status::corrupt);
    }

    void renumbers_client_packets()
    {
        auto packet = [](std::size_t len, std::uint8_t seq) {
            std::string p(4 + len, 'p');
            p[0] = char(len & 0xff), p[1] = char((len >> 8) & 0xff), p[2] = char(len >> 16), p[3] = char(seq);
            return p;
        };
        auto seqs = [](const std::string& s) {
            std::string out;
            for (std::size_t at = 0; at + 4 <= s.size();) {
                out += std::to_string(int(std::uint8_t(s[at + 3]))) + ",";
                at += 4 + (std::uint8_t(s[at]) | std::uint8_t(s[at + 1]) << 8 | std::uint8_t(s[at + 2]) << 16);
            }
            return out;
        };
        packet_renumberer r;
        // A command of three packets, every one numbered 0 by a compressing
        // client (libmariadb), its header split across two frames 0 and 1.
        std::string cmd = packet(10, 0) + packet(5, 0) + packet(0, 0);
        std::string a = cmd.substr(0, 16), b = cmd.substr(16);
        r.rewrite_input(reinterpret_cast<std::uint8_t*>(a.data()), a.size(), 0);
        r.rewrite_input(reinterpret_cast<std::uint8_t*>(b.data()), b.size(), 1);
        CPPUNIT_ASSERT_EQUAL(std::string("0,1,2,"), seqs(a + b));
        // The server asks for a LOCAL INFILE (packet 1 of the next command):
        // the file's packets follow it, 2, 3, and the empty one 4.
        std::string next = packet(9, 0);
        r.rewrite_input(reinterpret_cast<std::uint8_t*>(next.data()), next.size(), 0);
        std::string request = packet(6, 1);
        r.saw_output(bytes(request), request.size());
        std::string file = packet(100, 7) + packet(50, 7) + packet(0, 7);
        r.rewrite_input(reinterpret_cast<std::uint8_t*>(file.data()), file.size(), 2);
        CPPUNIT_ASSERT_EQUAL(std::string("2,3,4,"), seqs(file));
        // A new command starts at 0 again, whatever the client wrote.
        std::string again = packet(3, 9);
        r.rewrite_input(reinterpret_cast<std::uint8_t*>(again.data()), again.size(), 0);
        CPPUNIT_ASSERT_EQUAL(std::string("0,"), seqs(again));
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(compress_test);
