// A byte-level tokenizer for MySQL/MariaDB SQL text, used by the statement
// classifier: words, quoted names, strings, variables and punctuation, with
// comments skipped and executable comments (/*! */, /*M!NNNNNN */) expanded the
// way the server expands them, plus the vocabulary (keywords, built-ins). It
// builds no tree and never allocates; doubtful input is reported, never rejected.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace causeway::protocol {

// What the server's lexer depends on, besides the text. The router tracks
// sql_mode per client session and passes what it knows.
struct lex_options {
    // MYSQL_VERSION_ID of the backends (10.11.6 -> 101106): decides whether
    // /*!NNNNN ... */ is SQL or a comment. With backends of different
    // versions pass the newest here and the oldest below: a comment that
    // only some of them run is then doubtful.
    std::uint32_t server_version = 101100;
    std::uint32_t oldest_server_version = 0;   // 0: every backend runs server_version
    bool no_backslash_escapes = false;   // sql_mode NO_BACKSLASH_ESCAPES: '\' is an ordinary byte
    bool ansi_quotes = false;   // sql_mode ANSI_QUOTES: "x" is a name, not a string
    // big5, cp932, gbk, sjis: a trailing byte of a multibyte character can be
    // 0x5C ('\'), so byte-level string scanning can disagree with the server.
    bool multibyte_unsafe_charset = false;
};

// The vocabulary: the keywords the classifier dispatches on, MariaDB's
// reserved words, and the built-in functions it knows.
enum class word_id : std::uint8_t {   // keywords the classifier looks for
    none,
    algorithm,
    alter,
    analyze,
    and_,
    as,
    authors,
    begin,
    binlog,
    body,
    call,
    chain,
    change,
    character,
    charset,
    check,
    checksum,
    collation,
    columns,
    commit,
    consistent,
    contributors,
    create,
    data,
    database,
    databases,
    definer,
    delayed,
    delete_,
    desc,
    describe,
    do_,
    drop,
    dual,
    end,
    engines,
    event,
    events,
    except,
    explain,
    extended,
    fields,
    flush,
    for_,
    format,
    from,
    full,
    fulltext,
    function,
    global,
    grant,
    grants,
    group,
    handler,
    having,
    high_priority,
    if_,
    ignore,
    in,
    index,
    indexes,
    insert,
    install,
    intersect,
    into,
    isolation,
    join,
    json_table,
    keys,
    kill,
    lateral,
    level,
    like,
    limit,
    load,
    local,
    lock,
    low_priority,
    names,
    next,
    no,
    not_,
    on,
    only,
    or_,
    order,
    package,
    partitions,
    password,
    persist,
    persist_only,
    plugins,
    prepare,
    previous,
    privileges,
    procedure,
    purge,
    quick,
    read,
    recover,
    recursive,
    references,
    release,
    rename,
    repair,
    replace,
    reset,
    returning,
    revoke,
    role,
    rollback,
    savepoint,
    schema,
    schemas,
    security,
    select,
    sequence,
    session,
    set,
    share,
    show,
    snapshot,
    spatial,
    sql,
    sql_calc_found_rows,
    found_rows,   // FOUND_ROWS() and ROW_COUNT(): see flag_previous_outcome
    row_count,
    start,
    statement,
    status,
    stop,
    storage,
    straight_join,
    table,
    tables,
    temporary,
    to,
    transaction,
    trigger,
    triggers,
    truncate,
    union_,
    unique,
    uninstall,
    unlock,
    update,
    use,
    user,
    using_,
    value,
    values,
    view,
    where,
    window,
    with,
    work,
    write,
    xa,
    xml,
};

enum class word_class : std::uint8_t {
    reserved,   // a reserved word: never a function name, so '(' after it opens a group
    keyword,   // a non-reserved keyword: followed by '(' it may name a stored function
    type_name,   // a non-reserved type name: DATETIME(6) after CAST(x AS
    pure,   // a built-in function without session or server side effects
    primary,   // a built-in whose answer or effect belongs to the client's primary session
};

struct word_info {
    std::string_view name;   // upper case
    word_id id;
    word_class cls;
};

// Case-insensitive lookup; nullptr for anything else (identifiers, numbers,
// stored functions, built-ins the table does not know).
const word_info* find_word(std::string_view word);

// @@name (scope prefix allowed) whose value belongs to one server or one
// session: last_insert_id, server_id, gtid_*, read_only, ..., and any
// @@global.name.
bool is_server_variable(std::string_view name);
// An information_schema table that describes the (replicated) data
// dictionary rather than the server answering: TABLES, COLUMNS, ...
bool is_dictionary_table(std::string_view table);

// ASCII case-insensitive comparison against an upper-case literal.
bool iequals(std::string_view text, std::string_view upper);
bool istarts_with(std::string_view text, std::string_view upper);

// A /* causeway:primary */ or /* causeway:replica */ comment.
enum class route_hint : std::uint8_t {
    none,
    primary,
    replica
};

enum class token_kind : std::uint8_t {
    end,   // no more input
    word,   // unquoted identifier, keyword or number: [A-Za-z0-9_$] and bytes >= 0x80
    quoted_name,   // `name` (or "name" under ANSI_QUOTES)
    string,   // 'text' or "text"
    user_variable,   // @name, @'name', @"name", @`name`
    system_variable,   // @@name, @@session.name, @@global.name, @@local.name
    assign,   // :=
    punct,   // any other single byte (ch)
};

struct token {
    token_kind kind = token_kind::end;
    char ch = 0;   // punct: the byte
    // quoted_name, string, variables: the text contains a doubled quote or a
    // backslash escape, so `text` is the raw spelling, not the value.
    bool escaped = false;
    // word: as written. quoted_name, string: between the quotes (raw).
    // user_variable: the name without @ and quotes. system_variable: after @@,
    // scope prefix included ("session.sql_mode").
    std::string_view text;
    std::size_t begin = 0;   // offsets of the token in the input
    std::size_t end = 0;
};

class sql_lexer {
public:
    sql_lexer(std::string_view sql, const lex_options& options) : sql_(sql), options_(options) {}

    // The next token; token_kind::end forever after the input is used up.
    token next();

    route_hint hint() const { return hint_; }
    // A string, quoted name, variable or comment was still open at the end.
    bool unterminated() const { return unterminated_; }
    // Something the server may read differently: a control byte outside a
    // string, a comment or nested executable comment inside an executable
    // comment, a byte the charset option makes ambiguous.
    bool doubtful() const { return doubtful_; }

private:
    bool skip_space_and_comments();
    void skip_line_comment();
    void skip_block_comment();
    void skip_versioned_comment_body(std::size_t from);
    void note_hint(std::string_view comment);
    token lex_word(std::size_t begin);
    token lex_quoted(std::size_t begin, char quote, token_kind kind, bool backslash_escapes);
    token lex_variable(std::size_t begin);
    char at(std::size_t i) const { return i < sql_.size() ? sql_[i] : '\0'; }

    std::string_view sql_;
    lex_options options_;
    std::size_t pos_ = 0;
    bool in_executable_comment_ = false;
    route_hint hint_ = route_hint::none;
    bool unterminated_ = false;
    bool doubtful_ = false;
};

}   // namespace causeway::protocol
