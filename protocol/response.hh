// The result-set state machine: given the command a client sent, follows the
// server's answer packet by packet and says where it ends, whether the proxy
// must look at (or rewrite) a packet, and the server status flags it carried
// (in transaction, autocommit). It sees logical packets only (the relay hides
// 16 MiB continuation chunks) and never buffers: rows pass as opaque bytes.
#pragma once

#include <cstdint>
#include <string_view>

#include "protocol/constants.hh"

namespace causeway::protocol {

// What one packet of a response was.
enum class packet_role : std::uint8_t {
    data,   // column count, column definition, row, statistics text...
    ok,   // an OK packet (0x00), or the OK form of an end-of-rows (0xfe)
    eof,   // a classic EOF (0xfe, < 9 bytes)
    err,   // an ERR packet
    local_infile,   // the server asks the client for a file (LOAD DATA LOCAL)
    prepare_ok,   // the first packet of a COM_STMT_PREPARE answer
    malformed,   // not what this state allows: the connection cannot continue
};

class response_tracker {
public:
    // Starts following the answer to `cmd` on a connection whose negotiated
    // capabilities are `capabilities`. Commands with no answer (STMT_CLOSE,
    // SEND_LONG_DATA, QUIT) leave the tracker done.
    void begin(command cmd, std::uint32_t capabilities);

    // True when the whole answer has been seen (or none is expected).
    bool done() const { return state_ == state::done; }
    // Between a result set's column definitions and its end: the next packet
    // that is not a terminator is a row.
    bool in_rows() const { return state_ == state::rows; }
    // The next packet starts an answer or its next result set (a column
    // count, an OK, an ERR...).
    bool at_result_start() const { return state_ == state::first; }
    // The next packet is a result set's column definition.
    bool in_columns() const { return state_ == state::columns; }

    // True while the client, not the server, must send next (it is sending the
    // file of a LOAD DATA LOCAL INFILE); after its empty packet call
    // local_infile_sent().
    bool awaiting_client_data() const { return state_ == state::local_infile; }
    void local_infile_sent() { state_ = state::first; }

    // Whether a packet of `length` that starts with `first_byte` must be seen
    // whole by on_packet (terminators, OK, ERR, counts); rows need not be.
    bool needs_whole_packet(std::uint8_t first_byte, std::uint32_t length) const;

    // Feeds the next logical packet; `payload` is whole when
    // needs_whole_packet() said so, otherwise at least its first byte.
    packet_role on_packet(std::string_view payload, std::uint32_t length);

    // Server status from the last OK/EOF, and whether one was seen in this answer.
    std::uint16_t status() const { return status_; }
    bool status_seen() const { return status_seen_; }
    // Warnings the last OK/EOF of this answer reported (what SHOW WARNINGS
    // would list next on that connection).
    std::uint16_t warnings() const { return warnings_; }
    // For COM_STMT_PREPARE: the statement id and shape the server reported.
    std::uint32_t statement_id() const { return statement_id_; }

private:
    enum class state : std::uint8_t {
        done,
        first,   // the first packet of an answer, or of the next result set
        columns,   // column definitions of a result set
        columns_eof,   // the EOF after them (no DEPRECATE_EOF)
        rows,   // rows until EOF/OK or ERR
        params,   // COM_STMT_PREPARE: parameter definitions
        params_eof,
        prepare_columns,
        prepare_columns_eof,
        field_list,   // COM_FIELD_LIST: column definitions until EOF
        single,   // one packet, whatever it is (COM_STATISTICS)
        local_infile,   // the client is sending a file
    };
    packet_role terminator(std::string_view payload, bool classic_eof);
    packet_role on_first(std::string_view payload, std::uint32_t length);
    packet_role after_prepare_ok(std::string_view payload);
    void after_columns();
    bool opened_cursor(std::uint16_t status) const;
    void after_params();

    state state_ = state::done;
    command cmd_ = command::sleep;
    bool deprecate_eof_ = false;
    std::uint32_t capabilities_ = 0;
    std::uint64_t remaining_ = 0;   // definitions left in the current block
    std::uint16_t columns_ = 0;   // COM_STMT_PREPARE
    std::uint16_t status_ = 0;
    bool status_seen_ = false;
    std::uint16_t warnings_ = 0;
    std::uint32_t statement_id_ = 0;
};

// The role of a packet that ends rows: an EOF (< 9 bytes) in classic mode, an
// OK with marker 0xfe (< 16 MiB) with DEPRECATE_EOF.
bool is_end_of_rows(std::string_view payload, std::uint32_t length, bool deprecate_eof);

}   // namespace causeway::protocol
