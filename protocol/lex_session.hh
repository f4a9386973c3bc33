// What a client session's own state changes in how the server reads its
// statements: sql_mode (ANSI_QUOTES, NO_BACKSLASH_ESCAPES) and the character
// set of its statements (character_set_client). A statement lexed with the
// wrong rules can end a string where the server does not, and hide a write
// from the classifier (`SELECT 'C:\'; DELETE ...` under NO_BACKSLASH_ESCAPES).
// Pure functions; the session keeps the result (worker/client_session.hh).
#pragma once

#include <cstdint>
#include <string_view>

#include "protocol/sql_lexer.hh"

namespace causeway::protocol {

// Applies an sql_mode value as the server reports it (@@sql_mode, a session
// tracking report: comma-separated names, combination modes such as ANSI
// already expanded, any case).
void apply_sql_mode(lex_options& options, std::string_view sql_mode);

// big5, cp932, gbk, sjis: a trailing byte of a multibyte character can be
// 0x5C ('\'); byte-level lexing is then not to be trusted (see lex_options).
bool multibyte_unsafe_charset(std::string_view character_set_name);
// The same for a collation id (the HandshakeResponse's character set byte).
bool multibyte_unsafe_collation(std::uint32_t collation_id);

}   // namespace causeway::protocol
