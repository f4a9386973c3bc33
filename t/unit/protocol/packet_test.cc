// Framing and field primitives (bytes.hh), the framing of every captured
// exchange, and the robustness sweep: every captured packet cut at every
// length, and random garbage, through every parser. Run under
// -fsanitize=address,undefined this is the out-of-bounds check.
#include <cppunit/extensions/HelperMacros.h>

#include <random>

#include "protocol/bytes.hh"
#include "protocol/handshake.hh"
#include "protocol/ok_err.hh"
#include "protocol/response.hh"
#include "t/unit/protocol/captured.hh"
#include "t/unit/protocol/wire.hh"

using namespace causeway::protocol;
using namespace std::literals;
using causeway::protocol::test::exact_copy;
using causeway::protocol::test::split_wire;

namespace {

// Feeds `payload` to every parser; returns a digest so nothing is optimized away.
std::size_t run_every_parser(std::string_view payload, std::uint32_t caps)
{
    std::size_t digest = 0;
    if (auto g = parse_greeting(payload))
        digest += g->server_version.size() + g->scramble.size() + g->auth_plugin.size();
    if (auto h = parse_handshake_response(payload))
        digest += h->user.size() + h->auth_response.size() + h->database.size() + h->connect_attrs.size();
    if (auto s = parse_auth_switch(payload)) digest += s->plugin.size() + s->data.size();
    if (auto c = parse_change_user(payload, caps)) digest += c->user.size() + c->auth_response.size() + c->charset;
    if (auto ok = parse_ok(payload, caps)) {
        digest += ok->info.size() + tracked_variable(ok->session_state, "last_gtid").size();
        digest += build_ok(*ok, caps).size() + build_ok(*ok, 0).size();
    }
    digest += tracked_variable(payload, "last_gtid").size();
    if (auto e = parse_err(payload)) digest += e->message.size() + e->sql_state.size();
    if (is_eof(payload)) digest += parse_eof(payload).status;
    digest += parse_eof(payload).warnings;
    static const command commands[] = {command::query,      command::stmt_prepare, command::stmt_execute,
                                       command::stmt_fetch, command::field_list,   command::statistics,
                                       command::set_option, command::process_info, command::ping};
    for (command cmd : commands) {
        response_tracker t;
        t.begin(cmd, caps);
        for (int i = 0; i < 3 && !t.done(); ++i) {
            std::uint8_t first = payload.empty() ? 0 : std::uint8_t(payload[0]);
            bool whole = t.needs_whole_packet(first, std::uint32_t(payload.size()));
            std::string_view fed = whole || payload.empty() ? payload : payload.substr(0, 1);
            if (t.on_packet(fed, std::uint32_t(payload.size())) == packet_role::malformed) break;
            if (t.awaiting_client_data()) t.local_infile_sent();
        }
        digest += t.status();
    }
    return digest;
}

}   // namespace

class packet_test : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(packet_test);
    CPPUNIT_TEST(lenenc_round_trip_at_every_boundary);
    CPPUNIT_TEST(lenenc_null_and_ff_are_not_integers);
    CPPUNIT_TEST(failure_is_sticky_and_reads_nothing);
    CPPUNIT_TEST(lenenc_bytes_longer_than_the_rest_fail);
    CPPUNIT_TEST(null_terminated_needs_the_nul);
    CPPUNIT_TEST(fixed_width_little_endian);
    CPPUNIT_TEST(frame_packet_writes_the_header);
    CPPUNIT_TEST(captured_exchanges_frame_exactly);
    CPPUNIT_TEST(every_truncation_of_every_captured_packet);
    CPPUNIT_TEST(random_garbage_never_crashes);
    CPPUNIT_TEST_SUITE_END();

