// The result-set state machine (see response.hh): one function per state of
// interest, dispatched from on_packet().
#include "protocol/response.hh"

#include "protocol/bytes.hh"
#include "protocol/ok_err.hh"

namespace causeway::protocol {

bool is_end_of_rows(std::string_view payload, std::uint32_t length, bool deprecate_eof)
{
    if (payload.empty() || std::uint8_t(payload[0]) != eof_marker) return false;
    return deprecate_eof ? length < max_payload : length < 9;
}

void response_tracker::begin(command cmd, std::uint32_t capabilities)
{
    cmd_ = cmd;
    capabilities_ = capabilities;
    deprecate_eof_ = capabilities & cap::deprecate_eof;
    status_seen_ = false;
    warnings_ = 0;
    remaining_ = 0;
    switch (cmd) {
        case command::quit:
        case command::stmt_close:
        case command::stmt_send_long_data: state_ = state::done; break;
        case command::statistics: state_ = state::single; break;
        case command::field_list: state_ = state::field_list; break;
        case command::stmt_fetch: state_ = state::rows; break;
        default: state_ = state::first; break;
    }
}

bool response_tracker::needs_whole_packet(std::uint8_t first_byte, std::uint32_t length) const
{
    switch (state_) {
        case state::rows:
        case state::field_list: return first_byte == err_marker || (first_byte == eof_marker && length < max_payload);
        case state::columns:
        case state::params:
        case state::prepare_columns: return false;
        default: return true;
    }
}

packet_role response_tracker::terminator(std::string_view payload, bool classic_eof)
{
    std::uint16_t status;
    if (classic_eof) {
        eof_packet eof = parse_eof(payload);
        status = eof.status;
        warnings_ = eof.warnings;
    } else {
        auto ok = parse_ok(payload, capabilities_);
        if (!ok) return packet_role::malformed;
        status = ok->status;
        warnings_ = ok->warnings;
    }
    status_ = status;
    status_seen_ = true;
    // A cursor was opened (COM_STMT_EXECUTE) or a fetch ended: no rows follow now.
    if (status & server_status::more_results)
        state_ = state::first;
    else
        state_ = state::done;
    return classic_eof ? packet_role::eof : packet_role::ok;
}

packet_role response_tracker::on_first(std::string_view payload, std::uint32_t length)
{
    std::uint8_t first = std::uint8_t(payload[0]);
    if (first == err_marker) {
        state_ = state::done;
        return packet_role::err;
    }
    if (first == ok_marker && cmd_ == command::stmt_prepare) return after_prepare_ok(payload);
    if (first == ok_marker) return terminator(payload, false);
    // COM_SET_OPTION, COM_DEBUG: an EOF, or with DEPRECATE_EOF its OK form
    // (0xfe, 7 bytes or more: it may carry info and session state).
    if (is_end_of_rows(payload, length, deprecate_eof_)) return terminator(payload, !deprecate_eof_);
    if (first == local_infile_marker && cmd_ == command::query) {
        state_ = state::local_infile;
        return packet_role::local_infile;
    }
    if (cmd_ != command::query && cmd_ != command::stmt_execute && cmd_ != command::process_info &&
        cmd_ != command::stmt_bulk_execute)   // a result set per row with unit results
        return packet_role::malformed;
    byte_reader r(payload);
    std::uint64_t columns = r.lenenc();
    if (r.failed() || columns == 0) return packet_role::malformed;
    remaining_ = columns;
    state_ = state::columns;
    return packet_role::data;
}

packet_role response_tracker::after_prepare_ok(std::string_view payload)
{
    byte_reader r(payload);
    r.u8();
    statement_id_ = r.u32();
    columns_ = r.u16();
    std::uint16_t params = r.u16();
    if (r.failed()) return packet_role::malformed;
    remaining_ = params;
    state_ = state::params;
    if (params == 0) after_params();
    return packet_role::prepare_ok;
}

void response_tracker::after_params()
{
    // A block of zero definitions has no EOF after it.
    remaining_ = columns_;
    state_ = columns_ ? state::prepare_columns : state::done;
}

bool response_tracker::opened_cursor(std::uint16_t status) const
{
    // A COM_STMT_EXECUTE that opened a cursor: the metadata is the whole
    // answer, rows come with COM_STMT_FETCH. The server also sets
    // CURSOR_EXISTS in every EOF sent while a stored program's own cursor is
    // open (a FOR loop, OPEN in a CALL or BEGIN NOT ATOMIC, even for a
    // COM_STMT_EXECUTE of a CALL): those result sets have rows, and they always
    // carry MORE_RESULTS (the program's OK follows), which a cursor's never does.
    return cmd_ == command::stmt_execute && (status & server_status::cursor_exists) &&
        !(status & server_status::more_results);
}

void response_tracker::after_columns()
{
    state_ = deprecate_eof_ ? state::rows : state::columns_eof;
}

packet_role response_tracker::on_packet(std::string_view payload, std::uint32_t length)
{
    if (payload.empty()) return packet_role::malformed;
    std::uint8_t first = std::uint8_t(payload[0]);
    switch (state_) {
        case state::done:
        case state::local_infile: return packet_role::malformed;
        case state::first: return on_first(payload, length);
        case state::single: state_ = state::done; return first == err_marker ? packet_role::err : packet_role::data;
        case state::columns:
            if (--remaining_ == 0) after_columns();
            return packet_role::data;
        case state::columns_eof:
            if (!is_eof(payload)) return packet_role::malformed;
            {
                eof_packet e = parse_eof(payload);
                status_ = e.status;
                status_seen_ = true;
                state_ = opened_cursor(e.status) ? state::done : state::rows;
            }
            return packet_role::eof;
        case state::rows:
        case state::field_list:
            if (first == err_marker) {
                state_ = state::done;
                return packet_role::err;
            }
            if (is_end_of_rows(payload, length, deprecate_eof_)) return terminator(payload, !deprecate_eof_);
            return packet_role::data;
        case state::params:
            if (--remaining_ == 0) {
                if (deprecate_eof_)
                    after_params();
                else
                    state_ = state::params_eof;
            }
            return packet_role::data;
        case state::params_eof:
            if (!is_eof(payload)) return packet_role::malformed;
            after_params();
            return packet_role::eof;
        case state::prepare_columns:
            if (--remaining_ == 0) state_ = deprecate_eof_ ? state::done : state::prepare_columns_eof;
            return packet_role::data;
        case state::prepare_columns_eof:
            if (!is_eof(payload)) return packet_role::malformed;
            state_ = state::done;
            return packet_role::eof;
    }
    return packet_role::malformed;
}

}   // namespace causeway::protocol
