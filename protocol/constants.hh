// MySQL/MariaDB wire constants: capability flags, server status flags,
// command bytes and packet markers. Values from the protocol documentation
// (MariaDB "Connection" and "Client/Server Protocol" pages).
#pragma once

#include <cstdint>

namespace causeway::protocol {

// The largest payload of one physical packet; a logical packet of this size
// or more continues in the next one (the last chunk is shorter, maybe empty).
inline constexpr std::uint32_t max_payload = 0xffffff;
inline constexpr std::size_t header_size = 4;

namespace cap {
inline constexpr std::uint32_t long_password = 1u << 0;   // MariaDB: "CLIENT_MYSQL" (clear = extended caps)
inline constexpr std::uint32_t found_rows = 1u << 1;
inline constexpr std::uint32_t long_flag = 1u << 2;
inline constexpr std::uint32_t connect_with_db = 1u << 3;
inline constexpr std::uint32_t no_schema = 1u << 4;
inline constexpr std::uint32_t compress = 1u << 5;
inline constexpr std::uint32_t odbc = 1u << 6;
inline constexpr std::uint32_t local_files = 1u << 7;
inline constexpr std::uint32_t ignore_space = 1u << 8;
inline constexpr std::uint32_t protocol_41 = 1u << 9;
inline constexpr std::uint32_t interactive = 1u << 10;
inline constexpr std::uint32_t ssl = 1u << 11;
inline constexpr std::uint32_t ignore_sigpipe = 1u << 12;
inline constexpr std::uint32_t transactions = 1u << 13;
inline constexpr std::uint32_t reserved = 1u << 14;
inline constexpr std::uint32_t secure_connection = 1u << 15;
inline constexpr std::uint32_t multi_statements = 1u << 16;
inline constexpr std::uint32_t multi_results = 1u << 17;
inline constexpr std::uint32_t ps_multi_results = 1u << 18;
inline constexpr std::uint32_t plugin_auth = 1u << 19;
inline constexpr std::uint32_t connect_attrs = 1u << 20;
inline constexpr std::uint32_t plugin_auth_lenenc_data = 1u << 21;
inline constexpr std::uint32_t can_handle_expired_passwords = 1u << 22;
inline constexpr std::uint32_t session_track = 1u << 23;
inline constexpr std::uint32_t deprecate_eof = 1u << 24;
inline constexpr std::uint32_t ssl_verify_server_cert = 1u << 30;
inline constexpr std::uint32_t remember_options = 1u << 31;

// What Causeway accepts from clients and asks of servers. SSL and COMPRESS are
// added to the greeting by configuration (client TLS, client_compression) and
// never asked of a server: the proxy speaks to servers uncompressed.
// The greeting clears long_password, as a MariaDB server does, to announce
// MariaDB's extended capabilities (mariadb_cap::proxy_offers).
inline constexpr std::uint32_t proxy_offers = long_password | found_rows | long_flag | connect_with_db | no_schema |
    odbc | local_files | ignore_space | protocol_41 | interactive | ignore_sigpipe | transactions | secure_connection |
    multi_statements | multi_results | ps_multi_results | plugin_auth | connect_attrs | plugin_auth_lenenc_data |
    can_handle_expired_passwords | session_track | deprecate_eof;
}   // namespace cap

// MariaDB's extended capabilities: a fourth capability word, exchanged in the
// greeting's and the response's reserved bytes when long_password is clear.
namespace mariadb_cap {
inline constexpr std::uint32_t progress = 1u << 0;
inline constexpr std::uint32_t com_multi = 1u << 1;
inline constexpr std::uint32_t stmt_bulk_operations = 1u << 2;   // COM_STMT_BULK_EXECUTE
inline constexpr std::uint32_t extended_metadata = 1u << 3;
inline constexpr std::uint32_t cache_metadata = 1u << 4;
// Relayed as is. Extended metadata (a JSON or UUID column's type, which Node
// mariadb and Connector/J 3 use) only adds fields to column definitions,
// which the proxy relays without reading. Not progress reports (packets the
// result-set state machine does not know), not metadata caching (a result
// could then depend on which backend saw the statement first).
inline constexpr std::uint32_t proxy_offers = stmt_bulk_operations | extended_metadata;
}   // namespace mariadb_cap

namespace server_status {
inline constexpr std::uint16_t in_trans = 0x0001;
inline constexpr std::uint16_t autocommit = 0x0002;
inline constexpr std::uint16_t more_results = 0x0008;
inline constexpr std::uint16_t cursor_exists = 0x0040;
inline constexpr std::uint16_t last_row_sent = 0x0080;
inline constexpr std::uint16_t in_trans_readonly = 0x2000;
inline constexpr std::uint16_t session_state_changed = 0x4000;
}   // namespace server_status

enum class command : std::uint8_t {
    sleep = 0x00,
    quit = 0x01,
    init_db = 0x02,
    query = 0x03,
    field_list = 0x04,
    create_db = 0x05,
    drop_db = 0x06,
    refresh = 0x07,
    shutdown = 0x08,
    statistics = 0x09,
    process_info = 0x0a,
    connect = 0x0b,
    process_kill = 0x0c,
    debug = 0x0d,
    ping = 0x0e,
    time = 0x0f,
    delayed_insert = 0x10,
    change_user = 0x11,
    binlog_dump = 0x12,
    table_dump = 0x13,
    connect_out = 0x14,
    register_slave = 0x15,
    stmt_prepare = 0x16,
    stmt_execute = 0x17,
    stmt_send_long_data = 0x18,
    stmt_close = 0x19,
    stmt_reset = 0x1a,
    set_option = 0x1b,
    stmt_fetch = 0x1c,
    daemon = 0x1d,
    binlog_dump_gtid = 0x1e,
    reset_connection = 0x1f,
    stmt_bulk_execute = 0xfa,
};

inline constexpr std::uint8_t ok_marker = 0x00;
inline constexpr std::uint8_t eof_marker = 0xfe;
inline constexpr std::uint8_t err_marker = 0xff;
inline constexpr std::uint8_t local_infile_marker = 0xfb;
inline constexpr std::uint8_t auth_switch_marker = 0xfe;
inline constexpr std::uint8_t auth_more_data_marker = 0x01;

// Session-state tracker types in an OK packet.
inline constexpr std::uint8_t track_system_variables = 0x00;

}   // namespace causeway::protocol
