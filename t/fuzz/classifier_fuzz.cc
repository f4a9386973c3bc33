// libFuzzer target for the statement classifier: any bytes, under default and
// input-derived lexer options, must classify without a crash or sanitizer
// report, keep every name inside the input, and never call something a plain
// read that breaks the rules classifier.hh promises.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "protocol/classifier.hh"

namespace {

using namespace causeway::protocol;

bool inside(std::string_view part, std::string_view whole)
{
    return part.empty() || (part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size());
}

void check(std::string_view sql, const lex_options& options)
{
    const statement_info s = classify(sql, options);
    if (s.table_count > max_table_refs) __builtin_trap();
    for (const table_ref& r : s.table_refs())
        if (!inside(r.schema, sql) || !inside(r.table, sql) || (r.schema.empty() && r.table.empty())) __builtin_trap();
    if (!inside(s.name, sql) || !inside(s.schema, sql)) __builtin_trap();
    if (std::size_t(s.kind) >= statement_kind_count) __builtin_trap();
    if (s.kinds_seen == 0 && s.kind != statement_kind::unknown) __builtin_trap();
    if (s.is_plain_read) {
        const bool read_kind =
            s.kind == statement_kind::read || s.kind == statement_kind::show || s.kind == statement_kind::explain;
        if (!read_kind || s.flags != 0 || !s.tables_complete() || s.hint == route_hint::primary) __builtin_trap();
    }
    if (s.kind == statement_kind::multi_statement && (s.is_plain_read || !s.has(flag_multi))) __builtin_trap();
}

}   // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::string_view sql(reinterpret_cast<const char*>(data), size);
    check(sql, lex_options{});
    // The same bytes under the other sql_mode / charset / version readings.
    lex_options other;
    const unsigned bits = size == 0 ? 0 : data[size - 1];
    other.no_backslash_escapes = bits & 1;
    other.ansi_quotes = bits & 2;
    other.multibyte_unsafe_charset = bits & 4;
    other.server_version = (bits & 8) ? 50700 : 100600;
    other.oldest_server_version = (bits & 16) ? 50500 : 0;
    check(sql, other);
    return 0;
}
