// Decoding of a small text-protocol answer held whole in memory: the column
// names and rows of a COM_QUERY result, or its OK/ERR. Used by the poller's
// monitoring queries (never on the client data path, which streams).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hh"

namespace causeway::protocol {

struct small_result {
    std::vector<std::string> columns;
    std::vector<std::vector<std::optional<std::string>>> rows;   // nullopt: SQL NULL
    bool is_error = false;
    std::uint16_t error_code = 0;
    std::string error_message;

    // Index of a column by name, or -1.
    int column(std::string_view name) const;
};

// `packets` are the payloads of one whole answer in order, as the
// response_tracker delimited them.
common::result<small_result> decode_small_result(const std::vector<std::string>& packets, std::uint32_t capabilities);

}   // namespace causeway::protocol
