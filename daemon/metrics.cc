// Rendering the instance's shared-memory facts as Prometheus metrics (see
// metrics.hh). Numbers come from the views ctl_view.cc builds, so /metrics,
// /status and causewayctl agree; this file only names and converts them
// (nanoseconds and microseconds to seconds, states to 0/1 gauges).
#include "daemon/metrics.hh"

#include <unistd.h>

#include <array>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "daemon/prom_text.hh"
#include "shm/counters.hh"

namespace causeway::daemon {

namespace {

// Every family /metrics may serve. Counters end in _total; units are seconds
// and bytes (Prometheus conventions, checked by promtool in t/23-metrics.t).
constexpr metric_family families[] = {
    {"causeway_info", "gauge", "always 1; labels: version, shm_name, layout_version"},
    {"causeway_start_time_seconds", "gauge", "when the instance (its shared memory) was created, Unix time"},
    {"causeway_config_generation", "gauge", "configuration generation: 1 at start, +1 per applied reload"},
    {"causeway_workers", "gauge", "worker processes running"},
    {"causeway_reloads_total", "counter",
     "SIGHUP reloads by result (ok: the new generation took over; failed: bad file, TLS setup or start failed)"},
    {"causeway_process_restarts_total", "counter",
     "worker, poller or admin processes respawned after an unexpected exit"},
    // Worker counters, summed over every worker slot (see worker_counter_family()).
    {"causeway_client_connections", "gauge", "client connections open"},
    {"causeway_client_connections_accepted_total", "counter", "client connections accepted"},
    {"causeway_client_connections_refused_total", "counter",
     "client connections refused for lack of room (max_connections, out of descriptors)"},
    {"causeway_client_auth_failures_total", "counter", "client logins refused"},
    {"causeway_commands_forwarded_total", "counter", "client commands forwarded to a backend"},
    {"causeway_client_received_bytes_total", "counter", "bytes received from clients"},
    {"causeway_client_sent_bytes_total", "counter", "bytes sent to clients"},
    {"causeway_backend_connect_failures_total", "counter", "backend connections that failed to open or log in"},
    {"causeway_protocol_errors_total", "counter", "malformed packets from clients or servers"},
    {"causeway_causal_waits_total", "counter", "reads that waited for a replica to catch up"},
    {"causeway_causal_wait_seconds_total", "counter", "time reads spent waiting for a replica to catch up"},
    {"causeway_position_fences_total", "counter",
     "reads that first learned the primary's position (a commit reported none)"},
    {"causeway_optimistic_started_total", "counter", "transactions started on a replica (optimistic_transactions)"},
    {"causeway_optimistic_completed_total", "counter", "optimistic transactions that ended on their replica"},
    {"causeway_optimistic_migrated_total", "counter",
     "optimistic transactions moved to the primary at their first write, with the same answers there"},
    {"causeway_optimistic_conflicts_total", "counter",
     "optimistic transactions whose answers differed on the primary: ERR 1213"},
    {"causeway_optimistic_primary_wrote_total", "counter",
     "transactions run on the primary from the start: the session's previous transaction wrote"},
    {"causeway_optimistic_primary_unrepeatable_total", "counter",
     "transactions run on the primary from the start: their first statement's answer cannot be repeated"},
    {"causeway_optimistic_primary_temporary_total", "counter",
     "transactions run on the primary from the start: the session has temporary tables"},
    {"causeway_optimistic_primary_write_first_total", "counter",
     "transactions run on the primary from the start: a write before any read"},
    {"causeway_client_tls_connections_total", "counter", "client connections that upgraded to TLS"},
    {"causeway_client_tls_failures_total", "counter", "client TLS handshakes or records that failed"},
    {"causeway_handshake_timeouts_total", "counter", "clients closed for not logging in within handshake_timeout_ms"},
    {"causeway_auth_delays_total", "counter", "logins answered late after repeated failures from their address"},
    {"causeway_accept_pauses_total", "counter", "times a worker paused accepting for lack of file descriptors"},
    {"causeway_pool_reuses_total", "counter", "backend connections taken from the pool instead of a new login"},
    {"causeway_switch_retries_total", "counter",
     "autocommit writes the old primary refused as read-only during a switchover, run on the next primary"},
    {"causeway_backend_tls_failures_total", "counter",
     "backend logins that failed for TLS: not offered by the server, handshake or certificate check"},
    {"causeway_backend_limit_waits_total", "counter",
     "clients that waited for a connection to a server at max_backend_connections_per_server"},
    {"causeway_backend_limit_wait_seconds_total", "counter", "time clients spent in those waits"},
    {"causeway_backend_limit_refusals_total", "counter",
     "commands or logins refused with ERR 1040 after pool_wait_ms at max_backend_connections_per_server"},
    {"causeway_backend_limit_rerouted_total", "counter",
     "reads sent to the primary because their replica was at max_backend_connections_per_server"},
    {"causeway_pool_evictions_total", "counter", "idle pooled connections closed to make room under the limit"},
    {"causeway_pool_pings_total", "counter",
     "pooled connections checked with COM_PING before reuse (idle past pool_ping_after_s)"},
    {"causeway_pool_dead_total", "counter", "pooled connections that failed that check: dropped, another used"},
    {"causeway_pool_user_changes_total", "counter",
     "pooled connections of another user taken with COM_CHANGE_USER (pool_change_user)"},
    {"causeway_pool_statement_releases_total", "counter",
     "replica connections given back to the pool between statements (pool_mode = statement)"},
    {"causeway_idle_timeouts_total", "counter", "clients closed after client_idle_timeout_s without a command"},
    {"causeway_replica_read_timeouts_total", "counter",
     "reads retried on the primary because their replica did not start answering within replica_read_timeout_ms"},
    {"causeway_compressed_connections_total", "counter",
     "client connections that logged in with the compressed protocol (CLIENT_COMPRESS)"},
    {"causeway_compression_errors_total", "counter",
     "client connections closed for a bad compressed frame (deflate data, or a declared length too large)"},
    {"causeway_routed_total", "counter",
     "client commands by the backend they went to (target) and why (reason, as causewayctl counters names it)"},
    {"causeway_commands_total", "counter", "client commands received, by command (query, stmt_execute, ...)"},
    {"causeway_client_refusals_total", "counter",
     "client connections closed before or at login, by reason (max_connections, auth_failure, ...)"},
    {"causeway_causal_wait_duration_seconds", "histogram",
     "how long reads waited for a replica to catch up (each wait, however it ended)"},
    {"causeway_read_duration_seconds", "histogram",
     "reads from the statement's send to the backend (target) to the end of its answer"},
    // Replica-progress block, one series per backend.
    {"causeway_backend_info", "gauge", "always 1; labels: backend, role, address"},
    {"causeway_backend_state", "gauge", "1 for the backend's state as the poller last saw it, 0 for the others"},
    {"causeway_backend_usable", "gauge", "1 when routing may use the backend now (fresh progress, up, at the floor)"},
    {"causeway_backend_connections", "gauge",
     "server connections the workers hold open to the server, pooled ones included"},
    {"causeway_backend_gtid_seqno", "gauge", "GTID sequence number the backend has reached, per domain"},
    {"causeway_backend_transactions_behind", "gauge",
     "transactions the backend must still apply to reach the primary's position"},
    {"causeway_backend_poll_rtt_seconds", "gauge", "round trip of the last good poll"},
    {"causeway_backend_last_poll_age_seconds", "gauge", "time since the last good poll"},
    {"causeway_backend_advanced_age_seconds", "gauge", "time since the backend's position last moved"},
    {"causeway_backend_polls_total", "counter", "polls answered (reset when the poller restarts)"},
    {"causeway_backend_poll_errors_total", "counter", "polls failed or late (reset when the poller restarts)"},
    {"causeway_backend_replication_running", "gauge", "replicas: 1 when the replication thread (io, sql) runs"},
    {"causeway_backend_read_only", "gauge", "1 when the server has read_only set"},
    {"causeway_backend_last_error", "gauge", "MySQL error code or errno of the last failed poll, 0 after a good one"},
    {"causeway_backend_drained", "gauge", "1 when an operator drained the server (causewayctl drain)"},
    {"causeway_backend_replication_error", "gauge", "1 when the server's replication stopped on an error"},
    {"causeway_backend_lagging", "gauge", "1 when the server is behind by more than max_replica_lag_ms"},
    // The primary role.
    {"causeway_primary_state", "gauge", "1 for the primary role's state (up, read_only, down, split_brain, unknown)"},
    {"causeway_primary_changes_total", "counter", "times another server became the primary"},
    {"causeway_split_brain_decisions_total", "counter", "poll rounds that found two or more writable servers"},
    // Poller.
    {"causeway_poller_running", "gauge", "1 when the poller process runs"},
    {"causeway_poller_heartbeat_age_seconds", "gauge", "time since the poller's last round"},
    {"causeway_poller_heartbeat_fresh", "gauge", "1 when the heartbeat is within progress_max_age_ms"},
    {"causeway_poller_rounds_total", "counter", "poll rounds"},
    {"causeway_poller_polls_total", "counter", "polls answered, all backends"},
    {"causeway_poller_poll_errors_total", "counter", "polls failed or late, all backends"},
    // users_from_primary.
    {"causeway_users_loaded", "gauge", "accounts loaded from the primary (users_from_primary)"},
    {"causeway_users_capacity", "gauge", "accounts the shared memory holds (users_capacity)"},
    {"causeway_users_not_loaded", "gauge",
     "accounts of the last load not stored: past users_capacity or a user or host name too long"},
    {"causeway_users_refresh_total", "counter", "loads of the accounts from the primary, by result (ok, failed)"},
    {"causeway_users_forced_refresh_total", "counter",
     "loads started early because a login the loaded accounts refused asked for one"},
    {"causeway_users_last_refresh_time_seconds", "gauge", "when the accounts were last loaded or tried, Unix time"},
    {"causeway_users_last_refresh_ok", "gauge", "1 when the last load of the accounts succeeded"},
    // Session table.
    {"causeway_session_table_entries", "gauge", "session entries in use (sessions with writes in flight)"},
    {"causeway_session_table_capacity", "gauge", "session entries the table holds"},
    {"causeway_session_floor_set", "gauge", "1 once the floor is set from the primary's first poll"},
    {"causeway_session_floor_seqno", "gauge", "the floor every replica read requires, per GTID domain"},
    {"causeway_session_watermark_seqno", "gauge", "what every live replica has applied, per GTID domain"},
    {"causeway_session_reclaim_sweeps_total", "counter", "full passes of the poller over the session table"},
    {"causeway_session_reclaimed_total", "counter", "session entries reclaimed by the poller"},
    {"causeway_session_spills_reclaimed_total", "counter", "spilled buckets reclaimed by the poller"},
    {"causeway_session_updates_full_total", "counter", "session updates that found no room (spilled)"},
    {"causeway_session_updates_overflow_total", "counter", "session updates with a GTID domain that did not fit"},
    {"causeway_session_updates_untracked_total", "counter",
     "session updates with a GTID domain past max_gtid_domains (tracked by the epoch)"},
    {"causeway_gtid_domains_tracked", "gauge", "GTID domains the session table tracks one by one"},
    {"causeway_gtid_domains_max", "gauge", "max_gtid_domains: the most it can track one by one"},
    {"causeway_gtid_domains_primary", "gauge", "GTID domains in the primary's gtid_binlog_pos at the last poll"},
    {"causeway_gtid_domains_replica", "gauge", "the most GTID domains a replica's gtid_slave_pos had at its last poll"},
    {"causeway_gtid_domain_limit_polls_total", "counter", "polls that found more GTID domains than max_gtid_domains"},
    {"causeway_session_update_restarts_total", "counter", "session updates that raced with a reclaim"},
    {"causeway_session_inline_reclaims_total", "counter", "entries freed by workers whose buckets were full"},
    // Processes.
    {"causeway_processes", "gauge", "live processes, by role"},
    {"causeway_process_cpu_seconds_total", "counter",
     "user and system CPU time of the processes of a role, those that exited included"},
    {"causeway_process_resident_memory_bytes", "gauge", "resident memory of the live processes of a role"},
};

// counter_set::names -> family; wait_us is scaled to seconds.
constexpr std::pair<const char*, const char*> worker_counters[] = {
    {"connections_active", "causeway_client_connections"},
    {"connections_accepted", "causeway_client_connections_accepted_total"},
    {"connections_refused", "causeway_client_connections_refused_total"},
    {"auth_failures", "causeway_client_auth_failures_total"},
    {"queries_forwarded", "causeway_commands_forwarded_total"},
    {"bytes_in", "causeway_client_received_bytes_total"},
    {"bytes_out", "causeway_client_sent_bytes_total"},
    {"backend_connect_failures", "causeway_backend_connect_failures_total"},
    {"protocol_errors", "causeway_protocol_errors_total"},
    {"waits", "causeway_causal_waits_total"},
    {"wait_us", "causeway_causal_wait_seconds_total"},
    {"position_fences", "causeway_position_fences_total"},
    {"optimistic_started", "causeway_optimistic_started_total"},
    {"optimistic_completed", "causeway_optimistic_completed_total"},
    {"optimistic_migrated", "causeway_optimistic_migrated_total"},
    {"optimistic_conflicts", "causeway_optimistic_conflicts_total"},
    {"optimistic_primary_wrote", "causeway_optimistic_primary_wrote_total"},
    {"optimistic_primary_unrepeatable", "causeway_optimistic_primary_unrepeatable_total"},
    {"optimistic_primary_temporary", "causeway_optimistic_primary_temporary_total"},
    {"optimistic_primary_write_first", "causeway_optimistic_primary_write_first_total"},
    {"tls_connections", "causeway_client_tls_connections_total"},
    {"tls_failures", "causeway_client_tls_failures_total"},
    {"handshake_timeouts", "causeway_handshake_timeouts_total"},
    {"auth_delays", "causeway_auth_delays_total"},
    {"accept_pauses", "causeway_accept_pauses_total"},
    {"pool_reuses", "causeway_pool_reuses_total"},
    {"switch_retries", "causeway_switch_retries_total"},
    {"backend_tls_failures", "causeway_backend_tls_failures_total"},
    {"limit_waits", "causeway_backend_limit_waits_total"},
    {"limit_wait_us", "causeway_backend_limit_wait_seconds_total"},
    {"limit_refusals", "causeway_backend_limit_refusals_total"},
    {"limit_rerouted", "causeway_backend_limit_rerouted_total"},
    {"pool_evictions", "causeway_pool_evictions_total"},
    {"pool_pings", "causeway_pool_pings_total"},
    {"pool_dead", "causeway_pool_dead_total"},
    {"pool_user_changes", "causeway_pool_user_changes_total"},
    {"pool_statement_releases", "causeway_pool_statement_releases_total"},
    {"idle_timeouts", "causeway_idle_timeouts_total"},
    {"replica_read_timeouts", "causeway_replica_read_timeouts_total"},
    {"compressed_connections", "causeway_compressed_connections_total"},
    {"compression_errors", "causeway_compression_errors_total"},
};

const metric_family& family(std::string_view name)
{
    for (const metric_family& f : families)
        if (name == f.name) return f;
    std::abort();   // a name missing from the table is a programming error (metrics_test renders them all)
}

void begin(prom_writer& w, std::string_view name)
{
    const metric_family& f = family(name);
    w.begin(f.name, f.type, f.help);
}

double seconds(std::uint64_t ns)
{
    return double(ns) / 1e9;
}

std::uint64_t flag(bool b)
{
    return b ? 1 : 0;
}

void instance_metrics(prom_writer& w, const metrics_input& in)
{
    const instance_view& i = in.instance;
    std::string layout = std::to_string(i.layout_version);
    begin(w, "causeway_info");
    w.sample({{"version", CAUSEWAY_VERSION}, {"shm_name", i.shm_name}, {"layout_version", layout}}, std::uint64_t(1));
    begin(w, "causeway_start_time_seconds");
    if (i.created_realtime_ns) w.sample_double(seconds(i.created_realtime_ns));
    begin(w, "causeway_config_generation");
    w.sample(i.config_generation);
    std::uint64_t running = 0;
    for (const worker_view& v : in.counters.workers) running += flag(v.running);
    begin(w, "causeway_workers");
    w.sample(running);
}

// The histogram bounds as Prometheus wants them: seconds.
std::array<double, shm::latency_bounds> latency_bounds_seconds()
{
    std::array<double, shm::latency_bounds> b{};
    for (std::size_t i = 0; i < b.size(); ++i) b[i] = double(shm::latency_bound_us[i]) / 1e6;
    return b;
}

void histogram_metrics(prom_writer& w, const counter_set& total)
{
    static const auto bounds = latency_bounds_seconds();
    auto one = [&](std::initializer_list<prom_label> labels, shm::latency_kind k) {
        const counter_set::histogram& h = total.latency[std::size_t(k)];
        w.histogram(labels, bounds, h.buckets, double(h.sum_us) / 1e6);
    };
    begin(w, "causeway_causal_wait_duration_seconds");
    one({}, shm::latency_kind::causal_wait);
    begin(w, "causeway_read_duration_seconds");
    one({{"target", "replica"}}, shm::latency_kind::read_replica);
    one({{"target", "primary"}}, shm::latency_kind::read_primary);
}

void worker_metrics(prom_writer& w, const counter_set& total)
{
    for (std::size_t i = 0; i < counter_set::names.size(); ++i) {
        const metric_family* f = worker_counter_family(counter_set::names[i]);
        if (!f) continue;   // a counter added to the segment before its metric (metrics_test catches it)
        w.begin(f->name, f->type, f->help);
        std::string_view name = counter_set::names[i];
        if (name.size() >= 3 && name.substr(name.size() - 3) == "_us")   // wait_us, limit_wait_us
            w.sample_double(double(total.values[i]) / 1e6);
        else
            w.sample(total.values[i]);
    }
    begin(w, "causeway_routed_total");
    for (std::size_t r = 0; r < shm::route_reason_count; ++r) {
        std::string_view reason = shm::route_reason_name(shm::route_reason(r));
        std::string_view target = reason.substr(0, reason.find('_'));   // "replica" or "primary"
        w.sample({{"target", target}, {"reason", reason}}, total.routed[r]);
    }
    // Every command a client may send, so that a rate query has its series
    // before the first one arrives; slots past reset_connection only once used.
    begin(w, "causeway_commands_total");
    for (std::size_t i = 0; i < shm::command_slots; ++i)
        if (i <= 0x1f || total.commands[i]) w.sample({{"command", shm::command_slot_name(i)}}, total.commands[i]);
    begin(w, "causeway_client_refusals_total");
    for (std::size_t r = 0; r < shm::refuse_reason_count; ++r)
        w.sample({{"reason", shm::refuse_reason_name(shm::refuse_reason(r))}}, total.refused[r]);
    histogram_metrics(w, total);
}

void supervisor_metrics(prom_writer& w, const supervisor_view& s)
{
    begin(w, "causeway_reloads_total");
    w.sample({{"result", "ok"}}, s.reloads_ok);
    w.sample({{"result", "failed"}}, s.reloads_failed);
    begin(w, "causeway_process_restarts_total");
    w.sample({{"role", "worker"}}, s.worker_restarts);
    w.sample({{"role", "poller"}}, s.poller_restarts);
    w.sample({{"role", "admin"}}, s.admin_restarts);
}

// Each backend family in turn, one sample per backend (the format wants a
// family's samples together).
void backend_metrics(prom_writer& w, const replicas_view& v)
{
    auto each = [&](const char* name, auto emit) {
        begin(w, name);
        for (const backend_view& b : v.backends) {
            // One series per server; entry 0 (the role) repeats the primary's.
            if (b.label_torn || b.is_primary()) continue;
            emit(b, b.role());
        }
    };
    auto each_clean = [&](const char* name, auto emit) {
        each(name, [&](const backend_view& b, const char* role) {
            if (!b.torn) emit(b, role);
        });
    };
    each("causeway_backend_info", [&](const backend_view& b, const char* role) {
        w.sample({{"backend", b.name}, {"role", role}, {"address", b.address}}, std::uint64_t(1));
    });
    each("causeway_backend_state", [&](const backend_view& b, const char* role) {
        for (shm::backend_state s : {shm::backend_state::up, shm::backend_state::down,
                                     shm::backend_state::replication_stopped, shm::backend_state::unknown})
            w.sample({{"backend", b.name}, {"role", role}, {"state", state_name(s)}},
                     flag(!b.torn && b.progress.state == s));
    });
    each("causeway_backend_usable", [&](const backend_view& b, const char* role) {
        w.sample({{"backend", b.name}, {"role", role}}, flag(b.usable));
    });
    each("causeway_backend_connections", [&](const backend_view& b, const char* role) {
        if (!b.is_primary()) w.sample({{"backend", b.name}, {"role", role}}, b.connections);
    });
    each_clean("causeway_backend_gtid_seqno", [&](const backend_view& b, const char* role) {
        for (const protocol::gtid& g : b.progress.position) {
            std::string domain = std::to_string(g.domain);
            w.sample({{"backend", b.name}, {"role", role}, {"domain", domain}}, g.seqno);
        }
    });
    each_clean("causeway_backend_transactions_behind", [&](const backend_view& b, const char* role) {
        if (b.behind) w.sample({{"backend", b.name}, {"role", role}}, *b.behind);
    });
    auto age = [&](const char* name, std::optional<std::uint64_t> backend_view::*field) {
        each_clean(name, [&](const backend_view& b, const char* role) {
            if (b.*field) w.sample({{"backend", b.name}, {"role", role}}, seconds(*(b.*field)));
        });
    };
    age("causeway_backend_poll_rtt_seconds", &backend_view::rtt_ns);
    age("causeway_backend_last_poll_age_seconds", &backend_view::poll_age_ns);
    age("causeway_backend_advanced_age_seconds", &backend_view::advanced_age_ns);
    each_clean("causeway_backend_polls_total", [&](const backend_view& b, const char* role) {
        w.sample({{"backend", b.name}, {"role", role}}, b.progress.polls);
    });
    each_clean("causeway_backend_poll_errors_total", [&](const backend_view& b, const char* role) {
        w.sample({{"backend", b.name}, {"role", role}}, b.progress.poll_errors);
    });
    each_clean("causeway_backend_replication_running", [&](const backend_view& b, const char* role) {
        if (b.is_primary()) return;
        w.sample({{"backend", b.name}, {"role", role}, {"thread", "io"}}, flag(b.progress.io_running));
        w.sample({{"backend", b.name}, {"role", role}, {"thread", "sql"}}, flag(b.progress.sql_running));
    });
    each_clean("causeway_backend_read_only", [&](const backend_view& b, const char* role) {
        w.sample({{"backend", b.name}, {"role", role}}, flag(b.progress.read_only));
    });
    each_clean("causeway_backend_last_error", [&](const backend_view& b, const char* role) {
        w.sample({{"backend", b.name}, {"role", role}}, std::uint64_t(b.progress.last_error));
    });
    each_clean("causeway_backend_drained", [&](const backend_view& b, const char* role) {
        w.sample({{"backend", b.name}, {"role", role}}, flag(b.drained));
    });
    each_clean("causeway_backend_replication_error", [&](const backend_view& b, const char* role) {
        w.sample({{"backend", b.name}, {"role", role}}, flag(b.progress.repl_error));
    });
    each_clean("causeway_backend_lagging", [&](const backend_view& b, const char* role) {
        w.sample({{"backend", b.name}, {"role", role}}, flag(b.progress.lagging));
    });
    const shm::role_snapshot& d = v.roles.decision;
    begin(w, "causeway_primary_state");
    for (shm::primary_state s : {shm::primary_state::up, shm::primary_state::read_only, shm::primary_state::down,
                                 shm::primary_state::split_brain, shm::primary_state::unknown})
        w.sample({{"state", shm::primary_state_name(s)}}, flag(d.ok && d.state == s));
    begin(w, "causeway_primary_changes_total");
    w.sample(v.roles.primary_changes);
    begin(w, "causeway_split_brain_decisions_total");
    w.sample(v.roles.split_brain_decisions);
}

void poller_metrics(prom_writer& w, const poller_view& p)
{
    begin(w, "causeway_poller_running");
    w.sample(flag(p.running));
    begin(w, "causeway_poller_heartbeat_age_seconds");
    if (p.heartbeat_age_ns) w.sample_double(seconds(*p.heartbeat_age_ns));
    begin(w, "causeway_poller_heartbeat_fresh");
    w.sample(flag(p.heartbeat_fresh));
    begin(w, "causeway_poller_rounds_total");
    w.sample(p.rounds);
    begin(w, "causeway_poller_polls_total");
    w.sample(p.polls);
    begin(w, "causeway_poller_poll_errors_total");
    w.sample(p.poll_errors);
    begin(w, "causeway_users_loaded");
    w.sample(p.users.loaded);
    begin(w, "causeway_users_capacity");
    w.sample(p.users_capacity);
    begin(w, "causeway_users_not_loaded");
    w.sample(p.users.not_loaded);
    begin(w, "causeway_users_refresh_total");
    w.sample({{"result", "ok"}}, p.users.loads);
    w.sample({{"result", "failed"}}, p.users.refresh_failures);
    begin(w, "causeway_users_forced_refresh_total");
    w.sample(p.users.forced_refreshes);
    begin(w, "causeway_users_last_refresh_time_seconds");
    if (p.users.last_refresh_realtime_ns) w.sample_double(double(p.users.last_refresh_realtime_ns) / 1e9);
    begin(w, "causeway_users_last_refresh_ok");
    w.sample(flag(p.users.last_refresh_ok));
}

void per_domain(prom_writer& w, const char* name, const protocol::gtid_position& pos)
{
    begin(w, name);
    for (const protocol::gtid& g : pos) {
        std::string domain = std::to_string(g.domain);
        w.sample({{"domain", domain}}, g.seqno);
    }
}

void table_metrics(prom_writer& w, const table_view& t, const poller_view& p)
{
    auto one = [&](const char* name, std::uint64_t v) {
        begin(w, name);
        w.sample(v);
    };
    one("causeway_session_table_entries", t.occupied);
    one("causeway_session_table_capacity", t.capacity);
    one("causeway_session_floor_set", flag(t.floor_set));
    if (t.floor_set) per_domain(w, "causeway_session_floor_seqno", t.floor);
    per_domain(w, "causeway_session_watermark_seqno", t.watermark);
    one("causeway_session_reclaim_sweeps_total", p.reclaim_sweeps);
    one("causeway_session_reclaimed_total", p.reclaimed_entries);
    one("causeway_session_spills_reclaimed_total", p.reclaimed_spills);
    one("causeway_session_updates_full_total", t.updates_full);
    one("causeway_session_updates_overflow_total", t.updates_overflow);
    one("causeway_session_updates_untracked_total", t.updates_untracked);
    one("causeway_gtid_domains_tracked", t.domains_tracked);
    one("causeway_gtid_domains_max", t.domain_capacity);
    one("causeway_gtid_domains_primary", p.primary_domains);
    one("causeway_gtid_domains_replica", p.replica_domains);
    one("causeway_gtid_domain_limit_polls_total", p.domain_limit_polls);
    one("causeway_session_update_restarts_total", t.update_restarts);
    one("causeway_session_inline_reclaims_total", t.inline_reclaims);
}

void process_metrics(prom_writer& w, const std::vector<role_usage>& roles)
{
    begin(w, "causeway_processes");
    for (const role_usage& r : roles) w.sample({{"role", r.role}}, std::uint64_t(r.processes));
    begin(w, "causeway_process_cpu_seconds_total");
    for (const role_usage& r : roles) w.sample({{"role", r.role}}, r.cpu_seconds);
    begin(w, "causeway_process_resident_memory_bytes");
    for (const role_usage& r : roles) w.sample({{"role", r.role}}, r.resident_bytes);
}

void add_usage(role_usage& r, pid_t pid, std::optional<proc_usage> (*usage)(pid_t))
{
    auto u = usage(pid);
    if (!u) return;   // exited since the segment named it
    ++r.processes;
    r.cpu_seconds += u->cpu_seconds;
    r.resident_bytes += u->resident_bytes;
}

}   // namespace

std::span<const metric_family> metric_families()
{
    return families;
}

const metric_family* worker_counter_family(const char* counter_name)
{
    for (const auto& [counter, metric] : worker_counters)
        if (std::strcmp(counter, counter_name) == 0) return &family(metric);
    return nullptr;
}

std::span<const std::pair<const char*, const char*>> worker_counter_metrics()
{
    return worker_counters;
}

metrics_input read_metrics(const shm::segment& seg, const ctl_env& env, int max_age_ms, pid_t admin_pid,
                           std::optional<proc_usage> (*usage)(pid_t))
{
    metrics_input in;
    in.instance = read_instance(seg, env);
    in.table = read_table(seg);
    in.counters = read_counters(seg, env, max_age_ms);
    in.replicas = read_replicas(seg, env, max_age_ms);
    role_usage sup{"supervisor"}, workers{"worker"}, poller{"poller"}, admin{"admin"};
    if (in.instance.supervisor_running) add_usage(sup, in.instance.supervisor_pid, usage);
    for (const worker_view& v : in.counters.workers)
        if (v.running) add_usage(workers, v.pid, usage);
    if (in.counters.poller.running) add_usage(poller, in.counters.poller.pid, usage);
    add_usage(admin, admin_pid, usage);
    // What exited processes used stays counted (reaped by the supervisor).
    const auto& exited = in.counters.supervisor.exited_cpu_us;
    workers.cpu_seconds += double(exited[0]) / 1e6;
    poller.cpu_seconds += double(exited[1]) / 1e6;
    admin.cpu_seconds += double(exited[2]) / 1e6;
    in.roles = {sup, workers, poller, admin};
    return in;
}

std::string format_metrics(const metrics_input& in)
{
    prom_writer w;
    instance_metrics(w, in);
    supervisor_metrics(w, in.counters.supervisor);
    worker_metrics(w, in.counters.total);
    backend_metrics(w, in.replicas);
    poller_metrics(w, in.counters.poller);
    table_metrics(w, in.table, in.counters.poller);
    process_metrics(w, in.roles);
    return w.str();
}

}   // namespace causeway::daemon
