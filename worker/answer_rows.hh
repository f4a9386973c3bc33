// Rows of an answer that must show the client's session, not the proxy's
// server session behind it: the Compression status (the client's connection
// is compressed, the server's is not) and session_track_system_variables
// (the primary connection tracks '*'). Text and binary protocol alike. Pure:
// the relay (client_session.cc) feeds it packets; table-tested.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace causeway::worker {

class answer_rows {
public:
    struct wants {
        bool compression = false;   // the client compresses: a Compression status row says ON
        bool tracking = false;   // rows may show session_track_system_variables (plan_tracking_read)
        bool tracking_by_value = false;   // ... named by the statement: any cell '*' is it
    };
    // A new answer; nothing watched unless something is wanted.
    void start(const wants& w);
    // Whether the answer's column definitions (and maybe rows) must be read.
    bool active() const { return wants_.compression || wants_.tracking; }
    // A result set starts (its column count); then each column definition.
    void result_start();
    void column(std::string_view definition);
    // Whether this result set's rows may change.
    bool rows_watched() const { return wants_.tracking || (status_name_ >= 0 && status_value_ >= 0); }
    // The row as the client must see it, or empty when unchanged (or not
    // understood: it then passes as the server sent it). `client_list` is
    // the client's own session_track_system_variables.
    std::string row(std::string_view payload, bool binary, std::string_view client_list) const;

private:
    wants wants_;
    bool types_known_ = true;   // every column definition was understood
    std::vector<std::uint8_t> types_;   // for binary rows
    // Columns of information_schema's SESSION_STATUS or GLOBAL_STATUS (SHOW
    // STATUS reads them too), or -1.
    int status_name_ = -1;
    int status_value_ = -1;
};

}   // namespace causeway::worker
