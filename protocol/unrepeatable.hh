// Whether a statement's answer can be repeated: run again on another server
// (or later), would it give the same bytes for the same data? An optimistic
// transaction (worker/optimistic_tx.hh) proves what it read by replaying its
// statements on the primary and comparing answers, so a statement whose answer
// depends on the clock, chance or the session it ran in cannot be proven that
// way. A predicate over the lexer's tokens; it over-reports rather than misses
// (a column named `now` written unquoted before '(' is not one, but `now` is).
#pragma once

#include <cstdint>
#include <string_view>

#include "protocol/sql_lexer.hh"

namespace causeway::protocol {

enum class unrepeatable : std::uint8_t {
    none,
    clock,   // NOW(), CURRENT_TIMESTAMP, SYSDATE(), CURDATE(), UNIX_TIMESTAMP(), UTC_*, ...
    chance,   // RAND(), UUID(), UUID_SHORT(), SYS_GUID(), RANDOM_BYTES()
    session,   // CONNECTION_ID(), LAST_INSERT_ID(), FOUND_ROWS(), ROW_COUNT(): the server session's own
    user_variable,   // @x := ..., SET @x = ..., SELECT ... INTO @x: state the replay would set twice
    load_data,   // LOAD DATA / LOAD XML: the client's file is not kept
};

const char* to_string(unrepeatable u);

// The first reason found in `sql` (COM_QUERY or COM_STMT_PREPARE text), or none.
unrepeatable answer_unrepeatable(std::string_view sql, const lex_options& options = {});

}   // namespace causeway::protocol
