// The unrepeatable-answer predicate (see unrepeatable.hh): one pass over the
// lexer's tokens, looking at each word with its neighbours.
#include "protocol/unrepeatable.hh"

#include <array>

namespace causeway::protocol {

namespace {

struct builtin {
    std::string_view name;   // upper case
    unrepeatable why;
    bool needs_parenthesis;   // a function call only when '(' follows (else a name)
};

// Reserved words (CURRENT_DATE, UTC_TIME, ...) call the function without
// parentheses too; the others are ordinary names unless '(' follows.
constexpr std::array<builtin, 23> builtins{{
    {"CURDATE", unrepeatable::clock, true},
    {"CURRENT_DATE", unrepeatable::clock, false},
    {"CURRENT_TIME", unrepeatable::clock, false},
    {"CURRENT_TIMESTAMP", unrepeatable::clock, false},
    {"CURTIME", unrepeatable::clock, true},
    {"LOCALTIME", unrepeatable::clock, false},
    {"LOCALTIMESTAMP", unrepeatable::clock, false},
    {"NOW", unrepeatable::clock, true},
    {"SYSDATE", unrepeatable::clock, true},
    {"UNIX_TIMESTAMP", unrepeatable::clock, true},   // only without an argument: see below
    {"UTC_DATE", unrepeatable::clock, false},
    {"UTC_TIME", unrepeatable::clock, false},
    {"UTC_TIMESTAMP", unrepeatable::clock, false},
    {"RAND", unrepeatable::chance, true},
    {"RANDOM_BYTES", unrepeatable::chance, true},
    {"SYS_GUID", unrepeatable::chance, true},
    {"UUID", unrepeatable::chance, true},
    {"UUID_SHORT", unrepeatable::chance, true},
    {"CONNECTION_ID", unrepeatable::session, true},
    {"FOUND_ROWS", unrepeatable::session, true},
    {"LAST_INSERT_ID", unrepeatable::session, true},
    {"ROW_COUNT", unrepeatable::session, true},
    {"LOAD", unrepeatable::load_data, false},   // LOAD DATA / LOAD XML: see below
}};

const builtin* find_builtin(std::string_view word)
{
    for (const builtin& b : builtins)
        if (iequals(word, b.name)) return &b;
    return nullptr;
}

bool is_punct(const token& t, char c)
{
    return t.kind == token_kind::punct && t.ch == c;
}

}   // namespace

const char* to_string(unrepeatable u)
{
    switch (u) {
        case unrepeatable::none: return "none";
        case unrepeatable::clock: return "clock";
        case unrepeatable::chance: return "chance";
        case unrepeatable::session: return "session";
        case unrepeatable::user_variable: return "user_variable";
        case unrepeatable::load_data: return "load_data";
    }
    return "?";
}

unrepeatable answer_unrepeatable(std::string_view sql, const lex_options& options)
{
    sql_lexer lex(sql, options);
    // A window of three tokens: before, this, after (and the one after that).
    token before, cur = lex.next(), after = lex.next(), after2 = lex.next();
    bool first_word = true;   // cur is the statement's first word
    bool set_statement = false;   // the statement is a SET: `@x =` assigns
    for (; cur.kind != token_kind::end; before = cur, cur = after, after = after2, after2 = lex.next()) {
        if (is_punct(cur, ';')) {
            first_word = true;
            set_statement = false;
            continue;
        }
        bool head = first_word;
        if (cur.kind != token_kind::punct) first_word = false;
        if (cur.kind == token_kind::assign) return unrepeatable::user_variable;   // @x := ...
        if (cur.kind == token_kind::user_variable) {
            // SET @x = ..., SET @x := ..., SELECT ... INTO @x [, @y]
            if (set_statement && (is_punct(after, '=') || after.kind == token_kind::assign))
                return unrepeatable::user_variable;
            if (before.kind == token_kind::word && iequals(before.text, "INTO")) return unrepeatable::user_variable;
            continue;
        }
        if (cur.kind != token_kind::word) continue;
        if (head && iequals(cur.text, "SET")) set_statement = true;
        if (is_punct(before, '.')) continue;   // t.now: a column
        const builtin* b = find_builtin(cur.text);
        if (!b) continue;
        if (b->why == unrepeatable::load_data) {
            if (head && after.kind == token_kind::word && (iequals(after.text, "DATA") || iequals(after.text, "XML")))
                return b->why;
            continue;
        }
        if (b->needs_parenthesis && !is_punct(after, '(')) continue;
        // UNIX_TIMESTAMP(expr) converts its argument; only UNIX_TIMESTAMP() reads the clock.
        if (iequals(cur.text, "UNIX_TIMESTAMP") && !is_punct(after2, ')')) continue;
        return b->why;
    }
    return unrepeatable::none;
}

}   // namespace causeway::protocol
