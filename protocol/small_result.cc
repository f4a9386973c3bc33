// Text result decoding for monitoring queries (see small_result.hh).
#include "protocol/small_result.hh"

#include "protocol/bytes.hh"
#include "protocol/constants.hh"
#include "protocol/ok_err.hh"

namespace causeway::protocol {

using common::error;

int small_result::column(std::string_view name) const
{
    for (std::size_t i = 0; i < columns.size(); ++i)
        if (columns[i] == name) return int(i);
    return -1;
}

common::result<small_result> decode_small_result(const std::vector<std::string>& packets, std::uint32_t caps)
{
    small_result out;
    if (packets.empty()) return error{0, "empty answer"};
    const std::string& first = packets[0];
    if (first.empty()) return error{0, "empty packet"};
    if (std::uint8_t(first[0]) == err_marker) {
        auto e = parse_err(first);
        if (!e) return e.err();
        out.is_error = true;
        out.error_code = e->code;
        out.error_message = std::string(e->message);
        return out;
    }
    if (std::uint8_t(first[0]) == ok_marker) return out;   // no result set
    byte_reader r(first);
    std::uint64_t ncols = r.lenenc();
    if (r.failed() || ncols == 0 || ncols > 4096 || packets.size() < 1 + ncols) return error{0, "bad column count"};
    for (std::size_t i = 1; i <= ncols; ++i) {
        byte_reader c(packets[i]);
        for (int skip = 0; skip < 4; ++skip) c.lenenc_bytes();   // catalog, schema, table, org_table
        std::string_view name = c.lenenc_bytes();
        if (c.failed()) return error{0, "bad column definition"};
        out.columns.emplace_back(name);
    }
    std::size_t i = 1 + ncols;
    if (!(caps & cap::deprecate_eof)) ++i;   // the EOF after the definitions
    for (; i < packets.size(); ++i) {
        const std::string& p = packets[i];
        if (p.empty()) return error{0, "empty row"};
        std::uint8_t m = std::uint8_t(p[0]);
        if (m == err_marker) {
            auto e = parse_err(p);
            out.is_error = true;
            out.error_code = e ? e->code : 0;
            out.error_message = e ? std::string(e->message) : "";
            return out;
        }
        if (m == eof_marker && p.size() < max_payload) break;   // end of rows (EOF or OK form)
        byte_reader row(p);
        std::vector<std::optional<std::string>> values;
        for (std::size_t c = 0; c < ncols; ++c) {
            byte_reader peek = row;
            if (peek.u8() == 0xfb) {
                row.u8();
                values.emplace_back(std::nullopt);
                continue;
            }
            values.emplace_back(std::string(row.lenenc_bytes()));
        }
        if (row.failed()) return error{0, "bad row"};
        out.rows.push_back(std::move(values));
    }
    return out;
}

}   // namespace causeway::protocol
