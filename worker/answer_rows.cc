// Rows shown with the client's session state (see answer_rows.hh).
#include "worker/answer_rows.hh"

#include <algorithm>

#include "protocol/result_rows.hh"
#include "protocol/sql_lexer.hh"

namespace causeway::worker {

using protocol::iequals;
using protocol::row_cell;

namespace {
// SELECT @@session_track_system_variables, SHOW VARIABLES, SESSION_VARIABLES:
// the primary's '*' (Causeway's) becomes the client's list. `by_value` (the
// statement names the variable): any cell '*'; otherwise only the value of
// a (name, value) row of this variable.
bool tracking_as_client(std::vector<row_cell>& cells, std::string_view client_list, bool by_value)
{
    bool named_pair = cells.size() == 2 && cells[0].text && !cells[0].null &&
        iequals(cells[0].bytes, "SESSION_TRACK_SYSTEM_VARIABLES");
    bool changed = false;
    for (std::size_t i = 0; i < cells.size(); ++i) {
        row_cell& c = cells[i];
        if (c.null || !c.text || c.bytes != "*" || !(by_value || (named_pair && i == 1))) continue;
        c.bytes = client_list;
        changed = true;
    }
    return changed;
}

// SHOW STATUS, information_schema.SESSION_STATUS or GLOBAL_STATUS (which shows
// the asking session's value too): the server session is not compressed.
bool compression_on(std::vector<row_cell>& cells, int name, int value)
{
    row_cell& n = cells[std::size_t(name)];
    row_cell& v = cells[std::size_t(value)];
    if (n.null || v.null || !n.text || !v.text || !iequals(n.bytes, "COMPRESSION") || v.bytes != "OFF") return false;
    v.bytes = "ON";
    return true;
}
}   // namespace

void answer_rows::start(const wants& w)
{
    wants_ = w;
    result_start();
}

void answer_rows::result_start()
{
    types_.clear();
    types_known_ = true;
    status_name_ = status_value_ = -1;
}

void answer_rows::column(std::string_view definition)
{
    auto c = protocol::parse_column_definition(definition);
    if (!c) {
        types_known_ = false;
        types_.push_back(0);
        return;
    }
    int index = int(types_.size());
    types_.push_back(c->type);
    if (!wants_.compression || !iequals(c->schema, "INFORMATION_SCHEMA") ||
        !(iequals(c->org_table, "SESSION_STATUS") || iequals(c->org_table, "GLOBAL_STATUS")))
        return;
    if (iequals(c->org_name, "VARIABLE_NAME")) status_name_ = index;
    if (iequals(c->org_name, "VARIABLE_VALUE")) status_value_ = index;
}

std::string answer_rows::row(std::string_view payload, bool binary, std::string_view client_list) const
{
    if (binary && !types_known_) return {};
    std::vector<row_cell> cells;
    if (!protocol::split_row(payload, binary ? &types_ : nullptr, cells)) return {};
    bool changed = false;
    if (wants_.tracking) changed = tracking_as_client(cells, client_list, wants_.tracking_by_value);
    // A text row's cells are counted from the row itself: check the indexes.
    if (status_name_ >= 0 && status_value_ >= 0 && std::size_t(std::max(status_name_, status_value_)) < cells.size())
        changed = compression_on(cells, status_name_, status_value_) || changed;
    return changed ? protocol::join_row(payload, binary, cells) : std::string();
}

}   // namespace causeway::worker
