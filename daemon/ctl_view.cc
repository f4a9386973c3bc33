// Reading the segment for causewayctl (see ctl_view.hh). Only loads: the
// mapping is read-only. Counters are relaxed loads (each has one writer and
// may be a few increments old); progress entries and labels go through their
// seqlocks and are retried a while before being reported torn.
#include "daemon/ctl_view.hh"

#include <time.h>

#include <algorithm>

#include "common/address.hh"
#include "common/clock.hh"
#include "shm/counters.hh"
#include "shm/session_table.hh"

namespace causeway::daemon {

namespace {

bool pid_running_proc(pid_t pid)
{
    return pid > 0 && shm::process_start_ticks(pid) != 0;
}

void pause_1ms()
{
    timespec ts{0, 1000000};
    nanosleep(&ts, nullptr);
}

constexpr std::uint64_t ms_ns = 1000000;

// A clean copy of one entry, trying again after a pause: a poller that died
// mid-write leaves the entry odd until its successor writes it.
shm::progress_snapshot read_entry(const shm::progress_block& block, std::size_t i, const ctl_env& env, bool& torn)
{
    for (int round = 0; round <= env.torn_retries; ++round) {
        shm::progress_snapshot s = block.read(i);
        if (s.ok) {
            torn = false;
            return s;
        }
        if (round < env.torn_retries && env.pause) env.pause();
    }
    torn = true;
    return shm::progress_snapshot{};
}

bool read_label(const shm::progress_block& block, std::size_t i, const ctl_env& env, std::string& name,
                std::string& address)
{
    for (int round = 0; round <= env.torn_retries; ++round) {
        if (block.label(i, name, address)) return true;
        if (round < env.torn_retries && env.pause) env.pause();
    }
    name.clear();
    address.clear();
    return false;
}

// Does the entry describe the backend the label names? backend_identity() is
// computed from the config entry, which the label reproduces (name, address
// text); a label whose address was truncated cannot be checked and passes.
bool identity_matches(std::uint64_t entry_id, const std::string& name, const std::string& address)
{
    if (entry_id == 0) return true;   // never written
    auto addr = common::parse_address(address);
    if (!addr) return true;
    common::backend_config b{name, *addr};
    if (b.addr.to_string() != address) return true;
    return shm::backend_identity(b) == entry_id;
}

counter_set read_worker_counters(const shm::worker_counters& w, const shm::worker_stats& s, const shm::backend_usage& u)
{
    counter_set c;
    const shm::word* plain[counter_set::names.size()] = {
        &w.connections_active,
        &w.connections_accepted,
        &w.connections_refused,
        &w.auth_failures,
        &w.queries_forwarded,
        &w.bytes_in,
        &w.bytes_out,
        &w.backend_connect_failures,
        &w.protocol_errors,
        &w.waits,
        &w.wait_us,
        &w.position_fences,
        &w.optimistic_started,
        &w.optimistic_completed,
        &w.optimistic_migrated,
        &w.optimistic_conflicts,
        &w.optimistic_primary_wrote,
        &w.optimistic_primary_unrepeatable,
        &w.optimistic_primary_temporary,
        &w.optimistic_primary_write_first,
        &w.tls_connections,
        &w.tls_failures,
        &w.handshake_timeouts,
        &w.auth_delays,
        &w.accept_pauses,
        &w.pool_reuses,
        &w.switch_retries,
        &w.backend_tls_failures,
        &u.limit_waits,
        &u.limit_wait_us,
        &u.limit_refusals,
        &u.limit_rerouted,
        &u.pool_evictions,
        &u.pool_pings,
        &u.pool_dead,
        &u.pool_user_changes,
        &u.pool_statement_releases,
        &w.idle_timeouts,
        &w.replica_read_timeouts,
        &w.compressed_connections,
        &w.compression_errors,
    };
    for (std::size_t i = 0; i < c.values.size(); ++i) c.values[i] = shm::read(*plain[i]);
    for (std::size_t r = 0; r < shm::route_reason_count; ++r) c.routed[r] = shm::read(w.routed[r]);
    for (std::size_t k = 0; k < shm::latency_kind_count; ++k) {
        for (std::size_t b = 0; b < c.latency[k].buckets.size(); ++b)
            c.latency[k].buckets[b] = shm::read(s.latency[k].bucket[b]);
        c.latency[k].sum_us = shm::read(s.latency[k].sum_us);
    }
    for (std::size_t i = 0; i < shm::command_slots; ++i) c.commands[i] = shm::read(s.commands[i]);
    for (std::size_t i = 0; i < shm::refuse_reason_count; ++i) c.refused[i] = shm::read(s.refused[i]);
    return c;
}

std::vector<worker_view> read_workers(const shm::segment& seg, const ctl_env& env, std::uint64_t now,
                                      counter_set* total)
{
    std::vector<worker_view> out;
    for (std::size_t slot = 0; slot < shm::max_worker_slots; ++slot) {
        const shm::worker_counters& w = *seg.worker(slot);
        counter_set c = read_worker_counters(w, *seg.stats(slot), *seg.usage(slot));
        if (total) total->add(c);
        std::uint64_t pid = shm::read(w.pid);
        if (pid == 0) continue;
        worker_view v;
        v.slot = slot;
        v.pid = pid_t(pid);
        v.running = env.pid_running(v.pid);
        v.generation = shm::read(w.generation);
        v.uptime_ns = age_ns(now, shm::read(w.started_ns));
        v.counters = c;
        out.push_back(std::move(v));
    }
    return out;
}

}   // namespace

ctl_env real_ctl_env()
{
    ctl_env env;
    env.monotonic_ns = common::monotonic_ns;
    env.realtime_ns = common::realtime_ns;
    env.pid_running = pid_running_proc;
    env.pause = pause_1ms;
    return env;
}

std::optional<std::uint64_t> age_ns(std::uint64_t now, std::uint64_t then)
{
    if (then == 0) return std::nullopt;
    return then >= now ? 0 : now - then;
}

std::uint64_t transactions_behind(const protocol::gtid_position& primary, const protocol::gtid_position& replica)
{
    std::uint64_t sum = 0;
    for (const protocol::gtid& g : primary) {
        std::uint64_t have = replica.seqno(g.domain);
        if (g.seqno <= have) continue;
        std::uint64_t d = g.seqno - have;
        sum = d > UINT64_MAX - sum ? UINT64_MAX : sum + d;
    }
    return sum;
}

double fill_percent(std::uint64_t occupied, std::uint64_t capacity)
{
    return capacity == 0 ? 0.0 : 100.0 * double(occupied) / double(capacity);
}

const char* state_name(shm::backend_state s)
{
    switch (s) {
        case shm::backend_state::up: return "up";
        case shm::backend_state::down: return "down";
        case shm::backend_state::replication_stopped: return "replication_stopped";
        case shm::backend_state::unknown: break;
    }
    return "unknown";
}

bool replicas_view::any_torn() const noexcept
{
    return std::any_of(backends.begin(), backends.end(), [](const backend_view& b) { return b.torn || b.label_torn; });
}

std::uint64_t counter_set::get(const char* name) const noexcept
{
    std::string_view n(name);
    for (std::size_t i = 0; i < names.size(); ++i)
        if (n == names[i]) return values[i];
    for (std::size_t r = 0; r < shm::route_reason_count; ++r)
        if (n == shm::route_reason_name(shm::route_reason(r))) return routed[r];
    return 0;
}

std::uint64_t counter_set::histogram::count() const noexcept
{
    std::uint64_t n = 0;
    for (std::uint64_t b : buckets) n += b;
    return n;
}

void counter_set::add(const counter_set& o) noexcept
{
    for (std::size_t k = 0; k < latency.size(); ++k) {
        for (std::size_t b = 0; b < latency[k].buckets.size(); ++b) latency[k].buckets[b] += o.latency[k].buckets[b];
        latency[k].sum_us += o.latency[k].sum_us;
    }
    for (std::size_t i = 0; i < commands.size(); ++i) commands[i] += o.commands[i];
    for (std::size_t i = 0; i < refused.size(); ++i) refused[i] += o.refused[i];
    for (std::size_t i = 0; i < values.size(); ++i) values[i] += o.values[i];
    for (std::size_t r = 0; r < routed.size(); ++r) routed[r] += o.routed[r];
}

namespace {

// A row with how far it is ahead of the watermark, computed once.
struct ranked_row {
    std::uint64_t ahead = 0;
    session_row row;
};

bool ranks_before(const ranked_row& a, const ranked_row& b)
{
    if (a.ahead != b.ahead) return a.ahead > b.ahead;
    return a.row.tag < b.row.tag;
}

ranked_row rank(session_row&& r, const protocol::gtid_position& watermark)
{
    // How far a session is ahead of the watermark is how far the replicas are behind it.
    std::uint64_t ahead = transactions_behind(r.position, watermark);
    return ranked_row{ahead, std::move(r)};
}

// Keeps the best n of `kept` (in no particular order).
void keep_best(std::vector<ranked_row>& kept, std::size_t n)
{
    if (kept.size() <= n) return;
    std::nth_element(kept.begin(), kept.begin() + std::ptrdiff_t(n), kept.end(), ranks_before);
    kept.erase(kept.begin() + std::ptrdiff_t(n), kept.end());
}

std::vector<session_row> best_sorted(std::vector<ranked_row>& kept, std::size_t n)
{
    keep_best(kept, n);
    std::sort(kept.begin(), kept.end(), ranks_before);
    std::vector<session_row> out;
    out.reserve(kept.size());
    for (ranked_row& k : kept) out.push_back(std::move(k.row));
    return out;
}

}   // namespace

std::vector<session_row> furthest_behind(std::vector<session_row> rows, const protocol::gtid_position& watermark,
                                         std::size_t n)
{
    std::vector<ranked_row> kept;
    kept.reserve(rows.size());
    for (auto& r : rows) kept.push_back(rank(std::move(r), watermark));
    return best_sorted(kept, n);
}

std::vector<session_row> furthest_behind(const shm::session_table& table, const protocol::gtid_position& watermark,
                                         std::size_t n, std::size_t chunk_buckets)
{
    if (n == 0 || table.buckets() == 0) return {};
    chunk_buckets = std::clamp<std::size_t>(chunk_buckets, 1, table.buckets());
    std::vector<session_row> chunk;
    std::vector<ranked_row> kept;
    for (std::size_t first = 0; first < table.buckets(); first += chunk_buckets) {
        chunk.clear();
        table.copy_entries(first, std::min(chunk_buckets, table.buckets() - first), chunk);
        for (auto& r : chunk) kept.push_back(rank(std::move(r), watermark));
        // Pruned only once twice the keep: linear overall, whatever n is.
        if (kept.size() / 2 >= n) keep_best(kept, n);
    }
    return best_sorted(kept, n);
}

instance_view read_instance(const shm::segment& seg, const ctl_env& env)
{
    const shm::segment_header& h = seg.header();
    instance_view v;
    v.shm_name = seg.name();
    v.segment_bytes = seg.size();
    v.layout_version = h.layout_version.load(std::memory_order_relaxed);
    v.supervisor_pid = pid_t(h.creator_pid.load(std::memory_order_relaxed));
    v.supervisor_running = seg.creator_alive();
    v.created_realtime_ns = h.created_realtime_ns;
    v.uptime_ns = age_ns(env.realtime_ns(), h.created_realtime_ns);
    v.config_generation = h.config_generation.load(std::memory_order_relaxed);
    return v;
}

poller_view read_poller(const shm::segment& seg, const ctl_env& env, std::uint64_t now, int max_age_ms)
{
    const shm::poller_counters& p = seg.poller();
    poller_view v;
    v.pid = pid_t(shm::read(p.pid));
    v.running = v.pid != 0 && env.pid_running(v.pid);
    v.generation = shm::read(p.generation);
    shm::progress_block block = seg.progress();
    v.heartbeat_age_ns = age_ns(now, block.heartbeat_ns());
    v.heartbeat_fresh = block.heartbeat_fresh(now, std::uint64_t(std::max(max_age_ms, 0)));
    v.polls = shm::read(p.polls);
    v.poll_errors = shm::read(p.poll_errors);
    v.rounds = shm::read(p.rounds);
    v.reclaim_sweeps = shm::read(p.reclaim_sweeps);
    v.reclaimed_entries = shm::read(p.reclaimed_entries);
    v.reclaimed_spills = shm::read(p.reclaimed_spills);
    v.table_occupied = shm::read(p.table_occupied);
    v.users = seg.accounts().stats();
    v.users_capacity = seg.accounts().capacity();
    v.primary_domains = shm::read(p.primary_domains);
    v.replica_domains = shm::read(p.replica_domains);
    v.domain_limit_polls = shm::read(p.domain_limit_polls);
    return v;
}

// The role block; the primary's name comes from the progress labels (the
// block stores read slots, the labels name them).
roles_view read_roles(const shm::segment& seg, const ctl_env& env)
{
    roles_view v;
    shm::role_view roles = seg.roles();
    v.decision = roles.read();
    v.primary_changes = roles.primary_changes();
    v.split_brain_decisions = roles.split_brain_decisions();
    std::string address;
    // down and read_only keep the last primary's slot.
    if (v.decision.ok && v.decision.primary_slot != 0 &&
        !read_label(seg.progress(), v.decision.primary_slot, env, v.primary_name, address))
        v.primary_name = "#" + std::to_string(v.decision.primary_slot);
    return v;
}

replicas_view read_replicas(const shm::segment& seg, const ctl_env& env, int max_age_ms)
{
    replicas_view v;
    v.roles = read_roles(seg, env);
    const shm::role_view roles = seg.roles();
    shm::progress_block block = seg.progress();
    shm::session_table table = seg.sessions();
    v.floor_set = table.floor_set();
    if (v.floor_set) v.floor = table.floor();
    const std::size_t n = block.backend_count();
    v.backends.resize(n);
    for (std::size_t i = 0; i < n; ++i) {
        backend_view& b = v.backends[i];
        b.index = i;
        b.label_torn = !read_label(block, i, env, b.name, b.address);
        b.progress = read_entry(block, i, env, b.torn);
        b.holds_primary =
            i != shm::primary_index && v.roles.decision.has_primary() && v.roles.decision.primary_slot == i;
        b.drained = !b.torn && i != shm::primary_index && roles.drained(b.progress.backend_id);
        if (i == shm::primary_index || i >= shm::max_backends) continue;
        for (std::size_t slot = 0; slot < shm::max_worker_slots; ++slot)
            b.connections += shm::read(seg.usage(slot)->open[i]);
    }
    // Entry 0 is the role: named after the server that holds it now.
    if (n && v.roles.decision.has_primary() && v.roles.decision.primary_slot < n) {
        const backend_view& holder = v.backends[v.roles.decision.primary_slot];
        if (!holder.label_torn) {
            v.backends[shm::primary_index].name = holder.name;
            v.backends[shm::primary_index].address = holder.address;
        }
    }
    // One clock reading after the copies: every age is measured from it, and
    // a stamp newer than it counts as age 0.
    const std::uint64_t now = env.monotonic_ns();
    v.heartbeat_age_ns = age_ns(now, block.heartbeat_ns());
    v.heartbeat_fresh = block.heartbeat_fresh(now, std::uint64_t(std::max(max_age_ms, 0)));
    const std::uint64_t max_age_ns = std::uint64_t(std::max(max_age_ms, 0)) * ms_ns;
    const backend_view* primary = n ? &v.backends[shm::primary_index] : nullptr;
    const bool primary_known = primary && !primary->torn && primary->progress.last_good_poll_ns != 0;
    for (backend_view& b : v.backends) {
        const shm::progress_snapshot& s = b.progress;
        if (b.torn) continue;
        b.identity_mismatch = !b.label_torn && !identity_matches(s.backend_id, b.name, b.address);
        b.advanced_age_ns = age_ns(now, s.advanced_ns);
        b.poll_age_ns = age_ns(now, s.last_good_poll_ns);
        if (s.last_good_poll_ns != 0) b.rtt_ns = s.poll_rtt_ns;
        if (b.is_primary()) {
            if (primary_known) b.behind = 0;
            b.usable = v.heartbeat_fresh && !b.identity_mismatch && s.state == shm::backend_state::up &&
                s.fresh(now, max_age_ns) && (v.roles.decision.has_primary() || v.roles.decision.generation == 0);
            continue;
        }
        if (primary_known && s.last_good_poll_ns != 0)
            b.behind = transactions_behind(primary->progress.position, s.position);
        // What the router requires of a replica for a session that has not
        // written: a floor, a live poller, and a fresh entry covering the floor.
        // Never the primary (reads reach it as entry 0), a drained server, or
        // one whose replication failed or lags past max_replica_lag_ms.
        b.usable = v.heartbeat_fresh && v.floor_set && !b.identity_mismatch && s.caught_up(v.floor, now, max_age_ns) &&
            !b.holds_primary && !b.drained && !s.repl_error && !s.lagging;
    }
    return v;
}

table_view read_table(const shm::segment& seg)
{
    shm::session_table t = seg.sessions();
    table_view v;
    v.occupied = t.occupied();
    v.capacity = t.capacity();
    v.fill = fill_percent(v.occupied, v.capacity);
    v.floor_set = t.floor_set();
    if (v.floor_set) v.floor = t.floor();
    v.watermark = t.watermark();
    const shm::table_stats& s = t.stats();
    v.updates_full = shm::read(s.updates_full);
    v.updates_overflow = shm::read(s.updates_overflow);
    v.updates_untracked = shm::read(s.updates_untracked);
    v.domains_tracked = t.tracked_domains().size();
    v.domain_capacity = t.domain_capacity();
    v.update_restarts = shm::read(s.update_restarts);
    v.inline_reclaims = shm::read(s.inline_reclaims);
    return v;
}

status_view read_status(const shm::segment& seg, const ctl_env& env, int max_age_ms)
{
    status_view v;
    v.instance = read_instance(seg, env);
    v.roles = read_roles(seg, env);
    v.table = read_table(seg);
    const std::uint64_t now = env.monotonic_ns();
    v.workers = read_workers(seg, env, now, nullptr);
    v.poller = read_poller(seg, env, now, max_age_ms);
    return v;
}

counters_view read_counters(const shm::segment& seg, const ctl_env& env, int max_age_ms)
{
    counters_view v;
    const std::uint64_t now = env.monotonic_ns();
    v.workers = read_workers(seg, env, now, &v.total);
    v.poller = read_poller(seg, env, now, max_age_ms);
    const auto& s = seg.header().supervisor;
    v.supervisor = {shm::read(s.reloads_ok),
                    shm::read(s.reloads_failed),
                    shm::read(s.worker_restarts),
                    shm::read(s.poller_restarts),
                    shm::read(s.admin_restarts),
                    {shm::read(s.exited_cpu_us[0]), shm::read(s.exited_cpu_us[1]), shm::read(s.exited_cpu_us[2])}};
    return v;
}

sessions_view read_sessions(const shm::segment& seg, std::size_t limit)
{
    sessions_view v;
    v.table = read_table(seg);
    v.limit = limit;
    shm::session_table t = seg.sessions();
    v.spilled_buckets = t.spilled_buckets();
    // Ranked against the watermark read above, which the report prints with them.
    v.entries = furthest_behind(t, v.table.watermark, limit);
    v.entries_listed = true;
    return v;
}

}   // namespace causeway::daemon
