// The statement classifier (see classifier.hh): a statement-head dispatcher
// for the kinds routing cares about, and one body scanner shared by all of
// them that follows parentheses, collects table references after FROM/JOIN
// and friends, and flags anything that keeps a read off the replicas.
#include "protocol/classifier.hh"

#include <algorithm>

namespace causeway::protocol {

namespace {

using w = word_id;

// "session.x", "global.x", "local.x" -> scope and bare name.
tx_scope split_scope(std::string_view& name)
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

bool is_set_kind(statement_kind k)
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

void parser::advance()
{
    prev_punct_ = cur_.kind == token_kind::punct ? cur_.ch : 0;
    prev_kind_ = cur_.kind;
    prev_id_ = cur_.kind == token_kind::word ? id() : word_id::none;
    cur_ = next_;
    cur_entry_ = next_entry_;
    next_ = lexer_.next();
    next_entry_ = next_.kind == token_kind::word ? find_word(next_.text) : nullptr;
}

bool parser::parse_statement(statement_info& out)
{
    while (is_punct(';')) advance();
    if (cur_.kind == token_kind::end) return false;
    out_ = &out;
    depth_ = 0;
    ctx_[0] = {};
    expect_table_ = pending_call_ = delete_using_ = on_table_once_ = skip_rest_ = false;
    mode_ = scan_mode::query;
    explain_ = explain_mode::none;

    head();
    if (skip_rest_) {
        while (!at_statement_end()) advance();
    } else {
        scan(stop_at::statement_end);
    }
    finish();
    if (is_punct(';')) advance();
    return true;
}

// ---------------------------------------------------------------------------
// Heads: the first words decide the kind and set up what the body scanner
// should treat as tables.

void parser::head()
{
    int parens = 0;
    while (is_punct('(')) {
        open_paren({});
        ++parens;
    }
    if (cur_.kind != token_kind::word) return give_up();
    const word_id wid = id();
    if (parens > 0 && wid != w::select && wid != w::with && wid != w::values) return give_up();
    switch (wid) {
        case w::select:
        case w::values:
            set_kind(statement_kind::read);
            advance();
            return;
        case w::with: return head_with();
        case w::insert:
        case w::replace: return head_insert();
        case w::update: return head_update();
        case w::delete_: return head_delete();
        case w::load: return head_load();
        case w::create: return head_create();
        case w::alter: return head_alter();
        case w::drop: return head_drop();
        case w::truncate:
            set_kind(statement_kind::write);
            advance();
            skip(w::table);
            read_object();
            return;
        case w::rename:
            set_kind(statement_kind::write);
            advance();
            if (skip(w::table) || skip(w::tables)) {
                mode_ = scan_mode::ddl;   // a TO b, c TO d
                set_table_list();
            } else {
                flag(flag_tables_unknown);   // RENAME USER
            }
            return;
        case w::repair:
        case w::check:
        case w::checksum: return head_table_admin();
        case w::analyze: return head_analyze();
        case w::start: return head_start();
        case w::begin:
            advance();
            if (is(w::not_)) {   // BEGIN NOT ATOMIC ... END: a compound statement
                give_up();
                return;
            }
            skip(w::work);
            set_kind(statement_kind::begin);
            expect_statement_end();
            return;
        case w::commit: return head_end_transaction(true);
        case w::rollback: return head_end_transaction(false);
        case w::savepoint:
            advance();
            set_kind(statement_kind::savepoint);
            if (is_name()) {
                out_->name = cur_.text;
                advance();
            }
            expect_statement_end();
            return;
        case w::release:
            advance();
            if (skip(w::savepoint) && is_name()) {
                set_kind(statement_kind::release_savepoint);
                out_->name = cur_.text;
                advance();
                expect_statement_end();
            } else {
                give_up();
            }
            return;
        case w::xa: return head_xa();
        case w::lock:
            advance();
            if (skip(w::table) || skip(w::tables)) {
                set_kind(statement_kind::lock_tables);
                set_table_list();
            } else {
                give_up();
            }
            return;
        case w::unlock:
            advance();
            if (skip(w::table) || skip(w::tables)) {
                set_kind(statement_kind::unlock_tables);
                expect_statement_end();
            } else {
                give_up();
            }
            return;
        case w::handler:
            set_kind(statement_kind::handler);
            advance();
            read_object();
            return;
        case w::call:
            set_kind(statement_kind::call);
            advance();
            read_object();
            return;
        case w::do_:
            set_kind(statement_kind::do_stmt);
            advance();
            return;
        case w::show: return head_show();
        case w::explain:
        case w::describe:
        case w::desc: return head_explain();
        case w::set: return head_set();
        case w::use: return head_use();
        case w::grant:
        case w::revoke:
        case w::flush:
        case w::kill:
        case w::reset:
        case w::purge:
        case w::install:
        case w::uninstall:
        case w::change:
        case w::stop:
        case w::binlog:
            // Writes (or server administration) whose objects are not tracked.
            give_up(statement_kind::write);
            advance();
            return;
        default:
            if (is_text("OPTIMIZE")) return head_table_admin();
            if (is_text("CACHE") || is_text("SHUTDOWN") || is_text("BACKUP")) {
                give_up(statement_kind::write);
                advance();
                return;
            }
            give_up();
            return;
    }
}

void parser::set_table_list()
{
    ctx().table_list = true;
    expect_table_ = true;
}

// WITH [RECURSIVE] name [(columns)] AS (query) [, ...] main-statement
void parser::head_with()
{
    advance();
    skip(w::recursive);
    for (;;) {
        if (!is_name()) break;
        advance();
        if (is_punct('(')) {   // column list: names only
            open_paren({});
            scan(stop_at::close_paren);
            if (!is_punct(')')) break;
            close_paren();
        }
        if (!skip(w::as) || !is_punct('(')) break;
        open_paren({});
        scan(stop_at::close_paren);
        if (!is_punct(')')) break;
        close_paren();
        if (!is_punct(',')) {
            head();   // the main statement: SELECT, (SELECT..), UPDATE, DELETE, INSERT
            return;
        }
        advance();
    }
    give_up(statement_kind::unknown, flag_doubtful);
}

void parser::head_insert()
{
    set_kind(statement_kind::write);
    advance();
    while (skip(w::low_priority) || skip(w::delayed) || skip(w::high_priority) || skip(w::ignore)) {
    }
    skip(w::into);
    expect_table_ = true;
}

void parser::head_update()
{
    set_kind(statement_kind::write);
    advance();
    while (skip(w::low_priority) || skip(w::ignore)) {
    }
    set_table_list();
}

void parser::head_delete()
{
    set_kind(statement_kind::write);
    advance();
    while (skip(w::low_priority) || skip(w::quick) || skip(w::ignore)) {
    }
    // DELETE t1, t2 FROM ... names targets again in FROM; DELETE FROM t1
    // USING ... lists the tables after USING.
    delete_using_ = true;
}

// LOAD DATA|XML ... INTO TABLE t ...
void parser::head_load()
{
    set_kind(statement_kind::write);
    advance();
    if (!is(w::data) && !is(w::xml)) {
        flag(flag_tables_unknown);   // LOAD INDEX INTO CACHE
        return;
    }
    while (!at_statement_end() && !is(w::table)) advance();
    if (!skip(w::table)) {
        flag(flag_tables_unknown | flag_doubtful);
        return;
    }
    read_object();
}

// DEFINER = user, ALGORITHM = x, SQL SECURITY x, OR REPLACE, ...
void parser::skip_create_options()
{
    for (;;) {
        if (skip(w::or_)) {
            skip(w::replace);
        } else if (skip(w::definer)) {
            if (is_punct('=')) advance();
            if (is_text("CURRENT_USER")) {
                advance();
                if (is_punct('(') && next_is_punct(')')) {
                    advance();
                    advance();
                }
            } else if (!at_statement_end()) {
                advance();   // 'user' or user
                if (cur_.kind == token_kind::user_variable) advance();   // @'host'
            }
        } else if (skip(w::algorithm)) {
            if (is_punct('=')) advance();
            if (!at_statement_end()) advance();
        } else if (skip(w::sql)) {
            skip(w::security);
            if (!at_statement_end()) advance();
        } else if (is_text("ONLINE") || is_text("AGGREGATE") || is_text("NONATOMIC")) {
            advance();
        } else {
            return;
        }
    }
}

void parser::skip_if_exists()
{
    if (!is(w::if_) || next_is_punct('(')) return;
    advance();
    skip(w::not_);
    if (is_text("EXISTS")) advance();
}

void parser::head_create()
{
    set_kind(statement_kind::write);
    advance();
    skip_create_options();
    const bool temporary = skip(w::temporary);
    switch (id()) {
        case w::table: {
            advance();
            skip_if_exists();
            table_ref t;
            const bool named = read_object(&t);
            mode_ = scan_mode::ddl;
            if (temporary && named) {
                set_kind(statement_kind::create_temporary_table);
                out_->schema = t.schema;
                out_->name = t.table;
            }
            if (skip(w::like)) {
                read_object();
            } else if (is_punct('(') && next_is(w::like)) {
                open_paren({});
                advance();
                read_object();
            }
            return;
        }
        case w::database:
        case w::schema:
            advance();
            skip_if_exists();
            read_database_name();
            return;
        case w::unique:
        case w::fulltext:
        case w::spatial:
        case w::index:
            on_table_once_ = true;   // CREATE [UNIQUE] INDEX i ON t (...)
            return;
        case w::view:
        case w::sequence:
        case w::trigger:
        case w::procedure:
        case w::function:
        case w::event:
        case w::package:
            on_table_once_ = is(w::trigger);   // CREATE TRIGGER tr BEFORE INSERT ON t
            advance();
            skip(w::body);
            skip_if_exists();
            read_object();
            return;
        default:
            flag(flag_tables_unknown);   // USER, ROLE, SERVER, ...
            return;
    }
}

void parser::head_alter()
{
    set_kind(statement_kind::write);
    advance();
    skip(w::ignore);
    skip_create_options();
    skip(w::ignore);
    switch (id()) {
        case w::table:
            advance();
            skip_if_exists();
            read_object();
            mode_ = scan_mode::ddl;   // RENAME TO db2.t, EXCHANGE PARTITION .. WITH TABLE t
            return;
        case w::database:
        case w::schema:
            advance();
            // ALTER DATABASE [name] options: no name means the current database.
            if (cur_.kind == token_kind::quoted_name ||
                (cur_.kind == token_kind::word && !is(w::character) && !is(w::charset) && !is_text("DEFAULT") &&
                 !is_text("COLLATE") && !is_text("COMMENT") && !is_text("UPGRADE")))
                read_database_name();
            return;
        case w::view:
        case w::sequence:
        case w::event:
        case w::procedure:
        case w::function:
        case w::package:
            advance();
            skip(w::body);
            skip_if_exists();
            read_object();
            return;
        default: flag(flag_tables_unknown); return;
    }
}

void parser::head_drop()
{
    set_kind(statement_kind::write);
    advance();
    const bool temporary = skip(w::temporary);
    switch (id()) {
        case w::table:
        case w::tables:
            advance();
            skip_if_exists();
            set_kind(statement_kind::drop_table);
            out_->temporary = temporary;
            set_table_list();
            return;
        case w::database:
        case w::schema:
            advance();
            skip_if_exists();
            read_database_name();
            return;
        case w::view:
        case w::sequence:
            advance();
            skip_if_exists();
            set_table_list();
            return;
        case w::index:   // DROP INDEX [IF EXISTS] i ON t
            advance();
            skip_if_exists();
            if (is_name()) advance();
            on_table_once_ = true;
            return;
        case w::trigger:
        case w::procedure:
        case w::function:
        case w::event:
        case w::package:
            advance();
            skip(w::body);
            skip_if_exists();
            read_object();
            return;
        default: flag(flag_tables_unknown); return;
    }
}

// OPTIMIZE | REPAIR | CHECK | CHECKSUM | ANALYZE [NO_WRITE_TO_BINLOG | LOCAL] TABLE list
void parser::head_table_admin()
{
    set_kind(statement_kind::write);
    advance();
    if (is_text("NO_WRITE_TO_BINLOG") || is(w::local)) advance();
    if (skip(w::table) || skip(w::tables))
        set_table_list();
    else
        flag(flag_tables_unknown);
}

// ANALYZE TABLE t (statistics: a write) or ANALYZE [FORMAT=x] stmt (runs it).
void parser::head_analyze()
{
    if (next_is(w::table) || next_is(w::tables) || next_is(w::local) ||
        (next_.kind == token_kind::word && iequals(next_.text, "NO_WRITE_TO_BINLOG")))
        return head_table_admin();
    advance();
    explain_ = explain_mode::analyze;
    if (skip(w::format)) {
        if (is_punct('=')) advance();
        if (!at_statement_end()) advance();
    }
    head_explained_statement();
}

void parser::head_explain()
{
    advance();
    explain_ = explain_mode::plain;
    if (skip(w::extended) || skip(w::partitions)) {
    } else if (is(w::format) && next_is_punct('=')) {
        advance();
        advance();
        if (!at_statement_end()) advance();
    }
    if (skip(w::analyze)) explain_ = explain_mode::analyze;   // MySQL's EXPLAIN ANALYZE runs it
    if (is(w::for_)) {   // EXPLAIN FOR CONNECTION n: another session on this server
        explain_ = explain_mode::none;
        set_kind(statement_kind::explain);
        flag(flag_server_specific);
        return;
    }
    if (explain_ == explain_mode::plain && is_name() && !is(w::select) && !is(w::with) && !is(w::values) &&
        !is(w::insert) && !is(w::replace) && !is(w::update) && !is(w::delete_)) {
        // DESCRIBE t [column | 'pattern']: SHOW COLUMNS.
        explain_ = explain_mode::none;
        set_kind(statement_kind::explain);
        read_object();
        return;
    }
    head_explained_statement();
}

void parser::head_explained_statement()
{
    if (is_punct('(') || is(w::select) || is(w::with) || is(w::values) || is(w::insert) || is(w::replace) ||
        is(w::update) || is(w::delete_)) {
        head();
        return;
    }
    explain_ = explain_mode::none;
    give_up();
}

// [FROM | IN] db
void parser::from_database()
{
    if (!skip(w::from) && !skip(w::in)) return;
    read_database_name();
}

void parser::head_show()
{
    set_kind(statement_kind::show);
    advance();
    while (skip(w::full) || skip(w::extended)) {
    }
    bool plain = true;
    switch (id()) {
        case w::tables:
        case w::triggers:
        case w::events:
            advance();
            from_database();
            break;
        case w::table:   // TABLE STATUS [FROM db]: each server's row counts, sizes, AUTO_INCREMENT
            advance();
            skip(w::status);
            plain = false;
            from_database();
            break;
        case w::index:
        case w::indexes:
        case w::keys:
            plain = false;   // Cardinality: this server's statistics
            [[fallthrough]];
        case w::columns:
        case w::fields: {
            // {COLUMNS | INDEX} {FROM | IN} [db.]t [{FROM | IN} db]
            advance();
            if (!skip(w::from) && !skip(w::in)) break;
            if (!is_name()) {
                flag(flag_tables_unknown);
                break;
            }
            token first = cur_, second{};
            advance();
            if (is_punct('.') && (next_.kind == token_kind::word || next_.kind == token_kind::quoted_name)) {
                advance();
                second = cur_;
                advance();
            }
            const bool qualified = second.kind != token_kind::end;
            const token& table = qualified ? second : first;
            if (first.text.empty() || table.text.empty()) flag(flag_tables_unknown);
            if ((is(w::from) || is(w::in)) &&
                (next_.kind == token_kind::word || next_.kind == token_kind::quoted_name)) {
                advance();
                record(cur_.text, table.text, table.escaped || cur_.escaped);
                advance();
            } else if (qualified) {
                record(first.text, table.text, first.escaped || table.escaped);
            } else {
                record({}, table.text, table.escaped);
            }
            break;
        }
        case w::create:
            advance();
            if (is(w::database) || is(w::schema)) {
                advance();
                skip_if_exists();
                read_database_name();
            } else if (is(w::table) || is(w::view) || is(w::sequence) || is(w::trigger) || is(w::procedure) ||
                       is(w::function) || is(w::event) || is(w::package)) {
                // A table's AUTO_INCREMENT is the answering server's own
                // counter (mariadb-dump reads it): the primary's is the truth.
                plain = !is(w::table);
                advance();
                skip(w::body);
                read_object();
            } else if (is(w::user)) {
                skip_rest_ = true;
            } else {
                plain = false;
            }
            break;
        case w::grants:   // GRANTS [FOR user@host]: no expressions follow
            skip_rest_ = true;
            break;
        case w::character:
            advance();
            skip(w::set);
            break;
        case w::storage:
            advance();
            skip(w::engines);
            break;
        case w::databases:
        case w::schemas:
        case w::charset:
        case w::collation:
        case w::engines:
        case w::plugins:
        case w::privileges:
        case w::authors:
        case w::contributors: advance(); break;
        case w::procedure:
        case w::function:
        case w::package:
            advance();
            skip(w::body);
            plain = skip(w::status);   // CODE: server debug output
            break;
        default:
            // STATUS, VARIABLES, WARNINGS, ERRORS, PROCESSLIST, MASTER/BINLOG/SLAVE
            // STATUS, ENGINE .. STATUS, PROFILE, OPEN TABLES, ...: this server or
            // this session, so the primary.
            plain = false;
            break;
    }
    if (!plain) flag(flag_server_specific);
}

// SET: the statement-level kinds. See classifier.hh for how scope is reported.
void parser::head_set()
{
    advance();
    if (skip(w::statement)) {   // SET STATEMENT var=v, ... FOR stmt: the inner statement decides
        scan(stop_at::word_for);
        if (!skip(w::for_)) return give_up(statement_kind::unknown, flag_doubtful);
        head();
        return;
    }
    set_kind(statement_kind::set_session_state);
    out_->assignments = 1;   // NAMES, CHARACTER SET, ROLE, TRANSACTION; counted below for a list
    tx_scope first_scope = tx_scope::none;
    if (is(w::global) || is(w::persist) || is(w::persist_only)) {
        first_scope = tx_scope::global;
        advance();
    } else if (is(w::session) || is(w::local)) {
        first_scope = tx_scope::session;
        advance();
    }
    if (is(w::transaction)) {
        return head_set_transaction(first_scope == tx_scope::none ? tx_scope::next_transaction : first_scope);
    }
    if (first_scope == tx_scope::none) {
        if (skip(w::names) || skip(w::charset)) return;
        if (is(w::character) && next_is(w::set)) {
            advance();
            advance();
            return;
        }
        if (is(w::password) || (is_text("DEFAULT") && next_is(w::role))) return give_up(statement_kind::write);
        if (skip(w::role)) return;
    }
    bool global = false;
    bool first = true;
    out_->assignments = 0;
    for (;;) {
        tx_scope scope = first ? first_scope : tx_scope::none;
        first = false;
        if (scope == tx_scope::none) {
            if (is(w::global) || is(w::persist) || is(w::persist_only)) {
                scope = tx_scope::global;
                advance();
            } else if (is(w::session) || is(w::local)) {
                scope = tx_scope::session;
                advance();
            }
        }
        std::string_view var;
        bool user = false;
        if (cur_.kind == token_kind::user_variable) {
            user = true;
        } else if (cur_.kind == token_kind::system_variable) {
            var = cur_.text;
            const tx_scope prefix = split_scope(var);
            if (prefix != tx_scope::none) scope = prefix;
        } else if (is_name()) {
            var = cur_.text;
            if (next_is_punct('.')) {   // keycache.key_buffer_size: structured, global only
                advance();
                advance();
                if (!is_name()) break;
                var = cur_.text;
                scope = tx_scope::global;
            }
        } else {
            break;
        }
        advance();
        if (!is_punct('=') && cur_.kind != token_kind::assign) break;
        advance();
        if (out_->assignments < 255) ++out_->assignments;
        if (scope == tx_scope::global) global = true;
        if (!user && scope != tx_scope::global) {
            if (iequals(var, "AUTOCOMMIT")) {
                out_->autocommit = read_switch_value();
            } else if (iequals(var, "TX_READ_ONLY") || iequals(var, "TRANSACTION_READ_ONLY")) {
                // Unscoped, MariaDB applies it like SET TRANSACTION (next
                // transaction). Report read-only narrowly and read-write
                // widely, so a router that misreads it errs to the primary.
                const autocommit_value v = read_switch_value();
                if (v == autocommit_value::on) {
                    out_->access = access_mode::read_only;
                    out_->scope = scope == tx_scope::none ? tx_scope::next_transaction : scope;
                } else {
                    out_->access = access_mode::read_write;
                    out_->scope = tx_scope::session;
                }
            }
        }
        scan(stop_at::comma);
        if (!is_punct(',')) {
            if (global)
                set_kind(statement_kind::set_global);
            else if (out_->autocommit != autocommit_value::unchanged)
                set_kind(statement_kind::set_autocommit);
            else if (out_->access == access_mode::read_only)
                set_kind(statement_kind::set_transaction_read_only);
            else if (out_->access == access_mode::read_write)
                set_kind(statement_kind::set_transaction_read_write);
            return;
        }
        advance();
    }
    give_up(statement_kind::unknown, flag_doubtful);
}

// 0/1/ON/OFF/TRUE/FALSE (also quoted) as the whole value; anything else is
// unknown ("on" here means true).
autocommit_value parser::read_switch_value() const
{
    const bool whole =
        next_.kind == token_kind::end || (next_.kind == token_kind::punct && (next_.ch == ',' || next_.ch == ';'));
    if (!whole || (cur_.kind != token_kind::word && cur_.kind != token_kind::string) || cur_.escaped)
        return autocommit_value::unknown;
    const std::string_view v = cur_.text;
    if (v == "1" || iequals(v, "ON") || iequals(v, "TRUE")) return autocommit_value::on;
    if (v == "0" || iequals(v, "OFF") || iequals(v, "FALSE")) return autocommit_value::off;
    return autocommit_value::unknown;
}

// SET [scope] TRANSACTION {ISOLATION LEVEL l | READ ONLY | READ WRITE} [, ...]
void parser::head_set_transaction(tx_scope scope)
{
    advance();
    access_mode access = access_mode::unchanged;
    for (;;) {
        if (skip(w::isolation)) {
            if (!skip(w::level)) break;
            if (skip(w::read)) {   // READ COMMITTED | READ UNCOMMITTED
                if (!is_text("COMMITTED") && !is_text("UNCOMMITTED")) break;
                advance();
            } else if (is_text("REPEATABLE")) {
                advance();
                if (!skip(w::read)) break;
            } else if (is_text("SERIALIZABLE")) {
                advance();
            } else {
                break;
            }
        } else if (skip(w::read)) {
            if (skip(w::only))
                access = access_mode::read_only;
            else if (skip(w::write))
                access = access_mode::read_write;
            else
                break;
        } else {
            break;
        }
        if (at_statement_end()) {
            out_->scope = scope;
            out_->access = access;
            if (scope == tx_scope::global)
                set_kind(statement_kind::set_global);
            else if (access == access_mode::read_only)
                set_kind(statement_kind::set_transaction_read_only);
            else if (access == access_mode::read_write)
                set_kind(statement_kind::set_transaction_read_write);
            else
                set_kind(statement_kind::set_session_state);   // isolation level only
            return;
        }
        if (!is_punct(',')) break;
        advance();
    }
    give_up(statement_kind::unknown, flag_doubtful);
}

void parser::head_use()
{
    advance();
    if (!is_name()) return give_up();
    set_kind(statement_kind::use_database);
    out_->name = cur_.text;
    if (cur_.escaped) flag(flag_escaped_name);
    advance();
    expect_statement_end();
}

// START TRANSACTION [READ ONLY | READ WRITE | WITH CONSISTENT SNAPSHOT] [, ...]
void parser::head_start()
{
    advance();
    if (!skip(w::transaction)) {   // START SLAVE | REPLICA | ALL SLAVES
        give_up(statement_kind::write);
        return;
    }
    bool read_only = false, read_write = false;
    while (!at_statement_end()) {
        if (skip(w::read)) {
            if (skip(w::only))
                read_only = true;
            else if (skip(w::write))
                read_write = true;
            else
                break;
        } else if (skip(w::with)) {
            if (!skip(w::consistent) || !skip(w::snapshot)) break;
        } else if (!is_punct(',')) {
            break;
        } else {
            advance();
            continue;
        }
        if (!at_statement_end() && !is_punct(',')) break;
    }
    if (!at_statement_end() || (read_only && read_write)) return give_up(statement_kind::unknown, flag_doubtful);
    set_kind(read_only        ? statement_kind::begin_read_only
                 : read_write ? statement_kind::begin_read_write
                              : statement_kind::begin);
}

// COMMIT | ROLLBACK [WORK] [AND [NO] CHAIN] [[NO] RELEASE]; ROLLBACK [WORK] TO [SAVEPOINT] s
void parser::head_end_transaction(bool commit)
{
    advance();
    skip(w::work);
    if (!commit && skip(w::to)) {
        skip(w::savepoint);
        set_kind(statement_kind::rollback_to_savepoint);
        if (is_name()) {
            out_->name = cur_.text;
            advance();
        } else {
            flag(flag_doubtful);
        }
        expect_statement_end();
        return;
    }
    set_kind(commit ? statement_kind::commit : statement_kind::rollback);
    if (skip(w::and_)) {
        const bool no = skip(w::no);
        if (skip(w::chain))
            out_->chain = !no;
        else
            flag(flag_doubtful);
    }
    if (is(w::no) && next_is(w::release)) {
        advance();
        advance();
    } else if (skip(w::release)) {
        out_->release = true;
    }
    expect_statement_end();
}

void parser::head_xa()
{
    set_kind(statement_kind::xa);
    advance();
    switch (id()) {
        case w::start:
        case w::begin: out_->xa = xa_action::start; break;
        case w::end: out_->xa = xa_action::end; break;
        case w::prepare: out_->xa = xa_action::prepare; break;
        case w::commit: out_->xa = xa_action::commit; break;
        case w::rollback: out_->xa = xa_action::rollback; break;
        case w::recover: out_->xa = xa_action::recover; break;
        default: out_->xa = xa_action::other; break;
    }
    if (cur_.kind == token_kind::word) advance();
    skip_rest_ = true;   // xid literals only
}

// name | schema.name at the current token, recorded as a table reference.
bool parser::read_object(table_ref* got)
{
    if (!is_name()) {
        flag(flag_tables_unknown);
        return false;
    }
    const token first = cur_;
    advance();
    if (is_punct('.') && (next_.kind == token_kind::word || next_.kind == token_kind::quoted_name)) {
        advance();
        if (first.text.empty() || cur_.text.empty()) flag(flag_tables_unknown);   // db.`` or ``.t
        record(first.text, cur_.text, first.escaped || cur_.escaped, got);
        advance();
    } else {
        record({}, first.text, first.escaped, got);
    }
    return true;
}

// A database name: recorded as (db, "").
void parser::read_database_name()
{
    if (!is_name()) {
        flag(flag_tables_unknown);
        return;
    }
    record(cur_.text, {}, cur_.escaped);
    advance();
}

// ---------------------------------------------------------------------------
// Body: every token after the head, whatever the statement.

void parser::scan(stop_at stop)
{
    const int base = depth_;
    for (;;) {
        if (cur_.kind == token_kind::end || is_punct(';')) return;
        if (depth_ == base) {
            if (stop == stop_at::close_paren && is_punct(')')) return;
            if (stop == stop_at::comma && is_punct(',')) return;
            if (stop == stop_at::word_for && is(w::for_)) return;
        }
        if (depth_ == base && stop != stop_at::statement_end && is_punct(')')) {
            flag(flag_doubtful);   // closes a parenthesis opened before the stop point
        }
        step();
    }
}

void parser::step()
{
    switch (cur_.kind) {
        case token_kind::word: on_word(); return;
        case token_kind::quoted_name:
            if (expect_table_) return take_table();
            if (next_is_punct('(')) {   // `f`(...) is a stored function
                flag(flag_unknown_function);
                pending_call_ = true;
            }
            advance();
            return;
        case token_kind::string:
            if (expect_table_) {
                expect_table_ = false;
                flag(flag_tables_unknown);
            }
            if (next_is_punct('(')) flag(flag_unknown_function);   // "f"(...) under ANSI_QUOTES
            advance();
            return;
        case token_kind::user_variable:
            flag(flag_user_variable_read);
            if (next_.kind == token_kind::assign) flag(flag_user_variable_assign);
            advance();
            return;
        case token_kind::system_variable:
            if (is_server_variable(cur_.text)) flag(flag_server_variable);
            advance();
            return;
        case token_kind::assign:
            flag(flag_user_variable_assign);
            advance();
            return;
        case token_kind::punct: on_punct(); return;
        case token_kind::end: return;
    }
}

void parser::on_word()
{
    if (expect_table_) return take_table();
    const word_info* e = cur_entry_;
    // seq.nextval / seq.currval (Oracle mode) take a sequence value.
    if (prev_punct_ == '.' && e && e->cls == word_class::primary) flag(flag_primary_function);
    if (next_is_punct('(') && !(e && e->cls == word_class::reserved) && !not_a_call(e)) {
        // A call. Built-ins need the '(' right after the name; with a space,
        // a qualified name or any other name it is a stored function or UDF.
        const bool builtin = e && (e->cls == word_class::pure || e->cls == word_class::primary);
        if (!builtin || prev_punct_ == '.' || next_.begin != cur_.end)
            flag(flag_unknown_function);
        else if (e->id == w::found_rows || e->id == w::row_count)
            flag(flag_previous_outcome);
        else if (e->cls == word_class::primary)
            flag(flag_primary_function);
        pending_call_ = true;
        pending_json_table_ = e && e->id == w::json_table;
        advance();
        return;
    }
    if (e && e->id != word_id::none) on_keyword(e->id);
    advance();
}

// Non-reserved words that are followed by '(' without being a call, in the
// only places where that is certain.
bool parser::not_a_call(const word_info* e)
{
    if (!e) return false;
    if (e->cls == word_class::type_name) return prev_id_ == w::as && ctx().function_args;   // CAST(x AS DATETIME(6))
    if (iequals(cur_.text, "COLUMNS")) return ctx().json_table && prev_kind_ == token_kind::string;   // '$' COLUMNS (
    if (iequals(cur_.text, "AGAINST")) return prev_punct_ == ')';   // MATCH (a) AGAINST (..)
    return false;
}

void parser::on_keyword(word_id wid)
{
    paren_ctx& c = ctx();
    switch (wid) {
        case w::from:
            if (c.function_args) return;   // SUBSTRING(s FROM 2), TRIM(x FROM s), EXTRACT(YEAR FROM d)
            c.table_list = true;
            expect_table_ = true;
            return;
        case w::join:
        case w::straight_join:
            // SELECT STRAIGHT_JOIN ... is a select option; USE INDEX FOR JOIN (i) a hint.
            if (!c.table_list || prev_id_ == w::for_) return;
            expect_table_ = true;
            return;
        case w::into:
            flag(flag_into);
            c.table_list = false;
            return;
        case w::group:
        case w::order:
            if (prev_id_ == w::for_) return;   // USE INDEX FOR ORDER BY (i): still in the table list
            c.table_list = false;
            return;
        case w::where:
        case w::having:
        case w::limit:
        case w::window:
        case w::union_:
        case w::except:
        case w::intersect:
        case w::returning:
        case w::set:
        case w::values: c.table_list = false; return;
        case w::select:   // also a subquery in what looked like a call: ANY (SELECT ..)
            c.table_list = c.function_args = false;
            return;
        case w::for_:
            if (next_is(w::update) || next_is(w::share)) {
                flag(flag_locking);
                c.table_list = false;
            }
            return;
        case w::lock:
            if (next_is(w::in)) {   // LOCK IN SHARE MODE
                flag(flag_locking);
                c.table_list = false;
            }
            return;
        case w::next:
        case w::previous:
            if (next_is(w::value)) flag(flag_primary_function);   // NEXT/PREVIOUS VALUE FOR seq
            return;
        case w::sql_calc_found_rows: flag(flag_calc_found_rows); return;
        case w::procedure:
            if (mode_ == scan_mode::query) flag(flag_doubtful);   // SELECT ... PROCEDURE ANALYSE()
            return;
        case w::table:
            if (mode_ == scan_mode::ddl)
                expect_table_ = true;   // ... WITH TABLE t
            else
                flag(flag_tables_unknown);   // MySQL's TABLE t statement inside a query
            return;
        case w::to:
        case w::references:
            if (mode_ == scan_mode::ddl) expect_table_ = true;
            return;
        case w::using_:
            if (delete_using_ && depth_ == 0) {
                c.table_list = true;
                expect_table_ = true;
            }
            return;
        case w::on:
            if (on_table_once_ && depth_ == 0) {
                on_table_once_ = false;
                expect_table_ = true;
            }
            return;
        default: return;
    }
}

void parser::on_punct()
{
    switch (cur_.ch) {
        case '(': {
            paren_ctx c;
            if (pending_call_) {
                c.function_args = true;
                c.json_table = pending_json_table_;
            } else if (ctx().json_table) {
                c.function_args = c.json_table = true;   // COLUMNS (...) of JSON_TABLE
            } else if (expect_table_) {
                // A derived table (the SELECT inside clears the list) or a
                // parenthesised join (t1, t2 JOIN t3): the name after it is a table.
                c.table_list = true;
            }
            pending_call_ = false;
            open_paren(c);
            return;
        }
        case ')': close_paren(); return;
        case ',':
            if (ctx().table_list && !ctx().function_args) expect_table_ = true;
            advance();
            return;
        default:
            pending_call_ = false;
            advance();
            return;
    }
}

// A name where a table belongs: [schema.]table, or something that is not one.
void parser::take_table()
{
    expect_table_ = false;
    if (cur_.kind == token_kind::word) {
        switch (id()) {
            case w::dual: advance(); return;
            case w::lateral:
                if (!next_is_punct('(')) break;   // a table called lateral
                expect_table_ = true;
                advance();
                return;
            case w::json_table:
            case w::select:
            case w::with:
            case w::values:
                if (id() == w::json_table && !next_is_punct('(')) break;
                return on_word();   // JSON_TABLE(...) or a derived table's query
            default: break;
        }
    }
    read_object();
}

void parser::open_paren(paren_ctx c)
{
    ++depth_;
    if (depth_ <= max_depth) {
        ctx_[std::size_t(depth_)] = c;
    } else {
        flag(flag_deep_nesting | flag_tables_unknown);
        ctx_[max_depth] = {};
    }
    advance();
}

void parser::close_paren()
{
    if (depth_ == 0)
        flag(flag_doubtful);
    else
        --depth_;
    expect_table_ = false;
    pending_call_ = false;
    advance();
}

void parser::record(std::string_view schema, std::string_view table, bool escaped, table_ref* got)
{
    if (schema.empty() && table.empty()) {   // `` : the server rejects an empty name
        flag(flag_tables_unknown);
        return;
    }
    if (escaped) {
        flag(flag_escaped_name);
        if (got) *got = {schema, table};
        return;
    }
    if (iequals(schema, "INFORMATION_SCHEMA")) {
        if (!is_dictionary_table(table)) flag(flag_server_specific);
    } else if (iequals(schema, "PERFORMANCE_SCHEMA") || iequals(schema, "MYSQL") || iequals(schema, "SYS")) {
        flag(flag_server_specific);
    }
    const table_ref ref{schema, table};
    if (got) *got = ref;
    auto refs = out_->table_refs();
    if (std::find(refs.begin(), refs.end(), ref) != refs.end()) return;
    if (out_->table_count == max_table_refs) {
        flag(flag_too_many_tables);
        return;
    }
    out_->tables[out_->table_count++] = ref;
}

void parser::finish()
{
    statement_info& s = *out_;
    if (depth_ != 0) flag(flag_doubtful);   // unbalanced parentheses
    if (expect_table_) flag(flag_tables_unknown);   // FROM, INTO, ... with no table after it
    if (explain_ != explain_mode::none) {
        const statement_kind inner = s.kind;
        // The plan comes from the answering server's own index statistics,
        // which differ between servers: the user asks about the primary's
        // (make compat B10). DESCRIBE t (a table's columns) is not this.
        flag(flag_server_specific);
        if (explain_ == explain_mode::plain) {
            s.kind = statement_kind::explain;
            if (inner != statement_kind::read) flag(flag_explain_write);
        } else {
            flag(flag_executes);
            if (inner == statement_kind::read) s.kind = statement_kind::explain;
        }
    } else if (s.kind == statement_kind::read) {
        if (s.flags & flag_locking)
            s.kind = statement_kind::locking_read;
        else if (s.flags & must_primary_flags)
            s.kind = statement_kind::must_primary;
    }
    if (is_set_kind(s.kind))
        s.replayable = s.kind != statement_kind::set_global && !(s.flags & unreplayable_flags) && s.table_count == 0;
    s.kinds_seen = 1u << unsigned(s.kind);
}

void merge(statement_info& into, const statement_info& more)
{
    into.kind = statement_kind::multi_statement;
    into.flags |= more.flags | flag_multi;
    into.kinds_seen |= more.kinds_seen;
    for (const table_ref& ref : more.table_refs()) {
        auto refs = into.table_refs();
        if (std::find(refs.begin(), refs.end(), ref) != refs.end()) continue;
        if (into.table_count == max_table_refs) {
            into.flags |= flag_too_many_tables;
            break;
        }
        into.tables[into.table_count++] = ref;
    }
    // Per-statement payloads mean nothing for the whole text.
    into.name = into.schema = {};
    into.autocommit = autocommit_value::unchanged;
    into.access = access_mode::unchanged;
    into.scope = tx_scope::none;
    into.chain = into.release = into.temporary = into.replayable = false;
    into.assignments = 0;
    into.xa = xa_action::none;
}

}   // namespace

statement_info classify(std::string_view sql, const lex_options& options)
{
    parser p(sql, options);
    statement_info result;
    if (!p.parse_statement(result)) {
        result.kind = statement_kind::unknown;   // empty or only comments: the server says "Query was empty"
        result.flags |= flag_tables_unknown;
    } else {
        while (p.more_statements()) {
            statement_info more;
            p.parse_statement(more);
            merge(result, more);
        }
    }
    if (p.lexer().unterminated()) result.flags |= flag_unterminated;
    if (p.lexer().doubtful()) result.flags |= flag_doubtful;
    if (result.flags & (flag_unterminated | flag_doubtful)) result.replayable = false;
    result.hint = p.lexer().hint();
    const bool read_kind = result.kind == statement_kind::read || result.kind == statement_kind::show ||
        result.kind == statement_kind::explain;
    result.is_plain_read = read_kind && result.flags == 0 && result.hint != route_hint::primary;
    return result;
}

const char* to_string(statement_kind kind)
{
    static constexpr std::array<const char*, statement_kind_count> names = {
        "read",
        "write",
        "locking_read",
        "must_primary",
        "begin",
        "begin_read_only",
        "begin_read_write",
        "commit",
        "rollback",
        "savepoint",
        "rollback_to_savepoint",
        "release_savepoint",
        "set_transaction_read_only",
        "set_transaction_read_write",
        "set_autocommit",
        "set_session_state",
        "set_global",
        "use_database",
        "create_temporary_table",
        "drop_table",
        "lock_tables",
        "unlock_tables",
        "xa",
        "handler",
        "call",
        "do",
        "show",
        "explain",
        "multi_statement",
        "unknown",
    };
    const auto i = std::size_t(kind);
    return i < names.size() ? names[i] : "invalid";
}

const char* to_string(statement_flag flag)
{
    switch (flag) {
        case flag_unterminated: return "unterminated";
        case flag_doubtful: return "doubtful";
        case flag_too_many_tables: return "too_many_tables";
        case flag_tables_unknown: return "tables_unknown";
        case flag_escaped_name: return "escaped_name";
        case flag_locking: return "locking";
        case flag_into: return "into";
        case flag_user_variable_read: return "user_variable_read";
        case flag_user_variable_assign: return "user_variable_assign";
        case flag_primary_function: return "primary_function";
        case flag_unknown_function: return "unknown_function";
        case flag_server_variable: return "server_variable";
        case flag_server_specific: return "server_specific";
        case flag_calc_found_rows: return "calc_found_rows";
        case flag_executes: return "executes";
        case flag_explain_write: return "explain_write";
        case flag_multi: return "multi";
        case flag_deep_nesting: return "deep_nesting";
        case flag_previous_outcome: return "previous_outcome";
    }
    return "invalid";
}

}   // namespace causeway::protocol
