// Session bookkeeping (see session_state.hh).
#include "worker/session_state.hh"

#include <ctype.h>
#include <strings.h>

#include <algorithm>

#include "protocol/bytes.hh"
#include "protocol/ok_err.hh"
#include "shm/hash.hh"

namespace causeway::worker {

using common::error;

common::result<dbname_parts> split_session_id(std::string_view dbname)
{
    auto q = dbname.find('?');
    if (q == std::string_view::npos) return dbname_parts{std::string(dbname), {}};
    std::string_view suffix = dbname.substr(q + 1);
    constexpr std::string_view prefix = "sessionId=";
    if (suffix.substr(0, prefix.size()) != prefix || suffix.size() == prefix.size())
        return error{0,
                     "malformed session id in database name '" + std::string(dbname) + "': expected db?sessionId=<id>"};
    std::string_view id = suffix.substr(prefix.size());
    if (id.size() > 128 || id.find_first_of("?&= ") != std::string_view::npos)
        return error{0, "malformed session id '" + std::string(id) + "': at most 128 characters, no ?, &, = or space"};
    return dbname_parts{std::string(dbname.substr(0, q)), std::string(id)};
}

namespace {
common::result<std::string> checked_session_id(std::string_view id)
{
    if (id.empty() || id.size() > 128 || id.find_first_of("?&= ") != std::string_view::npos)
        return error{0, "malformed session id '" + std::string(id) + "': 1 to 128 characters, no ?, &, = or space"};
    return std::string(id);
}
}   // namespace

common::result<std::string> session_id_from_attributes(std::string_view attrs)
{
    protocol::byte_reader r(attrs);
    while (!r.at_end() && !r.failed()) {
        std::string_view key = r.lenenc_bytes();
        std::string_view value = r.lenenc_bytes();
        if (!r.failed() && key == session_id_attribute) return checked_session_id(value);
    }
    return std::string();
}

std::optional<common::result<std::string>> session_id_from_set(std::string_view sql)
{
    constexpr std::string_view var = "@causeway_session_id";
    std::size_t i = 0;
    auto blanks = [&] {
        while (i < sql.size() && isspace((unsigned char)sql[i])) ++i;
    };
    auto word = [&](std::string_view w) {
        blanks();
        if (sql.size() - i < w.size() || strncasecmp(sql.data() + i, w.data(), w.size()) != 0) return false;
        i += w.size();
        return true;
    };
    if (!word("set") || i == sql.size() || !isspace((unsigned char)sql[i]) || !word(var)) return std::nullopt;
    blanks();
    if (i < sql.size() && sql[i] == ':') ++i;
    if (i == sql.size() || sql[i] != '=') return std::nullopt;
    ++i;
    blanks();
    std::string value;
    if (i < sql.size() && (sql[i] == '\'' || sql[i] == '"')) {
        char quote = sql[i++];
        std::size_t end = sql.find(quote, i);
        if (end == std::string_view::npos) return std::nullopt;
        value = std::string(sql.substr(i, end - i));
        i = end + 1;
    } else {
        while (i < sql.size() && isalnum((unsigned char)sql[i])) value += sql[i++];
    }
    blanks();
    if (i < sql.size() && sql[i] == ';') ++i;
    blanks();
    if (i != sql.size()) return std::nullopt;   // more than the one assignment: not ours
    return checked_session_id(value);
}

namespace {
constexpr std::uint8_t kind_of(shm::session_kind k)
{
    return std::uint8_t(k);
}
// The "any database" key: every write records here (see session_keys).
constexpr const char* any_database = "\x01*";

void add_unique(std::vector<key_source>& out, key_source k)
{
    if (std::find(out.begin(), out.end(), k) == out.end()) out.push_back(std::move(k));
}
}   // namespace

void session_keys(const common::config& cfg, const session_identity& id, const protocol::statement_info* stmt,
                  std::vector<key_source>& out)
{
    out.clear();
    common::session_id_kind kind = cfg.session();
    if (kind == common::session_id_kind::provided_in_dbname) {
        if (!id.provided.empty()) {
            out.push_back({kind_of(shm::session_kind::provided), id.provided});
            return;
        }
        kind = cfg.session_fallback();
    }
    switch (kind) {
        case common::session_id_kind::connection:
            out.push_back({kind_of(shm::session_kind::connection), std::to_string(id.connection)});
            return;
        case common::session_id_kind::user: out.push_back({kind_of(shm::session_kind::user), id.user}); return;
        default: break;
    }
    out.push_back({kind_of(shm::session_kind::database), id.database});
    out.push_back({kind_of(shm::session_kind::database), any_database});
    if (!stmt) return;
    for (const auto& t : stmt->table_refs())
        if (!t.schema.empty()) add_unique(out, {kind_of(shm::session_kind::database), std::string(t.schema)});
}

void replay_log::add(std::string_view payload, std::string_view key)
{
    ++generation_;
    // Keep one copy of a repeated statement (at its latest place), one per key.
    entries_.erase(
        std::remove_if(entries_.begin(), entries_.end(),
                       [&](const entry& e) { return e.payload == payload || (!key.empty() && e.key == key); }),
        entries_.end());
    entries_.push_back({std::string(payload), std::string(key), generation_});
    if (entries_.size() > max_entries) overflowed_ = true;
}

void replay_log::clear()
{
    entries_.clear();
    overflowed_ = false;
    ++generation_;
}

std::vector<std::string_view> replay_log::pending(std::uint64_t applied) const
{
    std::vector<std::string_view> out;
    for (const auto& e : entries_)
        if (e.generation > applied) out.push_back(e.payload);
    return out;
}

namespace {
std::string qualified(std::string_view schema, std::string_view table, std::string_view current_db)
{
    return std::string(schema.empty() ? current_db : schema) + "." + std::string(table);
}
}   // namespace

bool temporary_tables::touches(const protocol::statement_info& s, std::string_view current_db) const
{
    if (names_.empty()) return false;
    if (!s.tables_complete()) return true;
    for (const auto& t : s.table_refs())
        if (names_.count(qualified(t.schema, t.table, current_db))) return true;
    return false;
}

// Short on purpose: anything not listed may have committed with tracking
// switched off (SET STATEMENT, PREPARE/EXECUTE, a procedure, a multi-statement,
// a function with side effects), or simply changed no rows; the fence then
// costs one round trip, a missed write would cost a stale read.
bool cannot_commit(const protocol::statement_info& s, bool in_trans)
{
    using protocol::statement_kind;
    if (s.is_plain_read) return true;
    switch (s.kind) {
        case statement_kind::begin:
        case statement_kind::begin_read_only:
        case statement_kind::begin_read_write: return !in_trans && s.flags == 0;   // BEGIN commits an open one
        case statement_kind::rollback:
        case statement_kind::savepoint:
        case statement_kind::rollback_to_savepoint:
        case statement_kind::release_savepoint:
        case statement_kind::use_database: return s.flags == 0;
        // Literals, variables and built-ins only (no stored function, no subquery).
        case statement_kind::set_session_state:
        case statement_kind::set_transaction_read_only:
        case statement_kind::set_transaction_read_write: return s.replayable;
        case statement_kind::set_autocommit: return s.replayable && !in_trans;   // autocommit=1 commits
        default: return false;
    }
}

std::string as_primary_error_in_read_only_transaction(std::string_view err_payload)
{
    constexpr std::uint16_t er_option_prevents_statement = 1290;   // --read-only
    auto e = protocol::parse_err(err_payload);
    if (!e || e->code != er_option_prevents_statement) return {};
    return protocol::build_err(er_read_only_transaction, "25006", read_only_transaction_message);
}

std::string diagnostics_signal(std::string_view err_payload)
{
    auto e = protocol::parse_err(err_payload);
    if (!e || e->sql_state.size() != 5) return {};
    std::string q = "\x03SIGNAL SQLSTATE '" + std::string(e->sql_state) +
        "' SET MYSQL_ERRNO = " + std::to_string(e->code) + ", MESSAGE_TEXT = '";
    // Quotes doubled and backslashes avoided: the same under any sql_mode.
    for (char c : e->message) {
        if (c == '\\') return {};
        q += c;
        if (c == '\'') q += c;
    }
    return q + "'";
}

bool starts_with_word(std::string_view text, std::string_view word)
{
    std::size_t i = 0;
    while (i < text.size() && isspace((unsigned char)text[i])) ++i;
    return text.size() - i >= word.size() && strncasecmp(text.data() + i, word.data(), word.size()) == 0;
}

bool mentions(std::string_view text, std::string_view word)
{
    for (std::size_t i = 0; i + word.size() <= text.size(); ++i)
        if (strncasecmp(text.data() + i, word.data(), word.size()) == 0) return true;
    return false;
}

bool reads_diagnostics(std::string_view sql)
{
    // SHOW WARNINGS, SHOW ERRORS, SHOW COUNT(*) WARNINGS: nothing else names them.
    if (starts_with_word(sql, "show")) return mentions(sql, "warnings") || mentions(sql, "errors");
    if (starts_with_word(sql, "get")) return mentions(sql, "diagnostics");
    // @@warning_count, @@session.error_count, ...
    return mentions(sql, "warning_count") || mentions(sql, "error_count");
}

bool reads_previous_outcome(const protocol::statement_info& s)
{
    return s.kind == protocol::statement_kind::must_primary && s.flags == protocol::flag_previous_outcome &&
        s.table_count == 0 && s.hint != protocol::route_hint::primary;
}

execute_view parse_execute(std::string_view payload, std::uint16_t params)
{
    execute_view v;
    protocol::byte_reader r(payload);
    r.u8();
    v.statement_id = r.u32();
    v.flags = r.u8();
    r.u32();
    if (params) {
        r.skip((params + 7u) / 8u);
        v.types_included = r.u8() != 0;   // the server reads any nonzero new-params-bound byte as "types follow"
        if (v.types_included) v.types = r.bytes(2u * params);
    }
    v.ok = !r.failed();
    return v;
}

std::string rewrite_execute(std::string_view payload, std::uint16_t params, std::uint32_t backend_id,
                            std::string_view types_to_insert)
{
    std::string out(payload);
    for (int i = 0; i < 4; ++i) out[std::size_t(1 + i)] = char((backend_id >> (8 * i)) & 0xff);
    if (params && !types_to_insert.empty()) {
        std::size_t bound_at = 1 + 4 + 1 + 4 + (params + 7u) / 8u;
        if (bound_at < out.size() && out[bound_at] == 0) {
            out[bound_at] = 1;
            out.insert(bound_at + 1, types_to_insert);
        }
    }
    return out;
}

bulk_view parse_bulk_execute(std::string_view payload, std::uint16_t params)
{
    bulk_view v;
    protocol::byte_reader r(payload);
    r.u8();
    v.statement_id = r.u32();
    v.flags = r.u16();
    v.types_included = v.flags & bulk_send_types;
    if (v.types_included) v.types = r.bytes(2u * params);
    v.ok = !r.failed();
    return v;
}

std::string rewrite_bulk_execute(std::string_view payload, std::uint16_t params, std::uint32_t backend_id,
                                 std::string_view types_to_insert)
{
    constexpr std::size_t flags_at = 1 + 4, types_at = flags_at + 2;
    std::string out(payload);
    for (int i = 0; i < 4; ++i) out[std::size_t(1 + i)] = char((backend_id >> (8 * i)) & 0xff);
    if (params && !types_to_insert.empty() && out.size() >= types_at &&
        !(std::uint8_t(out[flags_at]) & bulk_send_types)) {
        out[flags_at] = char(std::uint8_t(out[flags_at]) | bulk_send_types);
        out.insert(types_at, types_to_insert);
    }
    return out;
}

}   // namespace causeway::worker
