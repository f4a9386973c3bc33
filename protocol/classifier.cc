// The statement classifier (see classifier.hh): a statement-head dispatcher
// for the kinds routing cares about, and one body scanner shared by all of
// them that follows parentheses, collects table references after FROM/JOIN
// and friends, and flags anything that keeps a read off the replicas.
#include "protocol/classifier.hh"

#include "protocol/classifier_parser.hh"

namespace causeway::protocol {

namespace classifier_detail {

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

}   // namespace classifier_detail

namespace {

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
    classifier_detail::parser p(sql, options);
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
