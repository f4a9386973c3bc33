// Statement heads of queries, DML, DDL, EXPLAIN and SHOW: what each kind of
// statement is and which objects it names, before the body scanner
// (classifier.cc) reads the rest. SET, transactions, USE and XA are in
// classifier_session.cc.
#include "protocol/classifier_parser.hh"

namespace causeway::protocol::classifier_detail {

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

}   // namespace causeway::protocol::classifier_detail
