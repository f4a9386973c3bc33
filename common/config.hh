// The configuration: one table of keys (config_keys()) is the single source of
// truth for names, types, defaults, ranges, reloadability and help. The parser
// (inih only tokenizes), `causewayd -t`, the man page and etc/causeway.ini are
// all checked against it. No libevent, no Boost here.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/address.hh"
#include "common/result.hh"

namespace causeway::common {

enum class routing_mode {
    bridge = 0,
    direct = 1,
    smartscale = 2
};
// The order of each enum is the order of its key's choices.
enum class session_id_kind {
    connection = 0,
    user = 1,
    database = 2,
    provided_in_dbname = 3
};
enum class tls_mode_kind {
    disabled = 0,
    allowed = 1,
    required = 2
};
// The order of backend_tls's choices.
enum class backend_tls_mode {
    off = 0,
    on = 1,   // TLS required, the certificate not checked
    verify = 2   // TLS required, signed by backend_tls_ca and naming the server's host
};
// When a client's replica connections go back to the pool: when it leaves, or
// after each statement that leaves nothing on them (pool_mode).
enum class pool_mode_kind {
    session,
    statement
};

enum class replica_selection {
    least_outstanding = 0,
    round_robin = 1
};

// Servers a config may list in all ([primary], [replicas], [servers]): the
// progress block has one entry per server plus the primary role.
inline constexpr std::size_t max_servers = 63;

struct backend_config {
    std::string name;   // "primary" or the replica's key in [replicas]
    address addr;
};

struct config {
    std::string file;   // where it was read from, for messages

    // [causeway]
    address listen;
    int workers = 2;
    int mode = int(routing_mode::smartscale);   // index into the key's choices
    int session_id = int(session_id_kind::connection);
    int session_id_fallback = int(session_id_kind::connection);
    int causal_wait_ms = 10;
    int switchover_wait_ms = 5000;
    int max_replica_lag_ms = 30000;
    bool primary_in_read_pool = false;
    int selection = int(replica_selection::least_outstanding);
    bool monotonic_reads = false;
    bool optimistic_transactions = true;
    int optimistic_max_statements = 100;
    int optimistic_max_bytes = 1 << 20;
    int pool_max_idle_per_server = 16;
    int pool_idle_timeout_s = 60;
    int pool_ping_after_s = 10;
    bool pool_change_user = false;
    int pool_mode = int(pool_mode_kind::session);   // index into session|statement
    int max_backend_connections_per_server = 0;   // 0: no limit
    int pool_wait_ms = 1000;
    std::string pid_file;
    int max_connections = 10000;
    std::string server_version;
    int connect_timeout_ms = 3000;
    int log_level = 6;   // syslog level: 3 err .. 7 debug
    std::string syslog_ident = "causeway";
    int syslog_facility = 0;   // index into the key's choices: daemon, local0..local7
    std::string shm_name;   // empty: derived from the listen port
    std::string shm_group;   // empty: the segment is mode 0600
    std::string run_user;   // `user`: drop root to it after start-up; empty: stay
    std::string users_file;
    bool users_from_primary = false;   // accounts loaded by the poller (shm/accounts.hh); [users] wins
    int users_refresh_s = 60;
    int users_capacity = 1024;   // accounts the segment holds (not reloadable)
    int shutdown_timeout_ms = 30000;
    address admin_listen;   // port 0: no admin endpoint
    std::string admin_user;   // empty: no authentication
    std::string admin_password_hash;   // crypt(3) hash of admin_user's password
    int admin_tls = 1;   // 1: HTTPS with the client TLS settings when they exist
    int tls_mode = int(tls_mode_kind::allowed);
    std::string tls_cert, tls_key, tls_ca;   // PEM files; no cert: no TLS
    int tls_min_version = 0;   // index into TLSv1.2|TLSv1.3
    std::string tls_ciphers, tls_ciphersuites;   // empty: OpenSSL's defaults
    // 1: CLIENT_COMPRESS is offered; off saves the worker's CPU (deflate per
    // reply) where the clients share a fast network with the proxy.
    int client_compression = 1;
    std::uint32_t max_packet = 1u << 20;   // commands read whole (routed); larger ones stream to the primary
    int handshake_timeout_ms = 10000;
    int auth_failures_before_delay = 5;
    int auth_failure_delay_ms = 1000;
    int backend_tls = int(backend_tls_mode::off);   // for every server without its own [backend_tls] line
    std::string backend_tls_ca;   // PEM CA bundle for backend_tls = verify
    int client_idle_timeout_s = 0;   // 0: clients may stay idle for ever
    int replica_read_timeout_ms = 0;   // 0: a replica read waits as long as the replica takes

