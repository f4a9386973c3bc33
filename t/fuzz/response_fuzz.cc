// libFuzzer target for the result-set state machine. The input is a command
// byte, 4 bytes of capabilities (little endian) and then packets in wire form
// (3-byte length, sequence id, payload), fed as the relay feeds them: whole
// when needs_whole_packet() says so, else only the first byte with the
// declared length. When an answer is done the next input byte starts a new
// command, so one input can walk several answers. Seeds are captured answers.
// Every packet is also read as a column definition and split as a text and a
// binary row (of the capability bytes as column types): a row that splits
// joins back to a row of the same cells.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/constants.hh"
#include "protocol/response.hh"
#include "protocol/result_rows.hh"
#include "t/fuzz/fuzz_check.hh"

namespace {

using namespace causeway::protocol;

using causeway::fuzz::check;

// A row that splits joins back to a row of the same cells (its lengths then
// in their shortest encoding).
void check_round_trip(std::string_view payload, const std::vector<std::uint8_t>* types)
{
    std::vector<row_cell> cells, again;
    if (!split_row(payload, types, cells)) return;
    std::string joined = join_row(payload, types != nullptr, cells);
    check(split_row(joined, types, again) && again.size() == cells.size());
    for (std::size_t i = 0; i < cells.size(); ++i)
        check(again[i].null == cells[i].null && again[i].text == cells[i].text && again[i].bytes == cells[i].bytes);
}

void check_rows(std::string_view payload, const std::vector<std::uint8_t>& types)
{
    (void)parse_column_definition(payload);
    check_round_trip(payload, nullptr);
    check_round_trip(payload, &types);
}

}   // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    if (size < 5) return 0;
    const std::uint32_t caps = std::uint32_t(data[1]) | std::uint32_t(data[2]) << 8 | std::uint32_t(data[3]) << 16 |
        std::uint32_t(data[4]) << 24;
    const std::vector<std::uint8_t> types(data + 1, data + 5);
    response_tracker t;
    t.begin(command(data[0]), caps);
    std::size_t i = 5;
    int answers = 0;
    while (i < size) {
        if (t.done()) {
            if (++answers > 8) break;
            t.begin(command(data[i++]), caps);
            continue;
        }
        if (t.awaiting_client_data()) {
            t.local_infile_sent();
            check(!t.awaiting_client_data() && !t.done());
        }
        if (size - i < 4) break;
        // The declared length may exceed what is left: then the packet is cut
        // where the input ends, as a relay that must see it whole never does,
        // so only rows (not needed whole) keep the declared length.
        std::uint32_t length =
            std::uint32_t(data[i]) | std::uint32_t(data[i + 1]) << 8 | std::uint32_t(data[i + 2]) << 16;
        i += 4;
        std::size_t have = std::min<std::size_t>(length, size - i);
        if (have == 0) {
            check(t.on_packet({}, 0) == packet_role::malformed);
            break;
        }
        bool whole = t.needs_whole_packet(data[i], length);
        if (whole && have < length) length = std::uint32_t(have);
        std::size_t fed = whole ? have : 1;
        const causeway::fuzz::exact_copy copy(data + i, fed);
        packet_role role = t.on_packet(copy.view(), length);
        check_rows(copy.view(), types);
        i += have;
        if (role == packet_role::malformed) break;
        check(role != packet_role::local_infile || t.awaiting_client_data());
        check(!(t.done() && t.awaiting_client_data()));
        // Once done, the tracker takes nothing more until the next command.
        if (t.done()) check(response_tracker(t).on_packet(copy.view(), length) == packet_role::malformed);
    }
    return 0;
}
