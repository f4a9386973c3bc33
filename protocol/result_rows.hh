// The cells of one result-set row, text or binary protocol, for the few
// answers the proxy must show as the server would show them to the client
// (its own session state differs: compression, session tracking). Split a row
// into cells, change some string cells, join it again; the rest of a row's
// bytes pass unchanged. No I/O; the data path streams every other row unread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace causeway::protocol {

// What a row rewrite needs of a column definition (ColumnDefinition41, with
// or without MariaDB's extended metadata before its fixed-length block).
struct column_definition {
    std::string_view schema;
    std::string_view org_table;
    std::string_view org_name;
    std::uint8_t type = 0;   // MYSQL_TYPE_*: how a binary row encodes the column
};
std::optional<column_definition> parse_column_definition(std::string_view payload);

// One cell of a row. `text`: a length-encoded string (every cell of a text
// row; a binary row's string, decimal, blob, enum, set, JSON, bit and
// geometry cells), whose value is `bytes`; otherwise `bytes` is the cell's
// fixed encoding, kept as it is. A NULL cell has no bytes.
struct row_cell {
    bool null = false;
    bool text = false;
    std::string_view bytes;
};

// Splits `row`; `binary_types` null for a text row, else the result's column
// types (a binary row: 0x00, a NULL bitmap, then its non-NULL cells). False
// when the bytes do not fit the columns.
bool split_row(std::string_view row, const std::vector<std::uint8_t>* binary_types, std::vector<row_cell>& cells);

// The row again, with each text cell's `bytes` as the caller may have changed
// them (a view into any storage that outlives the call). `row` is the one
// split: a binary row keeps its header and NULL bitmap.
std::string join_row(std::string_view row, bool binary, const std::vector<row_cell>& cells);

}   // namespace causeway::protocol
