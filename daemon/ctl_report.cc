// Text and JSON renderings of causewayctl's reports (see ctl_report.hh). The
// JSON keys are a stable interface for scripts (causewayctl(8) lists them);
// the text layout is for people and may change.
#include "daemon/ctl_report.hh"

#include <cstdio>

#include "daemon/ctl_output.hh"
#include "shm/counters.hh"

namespace causeway::daemon {

namespace {

std::string gtid_text(const protocol::gtid_position& p)
{
    return p.empty() ? "(empty)" : p.to_string();
}

std::string pid_text(pid_t pid, bool running)
{
    if (pid == 0) return "none";
    return "pid " + std::to_string(pid) + (running ? " (running)" : " (not running)");
}

std::string heartbeat_text(const std::optional<std::uint64_t>& age, bool fresh, int max_age_ms)
{
    if (!age) return "heartbeat never";
    std::string s = "heartbeat " + format_age(age) + " ago";
    if (!fresh) s += " (older than progress_max_age_ms = " + std::to_string(max_age_ms) + ": routing to the primary)";
    return s;
}

void json_table(json_writer& j, const table_view& t)
{
    j.field("occupied", t.occupied).field("capacity", t.capacity);
    j.key("fill_percent").value(t.fill, 3);
    j.field("floor_set", t.floor_set);
    j.field("floor", t.floor.to_string()).field("watermark", t.watermark.to_string());
    j.key("stats").begin_object();
    j.field("updates_full", t.updates_full).field("updates_overflow", t.updates_overflow);
    j.field("updates_untracked", t.updates_untracked).field("update_restarts", t.update_restarts);
    j.field("inline_reclaims", t.inline_reclaims);
    j.end_object();
    j.field("gtid_domains_tracked", t.domains_tracked).field("max_gtid_domains", t.domain_capacity);
}

void text_table_fields(text_fields& f, const table_view& t)
{
    f.add("sessions",
          format_count(t.occupied) + " of " + format_count(t.capacity) + " entries (" + format_percent(t.fill) + ")");
    f.add("floor", t.floor_set ? gtid_text(t.floor) : "not set (the poller has not polled the primary yet)");
    f.add("watermark", gtid_text(t.watermark));
    f.add("domains",
          format_count(t.domains_tracked) + " tracked of max_gtid_domains " + format_count(t.domain_capacity));
    f.add("table stats",
          "full " + format_count(t.updates_full) + ", overflow " + format_count(t.updates_overflow) +
              ", untracked domain " + format_count(t.updates_untracked) + ", restarts " +
              format_count(t.update_restarts) + ", inline reclaims " + format_count(t.inline_reclaims));
}

void json_poller(json_writer& j, const poller_view& p)
{
    j.begin_object();
    j.field("pid", std::int64_t(p.pid)).field("running", p.running).field("generation", p.generation);
    j.key("heartbeat_age_ms").value_ms(p.heartbeat_age_ns);
    j.field("heartbeat_fresh", p.heartbeat_fresh);
    j.field("polls", p.polls).field("poll_errors", p.poll_errors).field("rounds", p.rounds);
    j.field("reclaim_sweeps", p.reclaim_sweeps).field("reclaimed_entries", p.reclaimed_entries);
    j.field("reclaimed_spills", p.reclaimed_spills).field("table_occupied", p.table_occupied);
    j.field("primary_domains", p.primary_domains).field("replica_domains", p.replica_domains);
    j.field("domain_limit_polls", p.domain_limit_polls);
    j.key("users").begin_object();
    j.field("loaded", p.users.loaded).field("capacity", p.users_capacity).field("not_loaded", p.users.not_loaded);
    j.field("refreshes_ok", p.users.loads).field("refresh_failures", p.users.refresh_failures);
    j.field("forced_refreshes", p.users.forced_refreshes);
    j.field("last_refresh_ok", p.users.last_refresh_ok).field("last_refresh_unix_ns", p.users.last_refresh_realtime_ns);
    j.end_object();
    j.end_object();
}

// users_from_primary in one line: "12 of 1024 loaded, last refresh ..."
std::string users_text(const poller_view& p)
{
    const shm::accounts_stats& u = p.users;
    if (u.last_refresh_realtime_ns == 0) return "not loaded (users_from_primary off, or no refresh yet)";
    std::string out = format_count(u.loaded) + " of " + format_count(p.users_capacity) + " loaded";
    if (u.not_loaded) out += " (" + format_count(u.not_loaded) + " NOT loaded: past users_capacity or too long)";
    out += ", last refresh " + format_utc(u.last_refresh_realtime_ns, false) + (u.last_refresh_ok ? " ok" : " FAILED");
    out += ", " + format_count(u.loads) + " ok, " + format_count(u.refresh_failures) + " failed";
    if (u.forced_refreshes) out += ", " + format_count(u.forced_refreshes) + " early for refused logins";
    return out;
}

void json_counter_set(json_writer& j, const counter_set& c)
{
    j.key("counters").begin_object();
    for (std::size_t i = 0; i < c.values.size(); ++i) j.field(counter_set::names[i], c.values[i]);
    j.end_object();
    j.key("routed").begin_object();
    for (std::size_t r = 0; r < shm::route_reason_count; ++r)
        j.field(shm::route_reason_name(shm::route_reason(r)), c.routed[r]);
    j.end_object();
    j.key("commands").begin_object();
    for (std::size_t i = 0; i < shm::command_slots; ++i)
        if (c.commands[i]) j.field(shm::command_slot_name(i), c.commands[i]);
    j.end_object();
    j.key("refused").begin_object();
    for (std::size_t r = 0; r < shm::refuse_reason_count; ++r)
        j.field(shm::refuse_reason_name(shm::refuse_reason(r)), c.refused[r]);
    j.end_object();
    // Per bucket (not cumulative), with the bounds in microseconds; the last
    // bucket is above every bound.
    j.key("latency").begin_object();
    for (std::size_t k = 0; k < shm::latency_kind_count; ++k) {
        const counter_set::histogram& h = c.latency[k];
        j.key(shm::latency_kind_name(shm::latency_kind(k))).begin_object();
        j.field("count", h.count()).field("sum_us", h.sum_us);
        j.key("buckets").begin_array();
        for (std::uint64_t b : h.buckets) j.value(b);
        j.end_array();
        j.end_object();
    }
    j.end_object();
}

std::string bool_cell(bool b, bool applicable)
{
    return applicable ? yes_no(b) : "-";
}

void json_roles(json_writer& j, const roles_view& r)
{
    j.key("primary").begin_object();
    j.field("state", r.decision.ok ? shm::primary_state_name(r.decision.state) : "torn");
    j.field("server", r.primary_name).field("slot", std::uint64_t(r.decision.primary_slot));
    j.field("generation", r.decision.generation);
    j.field("changes", r.primary_changes).field("split_brain_decisions", r.split_brain_decisions);
    j.end_object();
}

std::string roles_text(const roles_view& r)
{
    if (!r.decision.ok) return "torn (the poller may have died mid-update)";
    std::string s = r.decision.has_primary() ? r.primary_name
        : r.primary_name.empty()             ? std::string("none")
                                             : "none (last: " + r.primary_name + ")";
    s += std::string(" (") + shm::primary_state_name(r.decision.state) + "), " + format_count(r.primary_changes) +
        " changes";
    if (r.split_brain_decisions) s += ", split brain seen in " + format_count(r.split_brain_decisions) + " rounds";
    return s;
}

}   // namespace

std::string format_status(const status_view& v, const report_context& ctx)
{
    const instance_view& in = v.instance;
    if (ctx.json) {
        json_writer j;
        j.begin_object();
        j.key("instance").begin_object();
        j.field("shm_name", in.shm_name).field("config_file", ctx.config_file);
        j.field("supervisor_pid", std::int64_t(in.supervisor_pid)).field("supervisor_running", in.supervisor_running);
        j.field("created", format_utc(in.created_realtime_ns, true));
        j.field("created_unix_ns", in.created_realtime_ns);
        j.key("uptime_s").value(in.uptime_ns ? double(*in.uptime_ns) / 1e9 : 0.0, 3);
        j.field("layout_version", in.layout_version).field("segment_bytes", in.segment_bytes);
        j.field("config_generation", in.config_generation);
        j.end_object();
        json_roles(j, v.roles);
        j.key("poller");
        json_poller(j, v.poller);
        j.key("workers").begin_array();
        for (const worker_view& w : v.workers) {
            j.begin_object();
            j.field("slot", std::uint64_t(w.slot)).field("pid", std::int64_t(w.pid)).field("running", w.running);
            j.field("generation", w.generation);
            j.field("connections_active", w.counters.get("connections_active"));
            j.field("connections_accepted", w.counters.get("connections_accepted"));
            j.field("queries", w.counters.get("queries_forwarded"));
            j.key("uptime_s").value(w.uptime_ns ? double(*w.uptime_ns) / 1e9 : 0.0, 3);
            j.end_object();
        }
        j.end_array();
        j.key("sessions").begin_object();
        json_table(j, v.table);
        j.end_object();
        j.end_object();
        return j.str();
    }

    text_fields f;
    f.add("instance", in.shm_name);
    f.add("config", ctx.config_file + ", generation " + std::to_string(in.config_generation));
    f.add("supervisor", pid_text(in.supervisor_pid, in.supervisor_running));
    f.add("created", format_utc(in.created_realtime_ns, false) + ", up " + format_age(in.uptime_ns));
    f.add("layout", "version " + std::to_string(in.layout_version) + ", " + format_bytes(in.segment_bytes));
    f.add("primary", roles_text(v.roles));
    f.add("poller",
          pid_text(v.poller.pid, v.poller.running) + ", " +
              heartbeat_text(v.poller.heartbeat_age_ns, v.poller.heartbeat_fresh, ctx.progress_max_age_ms));
    f.add("accounts", users_text(v.poller));
    text_table_fields(f, v.table);
    f.add("workers", v.workers.empty() ? "none" : std::to_string(v.workers.size()));
    std::string out = f.render();
    if (v.workers.empty()) return out;

    text_table t;
    t.column("SLOT", text_table::align::right);
    t.column("PID", text_table::align::right);
    t.column("RUNNING");
    t.column("GEN", text_table::align::right);
    t.column("ACTIVE", text_table::align::right);
    t.column("ACCEPTED", text_table::align::right);
    t.column("QUERIES", text_table::align::right);
    t.column("UP", text_table::align::right);
    for (const worker_view& w : v.workers)
        t.row({std::to_string(w.slot), std::to_string(w.pid), yes_no(w.running), std::to_string(w.generation),
               format_count(w.counters.get("connections_active")), format_count(w.counters.get("connections_accepted")),
               format_count(w.counters.get("queries_forwarded")), format_age(w.uptime_ns)});
    return out + "\n" + t.render();
}

std::string format_replicas(const replicas_view& v, const report_context& ctx)
{
    if (ctx.json) {
        json_writer j;
        j.begin_object();
        j.key("heartbeat_age_ms").value_ms(v.heartbeat_age_ns);
        j.field("heartbeat_fresh", v.heartbeat_fresh);
        j.field("floor_set", v.floor_set).field("floor", v.floor.to_string());
        json_roles(j, v.roles);
        j.key("backends").begin_array();
        for (const backend_view& b : v.backends) {
            const shm::progress_snapshot& s = b.progress;
            const bool replica = !b.is_primary();
            j.begin_object();
            j.field("index", std::uint64_t(b.index)).field("role", b.role());
            j.field("name", b.name).field("address", b.address);
            j.field("drained", b.drained);
            j.field("torn", b.torn || b.label_torn);
            if (b.torn) {
                j.field("state", "torn").field("usable", false);
                j.end_object();
                continue;
            }
            j.field("state", state_name(s.state)).field("usable", b.usable);
            j.field("identity_mismatch", b.identity_mismatch);
            j.field("gtid", s.position.to_string());
            j.key("behind").value(b.behind);
            j.key("advanced_age_ms").value_ms(b.advanced_age_ns);
            j.key("last_poll_age_ms").value_ms(b.poll_age_ns);
            j.key("poll_rtt_us").value_us(b.rtt_ns);
            j.key("io_running").value(replica ? std::optional<bool>(s.io_running) : std::nullopt);
            j.key("sql_running").value(replica ? std::optional<bool>(s.sql_running) : std::nullopt);
            j.field("read_only", s.read_only);
            j.field("replication_error", s.repl_error).field("lagging", s.lagging);
            j.field("polls", s.polls).field("poll_errors", s.poll_errors);
            j.field("last_error", std::uint64_t(s.last_error));
            if (!b.is_primary()) j.field("connections", b.connections);
            j.end_object();
        }
        j.end_array();
        j.end_object();
        return j.str();
    }

    text_fields f;
    f.add("poller", heartbeat_text(v.heartbeat_age_ns, v.heartbeat_fresh, ctx.progress_max_age_ms));
    f.add("floor", v.floor_set ? gtid_text(v.floor) : "not set");
    f.add("primary", roles_text(v.roles));
    std::string out = f.render() + "\n";

    text_table t;
    t.column("#", text_table::align::right);
    t.column("NAME");
    t.column("ROLE");
    t.column("ADDRESS");
    t.column("STATE");
    t.column("USABLE");
    t.column("GTID");
    t.column("BEHIND", text_table::align::right);
    t.column("ADVANCED", text_table::align::right);
    t.column("POLLED", text_table::align::right);
    t.column("RTT", text_table::align::right);
    t.column("IO");
    t.column("SQL");
    t.column("RO");
    t.column("POLLS", text_table::align::right);
    t.column("ERRORS", text_table::align::right);
    t.column("LAST ERROR", text_table::align::right);
    t.column("CONNS", text_table::align::right);
    bool mismatch = false;
    for (const backend_view& b : v.backends) {
        std::string name = b.label_torn ? "?" : b.name, address = b.label_torn ? "?" : b.address;
        if (b.torn) {
            t.row({std::to_string(b.index), name, b.role(), address, "torn", "no"});
            continue;
        }
        const shm::progress_snapshot& s = b.progress;
        const bool replica = !b.is_primary();
        std::string state = state_name(s.state);
        if (b.drained) state += ",drained";
        if (s.repl_error) state += ",repl_error";
        if (s.lagging) state += ",lagging";
        if (b.identity_mismatch) {
            state += "*";
            mismatch = true;
        }
        t.row({std::to_string(b.index), name, b.is_primary() ? "primary (role)" : b.role(), address, state,
               yes_no(b.usable), gtid_text(s.position), b.behind ? format_count(*b.behind) : "?",
               format_age(b.advanced_age_ns), format_age(b.poll_age_ns), format_rtt(b.rtt_ns),
               bool_cell(s.io_running, replica), bool_cell(s.sql_running, replica), yes_no(s.read_only),
               format_count(s.polls), format_count(s.poll_errors), s.last_error ? std::to_string(s.last_error) : "-",
               b.is_primary() ? "-" : format_count(b.connections)});
    }
    out += t.render();
    if (mismatch)
        out +=
            "\n* entry written for another backend: a reload changed the backends and the poller has not "
            "caught up\n";
    return out;
}

std::string format_sessions(const sessions_view& v, const report_context& ctx)
{
    if (ctx.json) {
        json_writer j;
        j.begin_object();
        j.field("count", v.table.occupied);
        json_table(j, v.table);
        j.field("spilled_buckets", std::uint64_t(v.spilled_buckets));
        j.field("limit", std::uint64_t(v.limit)).field("entries_listed", v.entries_listed);
        j.key("entries").begin_array();
        for (const session_row& r : v.entries) {
            j.begin_object();
            j.field("tag", std::uint64_t(r.tag)).field("overflow", r.overflow);
            j.field("gtid", r.position.to_string());
            j.field("ahead_of_watermark", transactions_behind(r.position, v.table.watermark));
            j.end_object();
        }
        j.end_array();
        j.end_object();
        return j.str();
    }

    text_fields f;
    text_table_fields(f, v.table);
    if (v.spilled_buckets)
        f.add("spilled",
              format_count(v.spilled_buckets) +
                  " buckets (their sessions are not listed and read from the primary until reclaimed)");
    if (!v.entries_listed) {
        f.add("entries", "not listed");
        return f.render();
    }
    std::string out = f.render() + "\n";
    if (v.entries.empty()) return out + "no session has a write in flight\n";
    text_table t;
    t.column("TAG", text_table::align::right);
    t.column("AHEAD", text_table::align::right);
    t.column("GTID");
    t.column("OVERFLOW");
    char tag[16];
    for (const session_row& r : v.entries) {
        std::snprintf(tag, sizeof tag, "%08x", r.tag);
        t.row({tag, format_count(transactions_behind(r.position, v.table.watermark)), gtid_text(r.position),
               yes_no(r.overflow)});
    }
    return out + t.render();
}

std::string format_counters(const counters_view& v, const report_context& ctx)
{
    if (ctx.json) {
        json_writer j;
        j.begin_object();
        j.key("workers").begin_array();
        for (const worker_view& w : v.workers) {
            j.begin_object();
            j.field("slot", std::uint64_t(w.slot)).field("pid", std::int64_t(w.pid)).field("running", w.running);
            j.field("generation", w.generation);
            json_counter_set(j, w.counters);
            j.end_object();
        }
        j.end_array();
        j.key("total").begin_object();
        json_counter_set(j, v.total);
        j.end_object();
        j.key("poller");
        json_poller(j, v.poller);
        j.key("supervisor").begin_object();
        j.field("reloads_ok", v.supervisor.reloads_ok).field("reloads_failed", v.supervisor.reloads_failed);
        j.field("worker_restarts", v.supervisor.worker_restarts);
        j.field("poller_restarts", v.supervisor.poller_restarts);
        j.field("admin_restarts", v.supervisor.admin_restarts);
        j.end_object();
        j.end_object();
        return j.str();
    }

    text_table t;
    t.column("COUNTER");
    t.column("TOTAL", text_table::align::right);
    for (const worker_view& w : v.workers)
        t.column("w" + std::to_string(w.slot) + ":" + std::to_string(w.pid), text_table::align::right);
    auto add_row = [&](const std::string& label, auto get) {
        std::vector<std::string> row{label, format_count(get(v.total))};
        for (const worker_view& w : v.workers) row.push_back(format_count(get(w.counters)));
        t.row(std::move(row));
    };
    for (std::size_t i = 0; i < counter_set::names.size(); ++i)
        add_row(counter_set::names[i], [i](const counter_set& c) { return c.values[i]; });
    t.row({"routed:"});
    for (std::size_t r = 0; r < shm::route_reason_count; ++r)
        add_row(std::string("  ") + shm::route_reason_name(shm::route_reason(r)),
                [r](const counter_set& c) { return c.routed[r]; });
    t.row({"commands:"});
    for (std::size_t i = 0; i < shm::command_slots; ++i)
        if (v.total.commands[i])
            add_row(std::string("  ") + shm::command_slot_name(i), [i](const counter_set& c) { return c.commands[i]; });
    t.row({"refused:"});
    for (std::size_t r = 0; r < shm::refuse_reason_count; ++r)
        add_row(std::string("  ") + shm::refuse_reason_name(shm::refuse_reason(r)),
                [r](const counter_set& c) { return c.refused[r]; });
    t.row({"latency:"});   // observations, then their sum in microseconds
    for (std::size_t k = 0; k < shm::latency_kind_count; ++k) {
        std::string name = std::string("  ") + shm::latency_kind_name(shm::latency_kind(k));
        add_row(name, [k](const counter_set& c) { return c.latency[k].count(); });
        add_row(name + "_us", [k](const counter_set& c) { return c.latency[k].sum_us; });
    }
    const poller_view& p = v.poller;
    text_fields f;
    f.add("poller", pid_text(p.pid, p.running) + ", generation " + std::to_string(p.generation));
    f.add("polls",
          format_count(p.polls) + " (" + format_count(p.poll_errors) + " failed) in " + format_count(p.rounds) +
              " rounds");
    f.add("reclaim",
          format_count(p.reclaim_sweeps) + " sweeps, " + format_count(p.reclaimed_entries) + " entries and " +
              format_count(p.reclaimed_spills) + " spills freed, " + format_count(p.table_occupied) +
              " entries in use at the last sweep");
    f.add("accounts", users_text(p));
    f.add("domains",
          format_count(p.primary_domains) + " on the primary, up to " + format_count(p.replica_domains) +
              " on a replica; " + format_count(p.domain_limit_polls) + " polls past max_gtid_domains");
    const supervisor_view& s = v.supervisor;
    f.add("reloads", format_count(s.reloads_ok) + " applied, " + format_count(s.reloads_failed) + " failed");
    f.add("restarts",
          format_count(s.worker_restarts) + " workers, " + format_count(s.poller_restarts) + " pollers, " +
              format_count(s.admin_restarts) + " admin");
    return t.render() + "\n" + f.render();
}

}   // namespace causeway::daemon
