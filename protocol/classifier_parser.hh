// The statement classifier's parser (see classifier.hh), shared by the files
// that implement it: classifier.cc (the driver and the body scanner that every
// statement goes through), classifier_heads.cc (the heads of queries, DML, DDL
// and SHOW) and classifier_session.cc (SET, transactions, USE, XA). Internal:
// nothing outside protocol/classifier*.cc includes it.
#pragma once

#include <algorithm>
#include <array>

#include "protocol/classifier.hh"

namespace causeway::protocol::classifier_detail {

using w = word_id;

// "session.x", "global.x", "local.x" -> scope and bare name.
inline tx_scope split_scope(std::string_view& name)
{
    if (istarts_with(name, "GLOBAL.")) {
        name.remove_prefix(7);
        return tx_scope::global;
    }
    if (istarts_with(name, "SESSION.")) {
        name.remove_prefix(8);
        return tx_scope::session;
    }
    if (istarts_with(name, "LOCAL.")) {
        name.remove_prefix(6);
        return tx_scope::session;
    }
    return tx_scope::none;
}

// Flags that turn a SELECT into must_primary (as opposed to locking or doubt).
constexpr std::uint32_t must_primary_flags = flag_into | flag_user_variable_read | flag_user_variable_assign |
    flag_primary_function | flag_unknown_function | flag_server_variable | flag_server_specific | flag_calc_found_rows |
    flag_previous_outcome;

// A SET may read user variables and still be replayed (SETs replay in order).
constexpr std::uint32_t unreplayable_flags = ~std::uint32_t(flag_user_variable_read);

inline bool is_set_kind(statement_kind k)
{
    return k == statement_kind::set_session_state || k == statement_kind::set_autocommit ||
        k == statement_kind::set_transaction_read_only || k == statement_kind::set_transaction_read_write ||
        k == statement_kind::set_global;
}

// ---------------------------------------------------------------------------

enum class scan_mode : std::uint8_t {
    query,
    ddl
};
enum class stop_at : std::uint8_t {
    statement_end,
    close_paren,
    comma,
    word_for
};
enum class explain_mode : std::uint8_t {
    none,
    plain,
    analyze
};

// What a parenthesis level is: a FROM-style list of tables (',' and JOIN
// introduce a table) or a function's arguments (FROM is SUBSTRING/TRIM syntax).
struct paren_ctx {
    bool table_list = false;
    bool function_args = false;
    bool json_table = false;   // JSON_TABLE's arguments or column list: COLUMNS is syntax
};

constexpr int max_depth = 32;

class parser {
public:
    parser(std::string_view sql, const lex_options& options) : lexer_(sql, options)
    {
        advance();
        advance();
    }

    // Parses the next statement into `out`; false when only ';' and the end remain.
    bool parse_statement(statement_info& out);
    bool more_statements()
    {
        while (is_punct(';')) advance();
        return cur_.kind != token_kind::end;
    }
    const sql_lexer& lexer() const { return lexer_; }

private:
    // Tokens.
    void advance();
    word_id id() const { return cur_entry_ ? cur_entry_->id : word_id::none; }
    bool is(word_id wid) const { return cur_.kind == token_kind::word && id() == wid; }
    bool next_is(word_id wid) const { return next_.kind == token_kind::word && next_entry_ && next_entry_->id == wid; }
    bool is_punct(char c) const { return cur_.kind == token_kind::punct && cur_.ch == c; }
    bool next_is_punct(char c) const { return next_.kind == token_kind::punct && next_.ch == c; }
    bool is_text(std::string_view upper) const { return cur_.kind == token_kind::word && iequals(cur_.text, upper); }
    bool is_name() const { return cur_.kind == token_kind::word || cur_.kind == token_kind::quoted_name; }
    bool at_statement_end() const { return cur_.kind == token_kind::end || is_punct(';'); }
    bool skip(word_id wid)
    {
        if (!is(wid)) return false;
        advance();
        return true;
    }
    void flag(std::uint32_t f) { out_->flags |= f; }
    void set_kind(statement_kind k) { out_->kind = k; }
    void expect_statement_end()
    {
        if (!at_statement_end()) flag(flag_doubtful);
    }
    // Gives up on the statement: primary, and no claim about its objects.
    void give_up(statement_kind k = statement_kind::unknown, std::uint32_t why = 0)
    {
        set_kind(k);
        flag(flag_tables_unknown | why);
    }

    // Statement heads.
    void head();
    void head_with();
    void head_insert();
    void head_update();
    void head_delete();
    void head_load();
    void head_create();
    void head_alter();
    void head_drop();
    void head_table_admin();
    void head_analyze();
    void head_explain();
    void head_explained_statement();
    void head_show();
    void head_set();
    void head_set_transaction(tx_scope scope);
    void head_use();
    void head_start();
    void head_end_transaction(bool commit);
    void head_xa();
    void skip_if_exists();
    void skip_create_options();
    void set_table_list();
    bool read_object(table_ref* got = nullptr);
    void read_database_name();
    void from_database();
    autocommit_value read_switch_value() const;

    // Body.
    void scan(stop_at stop);
    void step();
    void on_word();
    bool not_a_call(const word_info* e);
    void on_keyword(word_id wid);
    void on_punct();
    void take_table();
    void open_paren(paren_ctx c);
    void close_paren();
    paren_ctx& ctx() { return ctx_[std::size_t(std::min(depth_, max_depth))]; }
    void record(std::string_view schema, std::string_view table, bool escaped, table_ref* got = nullptr);

    void finish();

    sql_lexer lexer_;
    token cur_, next_;
    const word_info* cur_entry_ = nullptr;
    const word_info* next_entry_ = nullptr;
    char prev_punct_ = 0;   // the previous token's byte, if punctuation
    token_kind prev_kind_ = token_kind::end;
    word_id prev_id_ = word_id::none;   // the previous token's, if a word

    // Per statement.
    statement_info* out_ = nullptr;
    int depth_ = 0;
    std::array<paren_ctx, max_depth + 1> ctx_{};
    bool expect_table_ = false;   // the next name is a table reference
    bool pending_call_ = false;   // the next '(' opens a function's arguments
    bool pending_json_table_ = false;   // ... of JSON_TABLE
    bool delete_using_ = false;   // DELETE ... USING introduces tables
    bool on_table_once_ = false;   // CREATE INDEX/TRIGGER ... ON t
    bool skip_rest_ = false;   // SHOW GRANTS FOR user@host: no expressions follow
    scan_mode mode_ = scan_mode::query;
    explain_mode explain_ = explain_mode::none;
};

}   // namespace causeway::protocol::classifier_detail