public:
    void lenenc_round_trip_at_every_boundary()
    {
        struct {
            std::uint64_t value;
            std::size_t size;
        } const cases[] = {{0, 1},       {250, 1},      {251, 3},       {0xffff, 3},
                           {0x10000, 4}, {0xffffff, 4}, {0x1000000, 9}, {~std::uint64_t(0), 9}};
        for (const auto& c : cases) {
            std::string buf;
            byte_writer w(buf);
            w.lenenc(c.value);
            CPPUNIT_ASSERT_EQUAL(c.size, buf.size());
            exact_copy copy(buf);
            byte_reader r(copy.view());
            CPPUNIT_ASSERT_EQUAL(c.value, r.lenenc());
            CPPUNIT_ASSERT(!r.failed());
            CPPUNIT_ASSERT(r.at_end());
        }
    }

    void lenenc_null_and_ff_are_not_integers()
    {
        for (char marker : {'\xfb', '\xff'}) {
            std::string buf(1, marker);
            buf += "\x01\x02\x03";
            byte_reader r(buf);
            CPPUNIT_ASSERT_EQUAL(std::uint64_t(0), r.lenenc());
            CPPUNIT_ASSERT(r.failed());
        }
        // Every prefix of the wider forms is a failure, not a short read.
        for (std::string_view whole :
             {"\xfc\x01\x02"sv, "\xfd\x01\x02\x03"sv, "\xfe\x01\x02\x03\x04\x05\x06\x07\x08"sv}) {
            for (std::size_t n = 0; n < whole.size(); ++n) {
                exact_copy copy(whole.substr(0, n));
                byte_reader r(copy.view());
                r.lenenc();
                CPPUNIT_ASSERT(r.failed());
            }
        }
    }

    void failure_is_sticky_and_reads_nothing()
    {
        std::string buf("\x01\x02\x03", 3);
        byte_reader r(buf);
        CPPUNIT_ASSERT_EQUAL(std::uint32_t(0), r.u32());
        CPPUNIT_ASSERT(r.failed());
        CPPUNIT_ASSERT_EQUAL(std::size_t(3), r.remaining());   // nothing consumed
        CPPUNIT_ASSERT_EQUAL(std::uint8_t(0), r.u8());   // data is there, but the reader has failed
        CPPUNIT_ASSERT(r.bytes(1).empty());
        CPPUNIT_ASSERT(r.rest().empty());
        CPPUNIT_ASSERT(r.failed());
    }

    void lenenc_bytes_longer_than_the_rest_fail()
    {
        std::string buf(
            "\x05"
            "abcd",
            5);
        exact_copy copy(buf);
        byte_reader r(copy.view());
        CPPUNIT_ASSERT(r.lenenc_bytes().empty());
        CPPUNIT_ASSERT(r.failed());
        std::string huge(
            "\xfe\xff\xff\xff\xff\xff\xff\xff\xff"
            "x",
            10);   // 2^64-1 bytes announced
        byte_reader h(huge);
        CPPUNIT_ASSERT(h.lenenc_bytes().empty());
        CPPUNIT_ASSERT(h.failed());
        byte_reader ok(
            std::string_view("\x03"
                             "abcX",
                             5));
        CPPUNIT_ASSERT_EQUAL(std::string("abc"), std::string(ok.lenenc_bytes()));
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), ok.remaining());
    }

    void null_terminated_needs_the_nul()
    {
        exact_copy none("abc");
        byte_reader r(none.view());
        CPPUNIT_ASSERT(r.null_terminated().empty());
        CPPUNIT_ASSERT(r.failed());
        byte_reader e{std::string_view()};
        CPPUNIT_ASSERT(e.null_terminated().empty());
        CPPUNIT_ASSERT(e.failed());
        byte_reader two(std::string_view("ab\0\0c", 5));
        CPPUNIT_ASSERT_EQUAL(std::string("ab"), std::string(two.null_terminated()));
        CPPUNIT_ASSERT_EQUAL(std::string(""), std::string(two.null_terminated()));
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), two.remaining());
        CPPUNIT_ASSERT(!two.failed());
    }

    void fixed_width_little_endian()
    {
        std::string buf;
        byte_writer w(buf);
        w.u16(0x1234);
        w.fixed(0xabcdef, 3);
        w.u32(0xdeadbeef);
        w.null_terminated("x");
        w.lenenc_bytes("yz");
        w.zeros(2);
        CPPUNIT_ASSERT_EQUAL(std::string("34 12 ef cd ab ef be ad de 78 00 02 79 7a 00 00"), test::hex(buf));
        byte_reader r(buf);
        CPPUNIT_ASSERT_EQUAL(std::uint16_t(0x1234), r.u16());
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(0xabcdef), r.fixed(3));
        CPPUNIT_ASSERT_EQUAL(std::uint32_t(0xdeadbeef), r.u32());
        CPPUNIT_ASSERT_EQUAL(std::string("x"), std::string(r.null_terminated()));
        CPPUNIT_ASSERT_EQUAL(std::string("yz"), std::string(r.lenenc_bytes()));
        r.skip(2);
        CPPUNIT_ASSERT(r.at_end() && !r.failed());
    }

    void frame_packet_writes_the_header()
    {
        CPPUNIT_ASSERT_EQUAL(std::string("03 00 00 07 61 62 63"), test::hex(frame_packet("abc", 7)));
        CPPUNIT_ASSERT_EQUAL(std::string("00 00 00 ff"), test::hex(frame_packet("", 255)));
        std::string big(0x12345, 'x');
        CPPUNIT_ASSERT_EQUAL(std::string("45 23 01 02"), test::hex(frame_packet(big, 2).substr(0, 4)));
        // A captured packet reframed with its own sequence id is the captured bytes.
        for (const auto& e : captured::all)
            for (std::string_view wire : {e.request, e.answer}) {
                std::string again;
                for (const auto& p : split_wire(wire)) again += frame_packet(p.payload, p.sequence);
                CPPUNIT_ASSERT_MESSAGE(e.name, again == wire);
            }
    }

    void captured_exchanges_frame_exactly()
    {
        std::size_t packets = 0;
        for (const auto& e : captured::all) {
            for (std::string_view wire : {e.request, e.answer}) {
                std::size_t total = 0;
                auto split = split_wire(wire);
                for (std::size_t i = 0; i < split.size(); ++i) {
                    CPPUNIT_ASSERT_MESSAGE(e.name, split[i].length < max_payload);
                    CPPUNIT_ASSERT_EQUAL_MESSAGE(e.name, std::size_t(split[i].length), split[i].payload.size());
                    total += header_size + split[i].length;
                    if (i)
                        CPPUNIT_ASSERT_EQUAL_MESSAGE(e.name, std::uint8_t(split[i - 1].sequence + 1),
                                                     split[i].sequence);
                }
                CPPUNIT_ASSERT_EQUAL_MESSAGE(e.name, wire.size(), total);
                packets += split.size();
            }
            // The answer continues the request's sequence (the relayed client
            // is recorded greeting-last, so it is the exception).
            auto req = split_wire(e.request), ans = split_wire(e.answer);
            if (!req.empty() && !ans.empty() && std::string_view(e.name) != "mariadb_cli")
                CPPUNIT_ASSERT_EQUAL_MESSAGE(e.name, std::uint8_t(req.back().sequence + 1), ans.front().sequence);
            if (e.command) CPPUNIT_ASSERT_EQUAL_MESSAGE(e.name, std::uint8_t(0), req.front().sequence);
        }
        CPPUNIT_ASSERT(packets > 200);
    }

    void every_truncation_of_every_captured_packet()
    {
        std::size_t runs = 0, digest = 0;
        for (const auto& e : captured::all)
            for (std::string_view wire : {e.request, e.answer})
                for (const auto& p : split_wire(wire))
                    for (std::size_t n = 0; n <= p.payload.size(); ++n) {
                        exact_copy copy(p.payload.substr(0, n));
                        for (std::uint32_t caps : {e.capabilities, 0u, ~0u}) {
                            digest += run_every_parser(copy.view(), caps);
                            ++runs;
                        }
                    }
        CPPUNIT_ASSERT(runs > 10000);
        CPPUNIT_ASSERT(digest > 0);
    }

    void random_garbage_never_crashes()
    {
        std::mt19937 rng(20240611);
        static const std::uint8_t interesting[] = {0x00, 0x01, 0x03, 0x0a, 0x11, 0xfb, 0xfc, 0xfd, 0xfe, 0xff};
        std::size_t digest = 0;
        for (int i = 0; i < 30000; ++i) {
            std::size_t n = rng() % 4 == 0 ? rng() % 300 : rng() % 24;
            std::string buf(n, '\0');
            for (char& c : buf) c = char(rng() % 3 == 0 ? interesting[rng() % sizeof interesting] : rng());
            exact_copy copy(buf);
            digest += run_every_parser(copy.view(), std::uint32_t(rng()));
        }
        (void)digest;
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(packet_test);