    // [monitor] (the poller's credentials and rates)
    std::string monitor_user;
    std::string monitor_password;
    int poll_interval_ms = 10;
    int health_interval_ms = 1000;
    int progress_max_age_ms = 500;
    int session_table_size = 1048576;
    int max_gtid_domains = 32;   // at most shm::max_tracked_domains

    // [primary], [replicas], [servers], [users]. [primary] and [replicas] give
    // the starting roles only: the poller follows the servers' own state.
    backend_config primary;
    std::vector<backend_config> replicas;
    std::vector<backend_config> servers;   // listed without a role
    std::map<std::string, std::string> users;   // user -> password
    std::map<std::string, int> backend_tls_by_server;   // [backend_tls]: server name -> backend_tls_mode

    routing_mode routing() const { return routing_mode(mode); }
    session_id_kind session() const { return session_id_kind(session_id); }
    session_id_kind session_fallback() const { return session_id_kind(session_id_fallback); }
    tls_mode_kind tls() const { return tls_mode_kind(tls_mode); }
    // Clients are offered TLS: a certificate is configured and TLS is not disabled.
    bool tls_offered() const { return !tls_cert.empty() && tls() != tls_mode_kind::disabled; }
    // The TLS the connections to server `name` (a read_slots() name) use.
    backend_tls_mode backend_tls_for(const std::string& name) const;
    replica_selection selection_policy() const { return replica_selection(selection); }
    bool pool_per_statement() const { return pool_mode_kind(pool_mode) == pool_mode_kind::statement; }
    std::string effective_shm_name() const;
    // Every listed server in read-slot order (slot i + 1 is read_slots()[i]):
    // the replicas first (so slot 1 + i stays replica i), then the [primary]
    // server, then [servers]. Slot 0 is the role "current primary", not a server.
    std::vector<backend_config> read_slots() const;
    // The read slot of the server [primary] names.
    std::size_t primary_slot() const { return 1 + replicas.size(); }
};

enum class key_type {
    integer,
    string,
    choice,
    address,
    password,
    boolean,
    optional_address,   // an address, or empty for "off"
    syslog_level   // 0..7 or a syslog level name (err, warning, info, ...)
};

struct config_key {
    const char* section;
    const char* name;   // "*" for sections whose keys are names (replicas, users)
    key_type type;
    const char* default_value;   // as written in the file; "" for none
    long min = 0, max = 0;   // integers
    const char* choices = "";   // choice keys: "bridge|direct|smartscale"
    bool reloadable = true;   // false: a SIGHUP that changes it is refused for that key
    const char* help = "";
};

std::span<const config_key> config_keys();

// A syslog level from its number ("6") or name ("info", "warning", "err",
// "error", ...); -1 when it is neither.
int parse_syslog_level(std::string_view text);

// Reads and checks a file. Errors name "file:line: what is wrong"; checks that
// span keys (a primary, at least one user) name the file only.
result<config> load_config(const std::string& path);

// Same, from text (tests). `name` is used in messages.
result<config> parse_config_text(const std::string& text, const std::string& name);

// A users_file's content (`user = password` lines, no sections), as
// load_config reads the file it names (tests, fuzzing). `name` is used in
// messages.
result<std::map<std::string, std::string>> parse_users_text(const std::string& text, const std::string& name);

}   // namespace causeway::common
