// Statement heads that change the session rather than data: SET (session
// state, autocommit, transaction characteristics), START TRANSACTION / BEGIN,
// COMMIT / ROLLBACK, USE and XA. The routing decisions they feed are the
// router's (worker/router.hh).
#include "protocol/classifier_parser.hh"

namespace causeway::protocol::classifier_detail {

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

}   // namespace causeway::protocol::classifier_detail
