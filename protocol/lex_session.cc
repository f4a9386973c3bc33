// Session state that changes lexing (see lex_session.hh).
#include "protocol/lex_session.hh"

#include <strings.h>

#include <algorithm>
#include <array>

namespace causeway::protocol {

namespace {

bool iequal(std::string_view a, std::string_view b)
{
    return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}

// MariaDB 10.11's collation ids of big5, cp932, gbk and sjis (the _bin,
// default and NOPAD ones; SHOW COLLATION).
constexpr std::array<std::uint32_t, 16> unsafe_collations = {
    1, 13, 28, 84, 87, 88, 95, 96, 1025, 1037, 1052, 1108, 1111, 1112, 1119, 1120,
};

}   // namespace

void apply_sql_mode(lex_options& options, std::string_view sql_mode)
{
    options.ansi_quotes = false;
    options.no_backslash_escapes = false;
    while (!sql_mode.empty()) {
        std::size_t comma = sql_mode.find(',');
        std::string_view mode = sql_mode.substr(0, comma);
        if (iequal(mode, "ANSI_QUOTES")) options.ansi_quotes = true;
        if (iequal(mode, "NO_BACKSLASH_ESCAPES")) options.no_backslash_escapes = true;
        if (comma == std::string_view::npos) break;
        sql_mode.remove_prefix(comma + 1);
    }
}

bool multibyte_unsafe_charset(std::string_view name)
{
    return iequal(name, "big5") || iequal(name, "cp932") || iequal(name, "gbk") || iequal(name, "sjis");
}

bool multibyte_unsafe_collation(std::uint32_t id)
{
    return std::find(unsafe_collations.begin(), unsafe_collations.end(), id) != unsafe_collations.end();
}

}   // namespace causeway::protocol
