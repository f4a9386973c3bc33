// The routing decision table (see router.hh). The order of the checks is the
// policy: mode, hints, transactions, statement kind, session state, then
// freshness. Each early return to the primary names its reason.
#include "worker/router.hh"

#include <array>

namespace causeway::worker {

using protocol::statement_kind;
using shm::route_reason;

namespace {

route_decision primary(route_reason why)
{
    return {route_target::primary, 0, why, false};
}

bool is_write_kind(statement_kind k)
{
    switch (k) {
        case statement_kind::read:
        case statement_kind::show:
        case statement_kind::explain:
        case statement_kind::locking_read:
        case statement_kind::must_primary:
        case statement_kind::unknown: return false;
        default: return true;
    }
}

// Picks among the candidates that are usable and pass `ok`; -1 when none
// does. The cursor rotates over those eligible only (an unusable one, such as
// the primary's own read slot, would otherwise pass its turn to the next and
// double its share); least_outstanding takes the fewest reads in flight and
// breaks ties in the same rotation, so idle replicas share a light load.
template <typename Pred>
int pick(const route_request& r, Pred ok)
{
    std::array<std::size_t, shm::max_backends + 1> eligible;
    std::size_t m = 0;
    for (std::size_t i = 0; i < r.candidates.size() && m < eligible.size(); ++i)
        if (r.candidates[i].usable && ok(r.candidates[i])) eligible[m++] = i;
    if (m == 0) return -1;
    const std::size_t start = r.round_robin_cursor % m;
    if (r.selection == common::replica_selection::round_robin) return int(eligible[start]);
    std::size_t best = eligible[start];
    for (std::size_t k = 1; k < m; ++k) {
        std::size_t i = eligible[(start + k) % m];
        if (r.candidates[i].outstanding < r.candidates[best].outstanding) best = i;
    }
    return int(best);
}

// A read (or a read-only transaction) that may leave the primary.
route_decision route_read(const route_request& r, bool starts_read_only_transaction)
{
    if (r.replica_state_unknown) return primary(route_reason::primary_session_unknown);
    if (r.mode == common::routing_mode::direct) {
        int i = pick(r, [](const read_candidate&) { return true; });
        if (i < 0) return primary(route_reason::primary_not_caught_up);
        return {route_target::replica, r.candidates[std::size_t(i)].backend, route_reason::replica_direct,
                starts_read_only_transaction};
    }
    if (!r.progress_fresh) return primary(route_reason::primary_progress_old);
    if (r.requirement == requirement_status::table_full) return primary(route_reason::primary_table_full);
    if (r.requirement != requirement_status::known) return primary(route_reason::primary_session_unknown);
    int i = pick(r, [&](const read_candidate& c) { return c.position.covers(r.required); });
    if (i >= 0)
        return {route_target::replica, r.candidates[std::size_t(i)].backend,
                r.waited ? route_reason::replica_after_wait : route_reason::replica_caught_up,
                starts_read_only_transaction};
    // Waiting helps only if some replica is up, applying, and merely behind.
    bool any_catching_up = false;
    for (const auto& c : r.candidates) any_catching_up |= c.usable && c.applying;
    if (r.may_wait && any_catching_up) return {route_target::wait, 0, route_reason::primary_not_caught_up, false};
    return primary(route_reason::primary_not_caught_up);
}

}   // namespace

bool candidate_usable(const candidate_facts& f)
{
    if (!f.snapshot_ok || !f.identity_matches || !f.fresh || f.avoided) return false;
    if (f.is_primary || f.drained || f.repl_error || f.lagging) return false;
    return f.state == shm::backend_state::up || f.state == shm::backend_state::replication_stopped;
}

namespace {
route_decision route_with_primary(const route_request& r);
}

// With no primary, whatever would have gone there is unavailable; a read that
// may wait for a replica still does (its budget is causal_wait_ms). A session
// SET reads no data and is replayed on every later connection: it runs on any
// usable server, so that drivers' connect-time SET NAMES work during a failover.
route_decision route(const route_request& r)
{
    route_decision d = route_with_primary(r);
    if (d.target != route_target::primary || r.primary_available) return d;
    const protocol::statement_info* s = r.statement;
    if (r.mode != common::routing_mode::bridge && s && s->kind == statement_kind::set_session_state && s->replayable &&
        !r.in_transaction && !r.tables_locked && r.pinned_backend < 0) {
        int i = pick(r, [](const read_candidate& c) { return c.backend != 0; });
        if (i >= 0)
            return {route_target::replica, r.candidates[std::size_t(i)].backend, route_reason::replica_direct, false};
    }
    return {route_target::unavailable, 0, route_reason::primary_unavailable, false};
}

namespace {
route_decision route_with_primary(const route_request& r)
{
    if (r.mode == common::routing_mode::bridge) return primary(route_reason::primary_bridge);
    // Locked tables (mariadb-dump's consistency) exist only on the primary, and
    // the server refuses a table not locked (ERR 1100): everything stays there.
    if (r.tables_locked) return primary(route_reason::primary_locking_read);
    // A read-only transaction stays where it started, whatever it runs.
    if (r.pinned_backend >= 0) return {route_target::replica, r.pinned_backend, route_reason::replica_caught_up, false};
    if (r.measuring) return primary(route_reason::primary_server_specific);
    const protocol::statement_info* s = r.statement;
    if (!s) return primary(route_reason::primary_unclassified);
    if (s->hint == protocol::route_hint::primary) return primary(route_reason::primary_unclassified);

    bool read_only_begin = s->kind == statement_kind::begin_read_only ||
        (s->kind == statement_kind::begin && r.next_transaction_read_only);
    if (r.in_transaction) return primary(route_reason::primary_transaction);
    // An optimistic transaction starts with BEGIN, or with the first read under
    // autocommit=0 (which opens one implicitly).
    bool optimistic_start = r.optimistic && r.mode == common::routing_mode::smartscale && !read_only_begin &&
        (s->kind == statement_kind::begin || (r.autocommit_off && s->is_plain_read));
    if (optimistic_start) {
        optimistic_refusal why = r.session_wrote                 ? optimistic_refusal::session_wrote
            : r.touches_temporary_table                          ? optimistic_refusal::temporary_table
            : r.unrepeatable && s->kind != statement_kind::begin ? optimistic_refusal::unrepeatable
                                                                 : optimistic_refusal::none;
        if (why == optimistic_refusal::none) return route_read(r, true);
        route_decision d = primary(route_reason::primary_transaction);
        d.refusal = why;
        return d;
    }
    if (r.autocommit_off) return primary(route_reason::primary_transaction);
    if (read_only_begin)
        return r.touches_temporary_table ? primary(route_reason::primary_unclassified) : route_read(r, true);
    if (s->kind == statement_kind::locking_read) return primary(route_reason::primary_locking_read);
    if (s->kind == statement_kind::begin || s->kind == statement_kind::begin_read_write ||
        s->kind == statement_kind::commit || s->kind == statement_kind::rollback || s->kind == statement_kind::xa)
        return primary(route_reason::primary_transaction);
    if (!s->is_plain_read) {
        if (s->has(protocol::flag_locking)) return primary(route_reason::primary_locking_read);
        if (is_write_kind(s->kind)) return primary(route_reason::primary_write);
        if (s->has(protocol::flag_server_specific)) return primary(route_reason::primary_server_specific);
        return primary(route_reason::primary_unclassified);
    }
    if (r.touches_temporary_table) return primary(route_reason::primary_unclassified);
    return route_read(r, false);
}
}   // namespace

}   // namespace causeway::worker
