// Result-set rows split into cells and joined again (see result_rows.hh).
#include "protocol/result_rows.hh"

#include "protocol/bytes.hh"

namespace causeway::protocol {

namespace {
constexpr std::uint8_t null_cell = 0xfb;   // a text row's NULL
// The fixed-length block ending a result set's column definition: its length
// (0x0c), charset 2, column length 4, type 1, flags 2, decimals 1, filler 2.
constexpr std::size_t fixed_block = 13;
constexpr std::size_t type_from_end = 6;

// How a binary row encodes a non-NULL cell of `type`: the size of a fixed
// one, 0 for a length-encoded string, -1 for a length byte and that many
// bytes (dates and times), -2 for a type this code does not know.
int binary_cell_size(std::uint8_t type)
{
    switch (type) {
        case 1: return 1;   // TINY
        case 2:   // SHORT
        case 13: return 2;   // YEAR
        case 3:   // LONG
        case 4:   // FLOAT
        case 9: return 4;   // INT24
        case 5:   // DOUBLE
        case 8: return 8;   // LONGLONG
        case 6: return -3;   // NULL: no bytes
        case 7:   // TIMESTAMP
        case 10:   // DATE
        case 11:   // TIME
        case 12:   // DATETIME
        case 14:   // NEWDATE
        case 17:   // TIMESTAMP2
        case 18:   // DATETIME2
        case 19: return -1;   // TIME2
        case 0:   // DECIMAL
        case 15:   // VARCHAR
        case 16: return 0;   // BIT
        default: return type >= 245 ? 0 : -2;   // JSON .. GEOMETRY: strings
    }
}
}   // namespace

std::optional<column_definition> parse_column_definition(std::string_view payload)
{
    byte_reader r(payload);
    column_definition c;
    r.lenenc_bytes();   // catalog
    c.schema = r.lenenc_bytes();
    r.lenenc_bytes();   // table (alias)
    c.org_table = r.lenenc_bytes();
    r.lenenc_bytes();   // name (alias)
    c.org_name = r.lenenc_bytes();
    // Extended metadata, when negotiated, sits between here and the fixed
    // block, which ends the definition: found from the end either way.
    if (r.failed() || r.remaining() < fixed_block || payload[payload.size() - fixed_block] != 0x0c) return std::nullopt;
    c.type = std::uint8_t(payload[payload.size() - type_from_end]);
    return c;
}

bool split_row(std::string_view row, const std::vector<std::uint8_t>* binary_types, std::vector<row_cell>& cells)
{
    cells.clear();
    byte_reader r(row);
    if (!binary_types) {
        while (!r.at_end()) {
            row_cell c;
            c.text = true;
            if (std::uint8_t(row[row.size() - r.remaining()]) == null_cell) {
                r.u8();
                c.null = true;
            } else {
                c.bytes = r.lenenc_bytes();
            }
            if (r.failed()) return false;
            cells.push_back(c);
        }
        return true;
    }
    const std::vector<std::uint8_t>& types = *binary_types;
    if (r.u8() != 0) return false;   // a binary row's header
    // The NULL bitmap's first two bits are reserved.
    std::string_view bitmap = r.bytes((types.size() + 7 + 2) / 8);
    if (r.failed()) return false;
    for (std::size_t i = 0; i < types.size(); ++i) {
        row_cell c;
        std::size_t bit = i + 2;
        c.null = std::uint8_t(bitmap[bit / 8]) & (1u << (bit % 8));
        int size = binary_cell_size(types[i]);
        if (size == -2) return false;
        if (!c.null && size != -3) {
            c.text = size == 0;
            if (size == 0) {
                c.bytes = r.lenenc_bytes();
            } else {
                std::size_t start = row.size() - r.remaining();
                r.skip(size > 0 ? std::size_t(size) : std::size_t(r.u8()));
                c.bytes = row.substr(start, row.size() - r.remaining() - start);
            }
        }
        if (r.failed()) return false;
        cells.push_back(c);
    }
    return r.at_end();
}

std::string join_row(std::string_view row, bool binary, const std::vector<row_cell>& cells)
{
    std::string out;
    byte_writer w(out);
    if (binary) out.append(row.substr(0, 1 + (cells.size() + 7 + 2) / 8));
    for (const row_cell& c : cells) {
        if (c.null) {
            if (!binary) w.u8(null_cell);
        } else if (c.text) {
            w.lenenc_bytes(c.bytes);
        } else {
            out.append(c.bytes);
        }
    }
    return out;
}

}   // namespace causeway::protocol
