// The config key table and the INI loader (see config.hh). inih tokenizes;
// this file types, range-checks and cross-checks, and counts lines so that
// every error names file:line.
#include "common/config.hh"

#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <charconv>
#include <cstring>
#include <set>
#include <utility>

#include "common/unique_fd.hh"

namespace causeway::common {

namespace {

const config_key keys[] = {
    {"causeway", "listen", key_type::address, "127.0.0.1:6446", 0, 0, "", false,
     "address clients connect to (host:port)"},
    {"causeway", "workers", key_type::integer, "2", 1, 256, "", true, "pre-spawned worker processes"},
    {"causeway", "mode", key_type::choice, "smartscale", 0, 0, "bridge|direct|smartscale", true,
     "smartscale: reads to replicas that have the session's writes; direct: reads to any replica; "
     "bridge: all to the primary"},
    {"causeway", "session_id", key_type::choice, "CONNECTION", 0, 0, "CONNECTION|USER|DATABASE|PROVIDED_IN_DBNAME",
     true, "what a session is: whose writes a read must see"},
    {"causeway", "session_id_fallback", key_type::choice, "CONNECTION", 0, 0, "CONNECTION|USER|DATABASE", true,
     "PROVIDED_IN_DBNAME: the session of clients that pass no id"},
    {"causeway", "causal_wait_ms", key_type::integer, "10", 0, 10000, "", true,
     "how long a read may wait for a replica to catch up before it goes to the primary (0: no wait)"},
    {"causeway", "switchover_wait_ms", key_type::integer, "5000", 0, 600000, "", true,
     "how long a write waits for a primary while the servers have none writable (a switchover) before it fails"},
    {"causeway", "max_replica_lag_ms", key_type::integer, "30000", 0, 86400000, "", true,
     "a replica that has not applied what the primary had this long ago serves no reads (0: no limit)"},
    {"causeway", "primary_in_read_pool", key_type::boolean, "off", 0, 0, "", true,
     "let the primary serve plain reads too"},
    {"causeway", "replica_selection", key_type::choice, "least_outstanding", 0, 0, "least_outstanding|round_robin",
     true, "how a replica is picked among those caught up"},
    {"causeway", "monotonic_reads", key_type::boolean, "off", 0, 0, "", true,
     "a session never reads from a replica behind one it already read from"},
    {"causeway", "optimistic_transactions", key_type::boolean, "on", 0, 0, "", true,
     "smartscale: a transaction runs on a replica until its first write, then is replayed on the primary"},
    {"causeway", "optimistic_max_statements", key_type::integer, "100", 1, 100000, "", true,
     "statements an optimistic transaction may run on a replica before it moves to the primary"},
    {"causeway", "optimistic_max_bytes", key_type::integer, "1048576", 1024, 1073741824, "", true,
     "bytes of statements an optimistic transaction may keep for its replay"},
    {"causeway", "pool_max_idle_per_server", key_type::integer, "16", 0, 100000, "", true,
     "idle backend connections a worker keeps per server for its next clients (0: none)"},
    {"causeway", "pool_idle_timeout_s", key_type::integer, "60", 1, 86400, "", true,
     "a pooled connection idle this long is closed"},
    {"causeway", "pool_ping_after_s", key_type::integer, "10", 0, 86400, "", true,
     "a pooled connection idle longer than this is checked with COM_PING before a client gets it (0: always)"},
    {"causeway", "pool_change_user", key_type::boolean, "off", 0, 0, "", true,
     "a client may take a pooled connection of another user, switched to its own with one COM_CHANGE_USER"},
    {"causeway", "pool_mode", key_type::choice, "session", 0, 0, "session|statement", true,
     "statement: a client's replica connections go back to the pool after each statement that leaves nothing on "
     "them; session: when the client leaves"},
    {"causeway", "max_backend_connections_per_server", key_type::integer, "0", 0, 1000000, "", true,
     "server connections all workers together may hold open per server, pooled ones included (0: no limit)"},
    {"causeway", "pool_wait_ms", key_type::integer, "1000", 0, 600000, "", true,
     "how long a client waits for a connection when its server is at max_backend_connections_per_server "
     "before it gets ERR 1040"},
    {"causeway", "pid_file", key_type::string, "/run/causeway/causeway.pid", 0, 0, "", false,
     "where causewayd writes its pid"},
    {"causeway", "max_connections", key_type::integer, "10000", 1, 1000000, "", true,
     "client connections of the whole instance (all workers) before new ones are refused"},
    {"causeway", "server_version", key_type::string, "", 0, 0, "", true,
     "version string sent to clients in the handshake; empty: the primary's own"},
    {"causeway", "connect_timeout_ms", key_type::integer, "3000", 1, 600000, "", true,
     "backend connect and login timeout"},
    {"causeway", "log_level", key_type::syslog_level, "info", 0, 7, "", true,
     "lowest level logged: a syslog level by name (err, warning, notice, info, debug) or number (0..7)"},
    {"causeway", "syslog_ident", key_type::string, "causeway", 0, 0, "", true,
     "syslog identity of every line (when not in the foreground)"},
    {"causeway", "syslog_facility", key_type::choice, "daemon", 0, 0,
     "daemon|local0|local1|local2|local3|local4|local5|local6|local7", true, "syslog facility"},
    {"causeway", "shm_name", key_type::string, "", 0, 0, "", false,
     "POSIX shared memory name (default /causeway-PORT)"},
    {"causeway", "user", key_type::string, "", 0, 0, "", false,
     "started as root: the user causewayd runs as once its ports, shared memory and pid file are made"},
    {"causeway", "shm_group", key_type::string, "", 0, 0, "", false,
     "group that may read the shared memory (mode 0640, for causewayctl); empty: mode 0600"},
    {"causeway", "users_file", key_type::string, "", 0, 0, "", true,
     "file of user = password lines (mode 0600), instead of [users]"},
    {"causeway", "users_from_primary", key_type::boolean, "off", 0, 0, "", true,
     "load the mysql_native_password accounts from the primary with the [monitor] login"},
    {"causeway", "users_refresh_s", key_type::integer, "60", 1, 86400, "", true,
     "how often users_from_primary loads the accounts again (and at once on SIGHUP)"},
    {"causeway", "users_capacity", key_type::integer, "1024", 16, 100000, "", false,
     "accounts users_from_primary can hold (shared memory is sized for it at start)"},
    {"causeway", "shutdown_timeout_ms", key_type::integer, "30000", 0, 3600000, "", true,
     "graceful stop: time old workers get to finish before they are killed"},
    {"causeway", "admin_listen", key_type::optional_address, "", 0, 0, "", false,
     "address of the HTTP endpoint for /metrics and /status (empty: off)"},
    {"causeway", "admin_user", key_type::string, "", 0, 0, "", true,
     "user the admin endpoint requires (HTTP basic authentication; empty: none)"},
    {"causeway", "admin_password_hash", key_type::password, "", 0, 0, "", true,
     "crypt(3) hash of admin_user's password (e.g. from mkpasswd or openssl passwd -6)"},
    {"causeway", "admin_tls", key_type::choice, "on", 0, 0, "off|on", true,
     "on: the admin endpoint serves HTTPS with the client TLS certificate when one is configured"},
    {"causeway", "tls_mode", key_type::choice, "allowed", 0, 0, "disabled|allowed|required", true,
     "client TLS: allowed offers it when tls_cert is set; required refuses clients that do not use it"},
    {"causeway", "tls_cert", key_type::string, "", 0, 0, "", true,
     "PEM certificate (chain) shown to clients; read again on SIGHUP"},
    {"causeway", "tls_key", key_type::string, "", 0, 0, "", true, "PEM private key of tls_cert"},
    {"causeway", "tls_ca", key_type::string, "", 0, 0, "", true,
     "PEM CA bundle: clients that present a certificate must present one it signed (empty: none asked)"},
    {"causeway", "tls_min_version", key_type::choice, "TLSv1.2", 0, 0, "TLSv1.2|TLSv1.3", true,
     "oldest TLS version accepted"},
    {"causeway", "tls_ciphers", key_type::string, "", 0, 0, "", true,
     "OpenSSL cipher list for TLS 1.2 (empty: OpenSSL's default)"},
    {"causeway", "tls_ciphersuites", key_type::string, "", 0, 0, "", true,
     "OpenSSL cipher suites for TLS 1.3 (empty: OpenSSL's default)"},
    {"causeway", "client_compression", key_type::choice, "on", 0, 0, "off|on", true,
     "on: the greeting offers the compressed protocol (CLIENT_COMPRESS) to clients"},
    {"causeway", "max_packet", key_type::integer, "1048576", 65536, 67108864, "", true,
     "client commands up to this size are read whole and routed; larger ones stream to the primary"},
    {"causeway", "handshake_timeout_ms", key_type::integer, "10000", 100, 3600000, "", true,
     "a client that has not logged in this long after connecting is closed"},
    {"causeway", "auth_failures_before_delay", key_type::integer, "5", 0, 1000000, "", true,
     "failed logins from one address within a minute before its next failures are answered slowly (0: always)"},
    {"causeway", "auth_failure_delay_ms", key_type::integer, "1000", 0, 60000, "", true,
     "how long such a failed login waits for its ERR (0: no delay)"},
    {"causeway", "backend_tls", key_type::choice, "off", 0, 0, "off|on|verify", true,
     "TLS to the servers (workers and poller): on requires it, verify also checks the certificate and name"},
    {"causeway", "backend_tls_ca", key_type::string, "", 0, 0, "", true,
     "PEM CA bundle that signed the servers' certificates (backend_tls = verify)"},
    {"causeway", "replica_read_timeout_ms", key_type::integer, "0", 0, 3600000, "", true,
     "a read a replica has not started answering this long is retried on the primary (0: never)"},
    {"causeway", "client_idle_timeout_s", key_type::integer, "0", 0, 31536000, "", true,
     "a logged-in client silent this long between statements is closed (0: never)"},
    {"monitor", "user", key_type::string, "", 0, 0, "", true, "the poller's login"},
    {"monitor", "password", key_type::password, "", 0, 0, "", true, "the poller's password"},
    {"monitor", "poll_interval_ms", key_type::integer, "10", 1, 60000, "", true,
     "how often replica positions are polled"},
    {"monitor", "health_interval_ms", key_type::integer, "1000", 10, 600000, "", true,
     "how often replication health is checked"},
    {"monitor", "progress_max_age_ms", key_type::integer, "500", 1, 600000, "", true,
     "progress older than this is treated as unknown"},
    {"monitor", "session_table_size", key_type::integer, "1048576", 1024, 1 << 26, "", false,
     "entries in the shared session table"},
    {"monitor", "max_gtid_domains", key_type::integer, "32", 1, 32, "", false,
     "GTID domains the session table tracks one by one; writes in others wait for a whole primary position"},
    {"primary", "address", key_type::address, "", 0, 0, "", true, "the primary (host:port)"},
    {"replicas", "*", key_type::address, "", 0, 0, "", true, "name = host:port, one per replica"},
    {"servers", "*", key_type::address, "", 0, 0, "", true,
     "name = host:port: a server listed without a starting role (it may be promoted)"},
    {"backend_tls", "*", key_type::choice, "", 0, 0, "off|on|verify", true,
     "name = off|on|verify: backend_tls for one server of [primary] (name primary), [replicas] or [servers]"},
    {"users", "*", key_type::password, "", 0, 0, "", true, "user = password"},
};

struct parse_state {
    config cfg;
    std::string name;
    int line = 0;   // counted by the reader below
    std::string error;   // first error, "file:line: ..."
    std::set<std::string> seen;   // "section.key" already set
    bool in_users_file = false;
};

bool fail(parse_state& st, const std::string& what)
{
    if (st.error.empty()) st.error = st.name + ":" + std::to_string(st.line) + ": " + what;
    return false;
}

const config_key* find_key(std::string_view section, std::string_view name)
{
    for (const auto& k : keys) {
        if (section != k.section) continue;
        if (std::strcmp(k.name, "*") == 0 || name == k.name) return &k;
    }
    return nullptr;
}

bool section_exists(std::string_view section)
{
    for (const auto& k : keys)
        if (section == k.section) return true;
    return false;
}

result<long> parse_integer(std::string_view v)
{
    long n = 0;
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (ec != std::errc() || end != v.data() + v.size()) return error{0, "not an integer"};
    return n;
}

bool assign(parse_state& st, const config_key& k, std::string_view name, std::string_view value)
{
    config& c = st.cfg;
    std::string key = std::string(k.section) + "." + std::string(name);
    if (!st.seen.insert(key).second) return fail(st, "'" + std::string(name) + "' set twice in [" + k.section + "]");

    long number = 0;
    int choice = -1;
    address addr;
    switch (k.type) {
        case key_type::integer: {
            auto n = parse_integer(value);
            if (!n || *n < k.min || *n > k.max)
                return fail(st,
                            std::string(k.name) + " = '" + std::string(value) + "': expected an integer in " +
                                std::to_string(k.min) + ".." + std::to_string(k.max));
            number = *n;
            break;
        }
        case key_type::choice: {
            std::string_view all = k.choices;
            int i = 0;
            for (size_t start = 0; start <= all.size(); ++i) {
                size_t bar = all.find('|', start);
                if (bar == std::string_view::npos) bar = all.size();
                if (all.substr(start, bar - start) == value) choice = i;
                start = bar + 1;
            }
            if (choice < 0)
                return fail(st, std::string(k.name) + " = '" + std::string(value) + "': expected one of " + k.choices);
            break;
        }
        case key_type::syslog_level: {
            number = parse_syslog_level(value);
            if (number < 0)
                return fail(st,
                            std::string(k.name) + " = '" + std::string(value) +
                                "': expected a syslog level (emerg alert crit err warning notice info debug, or 0..7)");
            break;
        }
        case key_type::optional_address:
            if (value.empty()) break;   // off
            [[fallthrough]];
        case key_type::address: {
            auto a = parse_address(value);
            if (!a) return fail(st, std::string(name) + ": " + a.err().message);
            addr = *a;
            break;
        }
        case key_type::boolean:
            if (value == "on" || value == "yes" || value == "true" || value == "1")
                number = 1;
            else if (value == "off" || value == "no" || value == "false" || value == "0")
                number = 0;
            else
                return fail(st, std::string(k.name) + " = '" + std::string(value) + "': expected on or off");
            break;
        case key_type::string:
        case key_type::password: break;
    }

    std::string_view s = k.section, n = k.name;
    std::string v(value);
    if (s == "replicas" || s == "servers") {
        for (auto& r : c.read_slots())
            if (r.addr == addr || r.name == name)
                return fail(
                    st, "server '" + std::string(name) + "' repeats " + (r.name == name ? r.name : addr.to_string()));
        (s == "replicas" ? c.replicas : c.servers).push_back({std::string(name), addr});
    } else if (s == "users") {
        c.users[std::string(name)] = v;
    } else if (s == "backend_tls") {
        c.backend_tls_by_server[std::string(name)] = choice;
    } else if (s == "primary") {
        for (auto& r : c.read_slots())
            if (r.addr == addr) return fail(st, "[primary] repeats server '" + r.name + "' (" + addr.to_string() + ")");
        c.primary = {"primary", addr};
    } else if (s == "monitor") {
        if (n == "user")
            c.monitor_user = v;
        else if (n == "password")
            c.monitor_password = v;
        else if (n == "poll_interval_ms")
            c.poll_interval_ms = int(number);
        else if (n == "health_interval_ms")
            c.health_interval_ms = int(number);
        else if (n == "progress_max_age_ms")
            c.progress_max_age_ms = int(number);
        else if (n == "session_table_size")
            c.session_table_size = int(number);
        else if (n == "max_gtid_domains")
            c.max_gtid_domains = int(number);
    } else {
        if (n == "listen")
            c.listen = addr;
        else if (n == "workers")
            c.workers = int(number);
        else if (n == "mode")
            c.mode = choice;
        else if (n == "session_id")
            c.session_id = choice;
        else if (n == "session_id_fallback")
            c.session_id_fallback = choice;
        else if (n == "causal_wait_ms")
            c.causal_wait_ms = int(number);
        else if (n == "switchover_wait_ms")
            c.switchover_wait_ms = int(number);
        else if (n == "max_replica_lag_ms")
            c.max_replica_lag_ms = int(number);
        else if (n == "primary_in_read_pool")
            c.primary_in_read_pool = number != 0;
        else if (n == "replica_selection")
            c.selection = choice;
        else if (n == "monotonic_reads")
            c.monotonic_reads = number != 0;
        else if (n == "optimistic_transactions")
            c.optimistic_transactions = number != 0;
        else if (n == "optimistic_max_statements")
            c.optimistic_max_statements = int(number);
        else if (n == "optimistic_max_bytes")
            c.optimistic_max_bytes = int(number);
        else if (n == "pool_max_idle_per_server")
            c.pool_max_idle_per_server = int(number);
        else if (n == "pool_idle_timeout_s")
            c.pool_idle_timeout_s = int(number);
        else if (n == "pool_change_user")
            c.pool_change_user = number != 0;
        else if (n == "pool_mode")
            c.pool_mode = choice;
        else if (n == "pool_ping_after_s")
            c.pool_ping_after_s = int(number);
        else if (n == "max_backend_connections_per_server")
            c.max_backend_connections_per_server = int(number);
        else if (n == "pool_wait_ms")
            c.pool_wait_ms = int(number);
        else if (n == "pid_file")
            c.pid_file = v;
        else if (n == "max_connections")
            c.max_connections = int(number);
        else if (n == "server_version")
            c.server_version = v;
        else if (n == "connect_timeout_ms")
            c.connect_timeout_ms = int(number);
        else if (n == "log_level")
            c.log_level = int(number);
        else if (n == "syslog_ident")
            c.syslog_ident = v;
        else if (n == "syslog_facility")
            c.syslog_facility = choice;
        else if (n == "admin_listen")
            c.admin_listen = addr;
        else if (n == "admin_user")
            c.admin_user = v;
        else if (n == "admin_password_hash")
            c.admin_password_hash = v;
        else if (n == "admin_tls")
            c.admin_tls = choice;
        else if (n == "client_compression")
            c.client_compression = choice;
        else if (n == "shm_name")
            c.shm_name = v;
        else if (n == "user")
            c.run_user = v;
        else if (n == "shm_group")
            c.shm_group = v;
        else if (n == "users_file")
            c.users_file = v;
        else if (n == "users_from_primary")
            c.users_from_primary = number != 0;
        else if (n == "users_refresh_s")
            c.users_refresh_s = int(number);
        else if (n == "users_capacity")
            c.users_capacity = int(number);
        else if (n == "shutdown_timeout_ms")
            c.shutdown_timeout_ms = int(number);
        else if (n == "tls_mode")
            c.tls_mode = choice;
        else if (n == "backend_tls")
            c.backend_tls = choice;
        else if (n == "backend_tls_ca")
            c.backend_tls_ca = v;
        else if (n == "tls_cert")
            c.tls_cert = v;
        else if (n == "tls_key")
            c.tls_key = v;
        else if (n == "tls_ca")
            c.tls_ca = v;
        else if (n == "tls_min_version")
            c.tls_min_version = choice;
        else if (n == "tls_ciphers")
            c.tls_ciphers = v;
        else if (n == "tls_ciphersuites")
            c.tls_ciphersuites = v;
        else if (n == "max_packet")
            c.max_packet = std::uint32_t(number);
        else if (n == "handshake_timeout_ms")
            c.handshake_timeout_ms = int(number);
        else if (n == "auth_failures_before_delay")
            c.auth_failures_before_delay = int(number);
        else if (n == "auth_failure_delay_ms")
            c.auth_failure_delay_ms = int(number);
        else if (n == "replica_read_timeout_ms")
            c.replica_read_timeout_ms = int(number);
        else if (n == "client_idle_timeout_s")
            c.client_idle_timeout_s = int(number);
    }
    return true;
}

int on_entry(void* user, const char* section, const char* name, const char* value)
{
    auto& st = *static_cast<parse_state*>(user);
    if (!st.error.empty()) return 0;
    if (st.in_users_file) {
        if (*section) return fail(st, "users file: no sections expected, got [" + std::string(section) + "]");
        st.seen.erase("users." + std::string(name));
        if (st.cfg.users.count(name)) return fail(st, "user '" + std::string(name) + "' set twice");
        st.cfg.users[name] = value;
        return 1;
    }
    if (!name) {   // a section header ([x] with no keys yet): inih calls with name == NULL only if INI_CALL_HANDLER_ON_NEW_SECTION
        if (!section_exists(section)) return fail(st, "unknown section [" + std::string(section) + "]");
        return 1;
    }
    if (!*section) return fail(st, "'" + std::string(name) + "' is outside any section");
    if (!section_exists(section)) return fail(st, "unknown section [" + std::string(section) + "]");
    const config_key* k = find_key(section, name);
    if (!k) return fail(st, "unknown key '" + std::string(name) + "' in [" + section + "]");
    return assign(st, *k, name, value) ? 1 : 0;
}

// inih reads through this, one line per call, which lets us count lines (the
// Debian build of inih does not pass line numbers to the handler).
struct line_source {
    FILE* file = nullptr;
    const char* text = nullptr;
    parse_state* st = nullptr;
};

char* read_line(char* str, int num, void* stream)
{
    auto& src = *static_cast<line_source*>(stream);
    char* out = nullptr;
    if (src.file) {
        out = fgets(str, num, src.file);
    } else if (*src.text) {
        const char* nl = strchr(src.text, '\n');
        size_t len = nl ? size_t(nl - src.text + 1) : strlen(src.text);
        if (len > size_t(num - 1)) len = size_t(num - 1);
        memcpy(str, src.text, len);
        str[len] = '\0';
        src.text += len;
        out = str;
    }
    if (out) ++src.st->line;
    return out;
}

// The table's defaults, through the same typed assignment as the file's values.
void apply_defaults(parse_state& st)
{
    for (const auto& k : keys)
        if (*k.default_value && std::strcmp(k.name, "*") != 0) assign(st, k, k.name, k.default_value);
    st.seen.clear();   // a default does not count as "set" for the set-twice check
}

status check_whole(const parse_state& st)
{
    const config& c = st.cfg;
    if (c.primary.addr.port == 0) return error{0, st.name + ": [primary] address is required"};
    if (c.users.empty() && !c.users_from_primary)
        return error{0, st.name + ": no users: add a [users] section or users_file, or set users_from_primary = on"};
    if (c.users_from_primary && c.monitor_user.empty())
        return error{
            0, st.name + ": users_from_primary needs [monitor] user and password: the accounts are read with them"};
    if (c.read_slots().size() > max_servers)
        return error{
            0,
            st.name + ": more than " + std::to_string(max_servers) + " servers in [primary], [replicas] and [servers]"};
    if (c.poll_interval_ms > c.progress_max_age_ms)
        return error{0,
                     st.name + ": poll_interval_ms (" + std::to_string(c.poll_interval_ms) +
                         ") must not exceed progress_max_age_ms (" + std::to_string(c.progress_max_age_ms) + ")"};
    if (c.admin_user.empty() != c.admin_password_hash.empty())
        return error{0, st.name + ": admin_user and admin_password_hash go together: set both or neither"};
    if (c.tls_cert.empty() != c.tls_key.empty())
        return error{0, st.name + ": tls_cert and tls_key go together: set both or neither"};
    if (c.tls() == tls_mode_kind::required && c.tls_cert.empty())
        return error{0, st.name + ": tls_mode = required needs tls_cert and tls_key"};
    if (!c.tls_ca.empty() && c.tls_cert.empty())
        return error{0, st.name + ": tls_ca (client certificates) needs tls_cert and tls_key"};
    for (const auto& [name, mode] : c.backend_tls_by_server) {
        bool listed = false;
        for (const auto& b : c.read_slots()) listed = listed || b.name == name;
        if (!listed) return error{0, st.name + ": [backend_tls] names '" + name + "', which is no listed server"};
    }
    bool verifies = c.backend_tls == int(backend_tls_mode::verify);
    for (const auto& [name, mode] : c.backend_tls_by_server)
        verifies = verifies || mode == int(backend_tls_mode::verify);
    if (verifies && c.backend_tls_ca.empty())
        return error{
            0, st.name + ": backend_tls = verify needs backend_tls_ca (the CA that signed the servers' certificates)"};
    if (c.routing() != routing_mode::bridge && c.monitor_user.empty())
        return error{0,
                     st.name + ": mode = " + (c.routing() == routing_mode::direct ? "direct" : "smartscale") +
                         " needs [monitor] user and password: replica progress is read with them"};
    return {};
}

// A users file's `user = password` lines (no sections), from `file` or else
// `text`; its own parse state, so that errors name its lines.
result<std::map<std::string, std::string>> parse_users(FILE* file, const char* text, const std::string& name)
{
    parse_state ust;
    ust.name = name;
    ust.in_users_file = true;
    line_source src{file, text, &ust};
    int urc = ini_parse_stream(read_line, &src, on_entry, &ust);
    if (!ust.error.empty()) return error{0, ust.error};
    if (urc > 0) return error{0, name + ":" + std::to_string(urc) + ": syntax error (expected user = password)"};
    return std::move(ust.cfg.users);
}

result<config> finish(parse_state& st, int rc)
{
    if (!st.error.empty()) return error{0, st.error};
    if (rc > 0)
        return error{0, st.name + ":" + std::to_string(rc) + ": syntax error (expected [section] or key = value)"};
    if (rc < 0) return error{0, st.name + ": cannot read"};
    if (!st.cfg.users_file.empty()) {
        if (!st.cfg.users.empty()) return error{0, st.name + ": use either [users] or users_file, not both"};
        const std::string& path = st.cfg.users_file;
        const std::string what = st.name + ": users_file " + path;
        // Opened first and checked through the descriptor (nothing can swap
        // the file between the check and the read), without blocking: a FIFO
        // there must not hang a start or a reload.
        unique_fd fd(open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
        if (!fd) return sys_error(what, errno);
        struct stat sb;
        if (fstat(fd.get(), &sb) != 0) return sys_error(what, errno);
        if (!S_ISREG(sb.st_mode)) return error{0, what + ": not a regular file"};
        // Whoever owns it can give any user any password: root or causewayd's own user only.
        if (sb.st_uid != 0 && sb.st_uid != geteuid())
            return error{0,
                         path + ": owned by uid " + std::to_string(sb.st_uid) +
                             ", not by root or the user causewayd runs as; run chown root " + path};
        if (sb.st_mode & (S_IRGRP | S_IROTH | S_IWGRP | S_IWOTH)) {
            char mode[8];   // octal, as chmod takes it (it read "mode 420" for 0644)
            snprintf(mode, sizeof mode, "%04o", unsigned(sb.st_mode & 0777));
            return error{0, path + ": group or others may read it (mode " + mode + "); run chmod 600 " + path};
        }
        FILE* f = fdopen(fd.get(), "r");
        if (!f) return sys_error(what, errno);
        fd.release();   // the FILE owns it now
        auto users = parse_users(f, nullptr, path);
        fclose(f);
        if (!users) return users.err();
        st.cfg.users = std::move(*users);
    }
    if (auto s = check_whole(st); !s) return s.err();
    return st.cfg;
}

}   // namespace

std::span<const config_key> config_keys()
{
    return keys;
}

int parse_syslog_level(std::string_view text)
{
    // syslog(3)'s names, plus the spellings operators also write.
    static constexpr std::pair<std::string_view, int> names[] = {
        {"emerg", LOG_EMERG}, {"alert", LOG_ALERT},     {"crit", LOG_CRIT},    {"err", LOG_ERR},
        {"error", LOG_ERR},   {"warning", LOG_WARNING}, {"warn", LOG_WARNING}, {"notice", LOG_NOTICE},
        {"info", LOG_INFO},   {"debug", LOG_DEBUG},
    };
    for (const auto& [name, level] : names)
        if (text == name) return level;
    if (text.size() == 1 && text[0] >= '0' && text[0] <= '7') return text[0] - '0';
    return -1;
}

std::vector<backend_config> config::read_slots() const
{
    std::vector<backend_config> all = replicas;
    if (primary.addr.port != 0) all.push_back(primary);
    all.insert(all.end(), servers.begin(), servers.end());
    return all;
}

backend_tls_mode config::backend_tls_for(const std::string& name) const
{
    auto it = backend_tls_by_server.find(name);
    return backend_tls_mode(it == backend_tls_by_server.end() ? backend_tls : it->second);
}

std::string config::effective_shm_name() const
{
    if (!shm_name.empty()) return shm_name;
    return "/causeway-" + std::to_string(listen.port);
}

namespace {
result<config> parse(FILE* file, const char* text, const std::string& name)
{
    parse_state st;
    st.name = name;
    apply_defaults(st);
    st.cfg.file = name;
    line_source src{file, text, &st};
    int rc = ini_parse_stream(read_line, &src, on_entry, &st);
    return finish(st, rc);
}
}   // namespace

result<config> parse_config_text(const std::string& text, const std::string& name)
{
    return parse(nullptr, text.c_str(), name);
}

result<std::map<std::string, std::string>> parse_users_text(const std::string& text, const std::string& name)
{
    return parse_users(nullptr, text.c_str(), name);
}

result<config> load_config(const std::string& path)
{
    FILE* f = fopen(path.c_str(), "r");
    if (!f) return sys_error("open " + path, errno);
    auto c = parse(f, nullptr, path);
    fclose(f);
    return c;
}

}   // namespace causeway::common
