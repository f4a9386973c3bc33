// Where each command of a session goes, and what it changes in the session:
// classification, the session's keys and required position, the replica
// snapshot handed to the pure router (router.cc), the bounded wait for a
// replica to catch up, write positions from OK packets, and the state that
// replica connections must replay.
#include <ctype.h>
#include <stdio.h>
#include <strings.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <span>

#include "common/clock.hh"
#include "common/log.hh"
#include "protocol/bytes.hh"
#include "protocol/constants.hh"
#include "protocol/ok_err.hh"
#include "protocol/unrepeatable.hh"
#include "shm/counters.hh"
#include "worker/client_session.hh"
#include "worker/topology_view.hh"

namespace causeway::worker {

using namespace protocol;
using common::routing_mode;
using shm::route_reason;

namespace {
constexpr std::uint16_t er_wrong_db_name = 1102;   // 42000
// A write kept in memory in case the old primary refuses it during a switchover
// (client_failover.cc): statements larger than this fail there as the server says.
constexpr std::size_t switch_retry_max_bytes = 64 * 1024;

std::string quoted_use(std::string_view db)
{
    std::string q = "\x03USE `";
    for (char c : db) {
        if (c == '`') q += '`';
        q += c;
    }
    return q + "`";
}
}   // namespace

// SHOW WARNINGS and its kind (reads_diagnostics()), FOUND_ROWS() and
// ROW_COUNT() (reads_previous_outcome()) go where the previous statement ran,
// whose diagnostics or outcome they show; false when that is the primary or
// gone (normal routing then).
bool client_session::route_to_diagnostics(std::string_view sql, const protocol::statement_info& s)
{
    if (last_answer_backend_ <= 0 || !(reads_diagnostics(sql) || reads_previous_outcome(s))) return false;
    const backend_conn* b = backends_[std::size_t(last_answer_backend_)].get();
    // None: given back to the pool after a statement that left no warnings
    // (pool_mode = statement); a connection to that replica taken again has
    // none either (reset), while the primary's would show its own.
    if (b && !b->ready()) return false;
    plan_.backend = last_answer_backend_;
    plan_.diagnostics = true;
    plan_.reason = route_reason::replica_caught_up;
    return true;
}

// Fills plan_ for the command `payload`; false when the command was answered
// here (an error) and must not be sent anywhere.
bool client_session::plan_command(std::string_view payload)
{
    const common::config& cfg = *ctx_.cfg;
    bool bridge = cfg.routing() == routing_mode::bridge;
    plan_.backend = 0;
    plan_.reason = bridge ? route_reason::primary_bridge : route_reason::primary_unclassified;
    // Commands that cannot commit a transaction; COM_QUERY and COM_STMT_EXECUTE
    // decide per statement below, any other may (COM_STMT_BULK_EXECUTE, ...).
    switch (plan_.cmd) {
        case command::init_db:
        case command::field_list:
        case command::statistics:
        case command::process_info:
        case command::process_kill:
        case command::debug:
        case command::ping:
        case command::stmt_prepare:
        case command::stmt_send_long_data:
        case command::stmt_close:
        case command::stmt_reset:
        case command::set_option:
        case command::stmt_fetch:
        case command::reset_connection: plan_.cannot_commit = true; break;
        default: break;
    }
    switch (plan_.cmd) {
        case command::query:
            if (bridge && cfg.session() != common::session_id_kind::provided_in_dbname) {
                std::string_view sql = payload.substr(1);
                if (sql.size() < 128 && sql.size() > 4 && !plan_kill(sql)) return false;
                if (!plan_.rewritten) keep_for_switch_retry(payload);
                return true;
            }
            return plan_query(payload);
        case command::init_db: {
            std::string_view name = payload.substr(1);
            std::string db(name), provided;
            if (cfg.session() == common::session_id_kind::provided_in_dbname) {
                auto parts = split_session_id(name);
                if (!parts) {
                    reject_command(er_wrong_db_name, "42000", parts.err().message);
                    return false;
                }
                db = parts->database;
                provided = parts->session_id;
                if (db.size() != name.size()) {
                    plan_.rewritten = true;
                    plan_.payload = "\x02" + db;
                }
            }
            plan_.after.set_database = true;
            plan_.after.database = db;
            plan_.after.provided = provided;
            plan_.after.replay = true;
            plan_.after.is_use = true;
            plan_.after.replay_payload = "\x02" + db;
            return true;
        }
        case command::stmt_prepare:
        case command::stmt_execute:
        case command::stmt_close:
        case command::stmt_send_long_data:
        case command::stmt_reset:
        case command::stmt_fetch: return bridge ? true : plan_statement_command(payload);
        case command::stmt_bulk_execute:   // MariaDB bulk operations: a write, on the primary
            if (!bridge) {
                plan_.reason = route_reason::primary_write;
                plan_bulk_execute(payload);   // client_statements.cc
            }
            return true;
        case command::reset_connection:
            // The server resets session_track_system_variables too: last_gtid
            // must be tracked again before the next write.
            plan_.after.reset_session = true;
            plan_.after.retrack = true;
            return true;
        default: return true;
    }
}

bool client_session::running_statement(int& backend, std::uint32_t& server_thread) const
{
    const backend_conn* b = active();
    if (state_ != state::in_flight || !b) return false;
    backend = b->index();
    server_thread = b->server_connection_id();
    return true;
}

// KILL [HARD|SOFT] [CONNECTION|QUERY] n where n is a Causeway connection id
// (a client's, not a server thread's): it is translated here, so that it never
// reaches a server where that number names someone else's thread. false when
// answered here.
bool client_session::plan_kill(std::string_view sql)
{
    // Most statements are not a KILL: decide that on the first word, without
    // tokenizing the rest.
    std::size_t i = 0;
    while (i < sql.size() && isspace((unsigned char)sql[i])) ++i;
    if (sql.size() - i < 5 || strncasecmp(sql.data() + i, "kill", 4) != 0 || !isspace((unsigned char)sql[i + 4]))
        return true;
    std::array<std::string_view, 6> word_store;
    std::size_t n = 0;
    while (i < sql.size() && n < word_store.size()) {
        while (i < sql.size() && (isspace((unsigned char)sql[i]) || sql[i] == ';')) ++i;
        std::size_t start = i;
        while (i < sql.size() && !isspace((unsigned char)sql[i]) && sql[i] != ';') ++i;
        if (i > start) word_store[n++] = sql.substr(start, i - start);
    }
    std::span<const std::string_view> words(word_store.data(), n);
    if (words.size() < 2) return true;
    std::string_view last = words.back();
    std::uint64_t id = 0;
    for (char c : last) {
        if (c < '0' || c > '9' || id > 0xffffffffu) return true;   // not a plain number: the server decides
        id = id * 10 + std::uint64_t(c - '0');
    }
    if (!(id & proxy_id_bit) || id > 0xffffffffu) return true;
    bool query = false;
    for (std::size_t w = 1; w + 1 < words.size(); ++w)
        if (words[w].size() == 5 && strncasecmp(words[w].data(), "query", 5) == 0) query = true;
    client_session* target = nullptr;
    for (client_session* s = ctx_.sessions; s; s = s->next)
        if (s->id() == std::uint32_t(id)) target = s;
    int backend = 0;
    std::uint32_t thread = 0;
    if (!target && query && worker_of_connection(std::uint32_t(id)) != ctx_.worker_id && ctx_.seg) {
        // A client of another worker (Ctrl-C in the CLI, JDBC's cancel and query
        // timeouts open a new connection): its board says what it runs where.
        if (!running_statement(*ctx_.seg, std::uint32_t(id), backend, thread) ||
            std::size_t(backend) >= backends_.size()) {
            evbuffer_drain(client_->input(), header_size + plan_.length);
            send_ok(1);   // nothing running: nothing to kill, as the server answers
            return false;
        }
        plan_.backend = backend;
        plan_.rewritten = true;
        plan_.payload = "\x03KILL QUERY " + std::to_string(thread);
        plan_.reason = route_reason::primary_write;
        plan_.cannot_commit = true;
        return true;
    }
    std::uint32_t slot = 0;
    primary_choice now = current_primary(ctx_);
    if (!target && !query && worker_of_connection(std::uint32_t(id)) != ctx_.worker_id && ctx_.seg &&
        primary_thread(*ctx_.seg, std::uint32_t(id), slot, thread) && now.available && now.slot == slot) {
        // A client of another worker: its primary connection is killed on the
        // server, from this client's own (the server checks who may kill whom);
        // that worker then ends the client as the server would (probe_primary).
        plan_.backend = 0;
        plan_.rewritten = true;
        plan_.payload = "\x03KILL CONNECTION " + std::to_string(thread);
        plan_.reason = route_reason::primary_write;
        plan_.cannot_commit = true;
        return true;
    }
    if (!target) {
        reject_command(1094, "HY000", "Unknown thread id: " + std::to_string(id));
        return false;
    }
    // Who may kill whom is the server's business (the owner, or CONNECTION
    // ADMIN / SUPER): every KILL of another user's client is sent to a server
    // as a KILL of one of that client's server threads, from this client's own
    // server connection, so the server checks it and answers.
    bool same_user = target->identity_.user == identity_.user;
    const backend_conn* target_primary = target->backends_[0].get();
    bool running = query && target->running_statement(backend, thread);
    if (!running && !same_user) {
        if (!target_primary || !target_primary->ready()) {
            reject_command(1095, "HY000", "You are not owner of thread " + std::to_string(id));
            return false;
        }
        backend = 0;
        thread = target_primary->server_connection_id();
    }
    if (running || !same_user) {
        plan_.backend = backend;
        plan_.rewritten = true;
        plan_.payload = std::string(query ? "\x03KILL QUERY " : "\x03KILL CONNECTION ") + std::to_string(thread);
        plan_.reason = route_reason::primary_write;
        plan_.cannot_commit = true;
        // Killing its primary connection ends that client too (backend_closed).
        return true;
    }
    if (!query) target->kill_connection();   // same user: ours to close
    evbuffer_drain(client_->input(), header_size + plan_.length);
    send_ok(1);   // KILL QUERY of an idle client: nothing to kill
    return false;
}

bool client_session::plan_query(std::string_view payload)
{
    const common::config& cfg = *ctx_.cfg;
    std::string_view sql = statement_text(payload);
    if (sql.size() < 128 && sql.size() > 4 && !plan_kill(sql)) return false;
    if (plan_.rewritten) return true;   // a translated KILL QUERY
    statement_info s = classify(sql, lex_);
    plan_.cannot_commit = cannot_commit(s, primary_status_ & server_status::in_trans);
    plan_.ends_transaction = s.kind == statement_kind::commit || s.kind == statement_kind::rollback;
    if (!optimistic_may_go_on(s)) return false;
    plan_.unrepeatable =
        s.is_plain_read && may_start_or_keep_optimistic() && answer_unrepeatable(sql, lex_) != unrepeatable::none;
    if (otx_.active() && !stays_optimistic(s, payload.size())) return start_migration_for(s);
    after_ok& a = plan_.after;
    a.set_statement =
        starts_with_word(sql, "set") && starts_with_word(sql.substr(sql.find_first_not_of(" \t\r\n") + 3), "statement");
    if (s.kind == statement_kind::set_session_state && cfg.session() == common::session_id_kind::provided_in_dbname) {
        if (auto id = session_id_from_set(sql)) {
            if (!*id) {
                reject_command(er_wrong_db_name, "42000", id->err().message);
                return false;
            }
            a.provided = **id;   // applied once the server accepted the SET (a user variable there too)
        }
    }
    switch (s.kind) {
        case statement_kind::use_database: {
            std::string db(s.name), provided;
            if (cfg.session() == common::session_id_kind::provided_in_dbname) {
                auto parts = split_session_id(s.name);
                if (!parts) {
                    reject_command(er_wrong_db_name, "42000", parts.err().message);
                    return false;
                }
                db = parts->database;
                provided = parts->session_id;
                if (!provided.empty()) {
                    plan_.rewritten = true;
                    plan_.payload = quoted_use(db);
                }
            }
            a.set_database = true;
            a.database = db;
            a.provided = provided;
            a.replay = true;
            a.is_use = true;
            a.replay_payload = quoted_use(db);
            break;
        }
        case statement_kind::set_transaction_read_only:
        case statement_kind::set_transaction_read_write:
        case statement_kind::set_session_state:
        case statement_kind::set_autocommit: plan_set(s, payload); break;
        case statement_kind::lock_tables: a.lock_tables = true; break;
        case statement_kind::unlock_tables: a.unlock_tables = true; break;
        case statement_kind::write:
            // FLUSH TABLES [t, ...] WITH READ LOCK | FOR EXPORT lock like LOCK TABLES.
            a.lock_tables = starts_with_word(sql, "flush") && (mentions(sql, "lock") || mentions(sql, "export"));
            // FLUSH STATUS: the client counts what its next statements do (SHOW STATUS).
            a.measuring = starts_with_word(sql, "flush") && mentions(sql, "status");
            break;
        case statement_kind::multi_statement:
            a.lock_tables = s.kinds_seen & (1u << unsigned(statement_kind::lock_tables));
            break;
        case statement_kind::create_temporary_table:
            a.temp_created.push_back(std::string(s.schema.empty() ? std::string_view(identity_.database) : s.schema) +
                                     "." + std::string(s.name));
            break;
        case statement_kind::drop_table:
            for (const auto& t : s.table_refs())
                a.temp_dropped.push_back(
                    std::string(t.schema.empty() ? std::string_view(identity_.database) : t.schema) + "." +
                    std::string(t.table));
            break;
        default: break;
    }
    if (cfg.routing() == routing_mode::bridge) return keep_for_switch_retry(payload), true;
    if (route_to_diagnostics(sql, s)) return true;
    if (plan_tracking_read(sql)) return keep_for_switch_retry(payload), true;   // client_variables.cc
    route_read(s);
    if (plan_.backend != 0) plan_.original = std::string(payload);
    keep_for_switch_retry(payload);
    plan_.uses_next_read_only = next_read_only_ && s.kind != statement_kind::set_transaction_read_only &&
        s.kind != statement_kind::set_transaction_read_write;
    return true;
}

// What a SET changes in the session once it succeeded. `query` is its
// COM_QUERY payload to replay verbatim on replica connections, or empty when
// it cannot be (a prepared SET with parameters): replicas then count as unknown.
void client_session::plan_set(const statement_info& s, std::string_view query)
{
    after_ok& a = plan_.after;
    switch (s.kind) {
        case statement_kind::set_transaction_read_only:
        case statement_kind::set_transaction_read_write:
            if (s.scope == tx_scope::next_transaction) {
                // One transaction's characteristic: used by the next BEGIN, not replayed.
                a.next_read_only = s.kind == statement_kind::set_transaction_read_only ? 1 : 0;
                break;
            }
            [[fallthrough]];
        case statement_kind::set_session_state:
            // Replayed on replica connections before their next read. A SET that
            // cannot be replayed verbatim leaves the replicas' state unknown.
            a.replay = true;
            a.replay_payload = std::string(query);
            if (!s.replayable) a.replay_payload.clear();
            a.retrack = mentions(query, "session_track_system_variables");
            a.measuring = mentions(query, "profiling");
            if (s.scope == tx_scope::session && s.kind != statement_kind::set_session_state)
                a.session_read_only = s.kind == statement_kind::set_transaction_read_only;
            break;
        case statement_kind::set_autocommit:
            // autocommit alone is never replayed: autocommit=0 on a replica
            // connection would open a transaction whose snapshot goes stale. The
            // other assignments of the same SET (Connector/J's connect-time
            // `SET autocommit=1, sql_mode=...`) are: the whole SET, followed by
            // autocommit=1 when it set anything else (no statement runs between
            // the two, so no transaction opens).
            if (s.assignments > 1) {
                a.replay = true;
                if (s.replayable) {
                    a.replay_payload = std::string(query);
                    a.restore_autocommit = s.autocommit != autocommit_value::on;
                }
            }
            break;
        default: break;
    }
}

// A statement for the primary outside a transaction is kept until its answer:
// if the old primary refuses it as read-only during a switchover, it may run
// on the next one (hold_read_only_refusal, client_failover.cc, decides).
void client_session::keep_for_switch_retry(std::string_view payload)
{
    plan_.switch_retry = plan_.backend == 0 && plan_.whole && !plan_.rewritten &&
        !(primary_status_ & server_status::in_trans) && (primary_status_ & server_status::autocommit) &&
        payload.size() <= switch_retry_max_bytes;
    if (plan_.switch_retry) plan_.original = std::string(payload);
}

// Decides where a classified statement goes: plan_.backend and reason, or a
// wait (state waiting_replica) when no replica is caught up yet.
void client_session::route_read(const statement_info& s)
{
    plan_.plain_read = s.is_plain_read;
    route_request r;
    bool have_candidates = fill_route_request(r, s);
    route_decision d = route(r);
    if (fence_pending_ && d.target != route_target::primary && r.mode == routing_mode::smartscale) {
        // The session's own writes may be newer than the table says: learn the
        // primary's position first, then route this read again.
        if (start_fence()) return;
        d = {route_target::primary, 0, route_reason::primary_session_unknown, false};
    }
    if (d.target == route_target::wait && have_candidates) {
        plan_.reason = d.reason;
        bool pin = s.kind == statement_kind::begin_read_only ||
            (s.kind == statement_kind::begin && (session_read_only_ || next_read_only_)) || plan_.optimistic_start;
        if (!start_gtid_wait(r, pin)) start_wait();
        return;
    }
    plan_.refusal = d.refusal;
    if (d.target == route_target::replica) {
        // Only reads that took a replica move the rotation: writes and waits
        // between them would otherwise skip turns (a session alternating a
        // write and a read always read from the same replica).
        ++ctx_.read_cursor;
        plan_.backend = d.backend;
        plan_.pin = d.pin;
        plan_.optimistic_start = plan_.optimistic_start && d.pin;
    } else {
        plan_.optimistic_start = false;
        plan_.backend = 0;
        // A statement on the primary may write: under DATABASE its position is
        // recorded under every database it names (and "any" when unsure).
        if (ctx_.cfg->session() == common::session_id_kind::database) {
            session_keys(*ctx_.cfg, identity_, &s, keys_);
            for (auto& k : keys_)
                if (std::find(unrecorded_keys_.begin(), unrecorded_keys_.end(), k) == unrecorded_keys_.end())
                    unrecorded_keys_.push_back(k);
        }
    }
    plan_.reason = d.target == route_target::wait ? route_reason::primary_not_caught_up : d.reason;
}

bool client_session::fill_route_request(route_request& r, const statement_info& s)
{
    static thread_local std::vector<read_candidate> candidates;
    const common::config& cfg = *ctx_.cfg;
    std::uint64_t now = common::monotonic_ns();
    r.mode = cfg.routing();
    r.statement = &s;
    r.in_transaction = primary_status_ & server_status::in_trans;
    // A prepare opens no transaction, even under autocommit=0: it is prepared
    // where a read outside a transaction would run, and starts nothing there.
    r.autocommit_off = !(primary_status_ & server_status::autocommit) && plan_.cmd != command::stmt_prepare;
    r.pinned_backend = pinned_;
    r.next_transaction_read_only = session_read_only_ || next_read_only_;
    bool read_only_begin = s.kind == statement_kind::begin_read_only ||
        (s.kind == statement_kind::begin && (session_read_only_ || next_read_only_));
    r.optimistic = cfg.optimistic_transactions && r.mode == routing_mode::smartscale;
    r.session_wrote = otx_.primary_next();
    r.unrepeatable = plan_.unrepeatable;
    // Whether this statement would start an optimistic transaction (the router
    // decides whether it does: see route_read()).
    plan_.optimistic_start = r.optimistic && !r.in_transaction && pinned_ < 0 && !read_only_begin &&
        (s.kind == statement_kind::begin || (r.autocommit_off && s.is_plain_read));
    bool starts_transaction = read_only_begin || plan_.optimistic_start;
    // A transaction that starts on a replica may read any table: none may be temporary.
    r.touches_temporary_table = starts_transaction ? !temporary_.empty() : temporary_.touches(s, identity_.database);
    r.replica_state_unknown = replay_.overflowed() || positions_unknown_;
    r.tables_locked = tables_locked_;
    r.measuring = measuring_;
    r.progress_fresh = ctx_.progress.heartbeat_fresh(now, std::uint64_t(cfg.progress_max_age_ms));
    r.selection = cfg.selection_policy();
    r.round_robin_cursor = ctx_.read_cursor;   // moved by each read that goes to a replica (route_read)
    std::uint64_t budget = std::uint64_t(cfg.causal_wait_ms) * 1000000u;
    r.waited = wait_started_ns_ != 0;
    r.may_wait = budget > 0 && ctx_.waits.available() && (!r.waited || now - wait_started_ns_ < budget);

    if (r.mode == routing_mode::smartscale && (s.is_plain_read || starts_transaction)) {
        session_keys(cfg, identity_, &s, keys_);
        r.requirement = requirement_status::known;
        for (const auto& k : keys_) {
            shm::lookup_result l = ctx_.table.lookup(ctx_.table.key(shm::session_kind(k.kind), k.id));
            if (l.status == shm::lookup_status::spilled)
                r.requirement = requirement_status::table_full;
            else if (!l.usable()) {   // an overflow's position is a bound: usable
                if (r.requirement == requirement_status::known) r.requirement = requirement_status::unknown;
            } else if (!r.required.merge_max(l.position)) {
                r.requirement = requirement_status::unknown;
            }
        }
    }

    candidates.clear();
    std::uint64_t max_age = std::uint64_t(cfg.progress_max_age_ms) * 1000000u;
    primary_choice primary = current_primary(ctx_);   // worker/topology_view.hh
    r.primary_available = primary.available;
    for (std::size_t i = 1; i < ctx_.backend_addrs.size(); ++i) {
        shm::progress_snapshot snap = ctx_.progress.read(i);
        read_candidate c;
        c.backend = int(i);
        candidate_facts f;
        f.snapshot_ok = snap.ok;
        f.identity_matches = snap.backend_id == ctx_.backend_ids[i];
        f.fresh = snap.fresh(now, max_age);
        f.state = snap.state;
        f.is_primary = primary.available && primary.slot == i;
        f.drained = ctx_.roles.drained(ctx_.backend_ids[i]);
        f.repl_error = snap.repl_error;
        f.lagging = snap.lagging;
        f.avoided = now < ctx_.avoid_until_ns[i];
        c.usable = candidate_usable(f);
        c.position = snap.position;
        c.outstanding = ctx_.outstanding[i];
        // Up per the last health check, or seen advancing since (a restarted
        // SQL thread shows in the position before the next health check).
        c.applying = snap.state == shm::backend_state::up ||
            (snap.advanced_ns &&
             now - std::min(now, snap.advanced_ns) < std::uint64_t(cfg.health_interval_ms) * 1000000u);
        candidates.push_back(c);
    }
    if (cfg.primary_in_read_pool && primary.available) {
        read_candidate c;
        c.backend = 0;
        c.usable = true;
        c.position = r.required;   // the primary has every write
        c.outstanding = ctx_.outstanding[0];
        candidates.push_back(c);
    }
    if (cfg.monotonic_reads && r.mode == routing_mode::smartscale && r.requirement == requirement_status::known)
        monotonic_requirement(r, candidates);
    r.candidates = candidates;
    return !candidates.empty();
}

// Monotonic reads. A poll only gives a lower bound of a replica's position,
// so what the last read saw is known only once a poll sent after that read
// ended has answered: from then on, every later read of the session needs
// that position (recorded in the session table, so every connection of a
// shared session obeys it). Until then the read stays on that same replica
// (or the primary).
void client_session::monotonic_requirement(route_request& r, std::vector<read_candidate>& candidates)
{
    if (last_read_backend_ <= 0) return;
    shm::progress_snapshot snap = ctx_.progress.read(std::size_t(last_read_backend_));
    bool polled_after = snap.ok && snap.last_good_poll_ns >= snap.poll_rtt_ns &&
        snap.last_good_poll_ns - snap.poll_rtt_ns >= last_read_done_ns_;
    if (polled_after) {
        if (!r.required.merge_max(snap.position)) {
            r.requirement = requirement_status::unknown;
            return;
        }
        session_keys(*ctx_.cfg, identity_, nullptr, keys_);
        for (const auto& k : keys_)
            ctx_.table.update(ctx_.table.key(shm::session_kind(k.kind), k.id), snap.position,
                              shm::position_source::progress);   // its epoch domain is an epoch
        last_read_backend_ = -1;
        return;
    }
    for (auto& c : candidates)
        if (c.backend != last_read_backend_ && c.backend != 0) c.usable = false;
}

// The wait for a replica to catch up, done by the replica itself:
// MASTER_GTID_WAIT returns as soon as it has applied the position (0), or at
// the end of the budget (-1). No polling, and the read follows at once. Needs
// an open replica connection; false (poll instead) when there is none yet.
bool client_session::start_gtid_wait(const route_request& r, bool pin)
{
    int best = -1;
    std::uint64_t best_score = 0;
    const gtid_position* best_position = nullptr;
    for (const auto& c : r.candidates) {
        // A replica whose replication is stopped would only run out the budget.
        if (!c.usable || c.backend == 0 || !c.applying) continue;
        std::uint64_t score = 0;
        for (const auto& g : r.required) score += std::min(c.position.seqno(g.domain), g.seqno);
        if (best < 0 || score > best_score) best = c.backend, best_score = score, best_position = &c.position;
    }
    if (best < 0 || r.requirement != requirement_status::known) return false;
    // The epoch (writes in domains the session table does not track) is no
    // replication position a replica can wait for: only the poller learns
    // it, so such a read waits by polling (start_wait) unless the replica
    // has it already. The other domains are waited for as usual.
    gtid_position wait_for;
    for (const auto& g : r.required) {
        if (g.domain != shm::epoch_domain)
            (void)wait_for.set(g);
        else if (best_position->seqno(g.domain) < g.seqno)
            return false;
    }
    backend_conn* b = open_backend(best);
    if (!b || !b->ready()) return false;   // logging in now; the poll-based wait covers this read
    std::uint64_t now = common::monotonic_ns();
    if (!wait_started_ns_) {
        wait_started_ns_ = now;
        shm::add(ctx_.counters->waits);
    }
    std::uint64_t budget_ns = std::uint64_t(ctx_.cfg->causal_wait_ms) * 1000000u;
    std::uint64_t left_ns = budget_ns > now - wait_started_ns_ ? budget_ns - (now - wait_started_ns_) : 0;
    if (left_ns < 100000) return false;
    replay_state(*b);
    char seconds[32];
    snprintf(seconds, sizeof seconds, "%.6f", double(left_ns) / 1e9);
    b->send_internal("\x03SELECT MASTER_GTID_WAIT('" + wait_for.to_string() + "', " + seconds + ")", gtid_wait_tag);
    // A replica that stops answering (frozen, overloaded) must not hold the
    // read past its budget: 50 ms after it, the connection is given up
    // (backend_closed) and the read goes to the primary.
    b->chan().set_timeout(int(left_ns / 1000000u) + 50);
    gtid_wait_backend_ = best;
    gtid_wait_pin_ = pin;
    state_ = state::waiting_replica;
    return true;
}

void client_session::gtid_wait_answered(int backend, const internal_answer& a)
{
    gtid_wait_backend_ = -1;
    if (backend_conn* b = backends_[std::size_t(backend)].get()) b->chan().cancel_timeout();
    if (state_ != state::waiting_replica) return;
    bool applied = a.ok && a.has_value && !a.value_null && a.value == "0";
    evbuffer* in = client_->input();
    if (applied) {
        // The replica has applied the session's position: the read goes there.
        plan_.backend = backend;
        plan_.pin = gtid_wait_pin_;
        plan_.reason = route_reason::replica_after_wait;
        const char* p = reinterpret_cast<const char*>(evbuffer_pullup(in, header_size + plan_.length));
        if (!plan_.rewritten) plan_.original.assign(p + header_size, plan_.length);
    } else {
        plan_.backend = 0;
        plan_.reason = route_reason::primary_not_caught_up;
    }
    state_ = state::ready;
    if (dispatch()) handle_client_input();
}

void client_session::start_wait()
{
    if (!wait_started_ns_) {
        wait_started_ns_ = common::monotonic_ns();
        shm::add(ctx_.counters->waits);
        if (ctx_.wake_fd >= 0) {   // the poller polls back to back while reads wait
            std::uint64_t one = 1;
            ssize_t ignored = write(ctx_.wake_fd, &one, sizeof one);
            (void)ignored;
        }
    }
    ctx_.waits.add(this);
    state_ = state::waiting_replica;
}

void client_session::wait_tick()
{
    if (state_ != state::waiting_replica) return;
    // Route the same command again: the packet is still in the client's input.
    state_ = state::ready;
    handle_client_input();
}

// Sends the session state this replica connection has not seen yet.
void client_session::replay_state(backend_conn& b)
{
    int index = b.index();
    if (replayed_[std::size_t(index)] < replay_.generation()) {
        for (std::string_view p : replay_.pending(replayed_[std::size_t(index)])) b.send_internal(p);
        replayed_[std::size_t(index)] = replay_.generation();
    }
}

// The OK of a committing statement carries the GTID of its write: record it
// under the session's keys (CAS-max) before the client sees the OK.
void client_session::record_write_position(const ok_packet& ok)
{
    if (ctx_.cfg->routing() != routing_mode::smartscale || ok.session_state.empty()) return;
    std::string_view text = tracked_variable(ok.session_state, "last_gtid");
    if (text.empty()) return;
    plan_.position_seen = true;
    auto pos = parse_gtid_position(text);
    if (!pos) {
        // Without the position no replica can be proven fresh for this session.
        positions_unknown_ = true;
        CW_LOG(LOG_ERR, "%s: unparsable last_gtid '%.*s': this connection reads from the primary from now on", who(),
               int(text.size()), text.data());
        return;
    }
    record_position(std::span<const gtid>(pos->begin(), pos->size()));
}

// Any number of domains: those the session table cannot track one by one
// are covered by its epoch (shm/layout.hh session_state).
void client_session::record_position(std::span<const gtid> pos)
{
    session_keys(*ctx_.cfg, identity_, nullptr, keys_);
    for (const auto& k : unrecorded_keys_)
        if (std::find(keys_.begin(), keys_.end(), k) == keys_.end()) keys_.push_back(k);
    for (const auto& k : keys_) ctx_.table.update(ctx_.table.key(shm::session_kind(k.kind), k.id), pos);
    unrecorded_keys_.clear();
}

// The statement just answered by the primary reported no position and is not
// proven to commit nothing. Its write, if any, is not in the session table:
// the session's next read that could leave the primary waits for the fence.
void client_session::note_unproven_commit()
{
    if (ctx_.cfg->routing() == routing_mode::smartscale) fence_pending_ = true;
}

// The position fence: on the session's primary connection (so after every
// statement it ran there), tracking is restored and the primary's binlog
// position read. Every transaction this session committed is within it; it
// is recorded under the session's keys like a write's position. One round trip,
// only for reads that follow a statement whose position is unknown.
bool client_session::start_fence()
{
    // After COM_CHANGE_USER the connection that ran the statement is gone (and
    // so are its transactions): any primary connection then sees its commits.
    backend_conn* p = open_backend(0);   // commands queue until its login completes
    if (!p) return false;
    track_session(*p, tracking_check_tag);   // a procedure may have switched tracking off
    p->send_internal(primary_position_query, fence_tag);
    shm::add(ctx_.counters->position_fences);
    state_ = state::fencing;
    return true;
}

void client_session::fence_answered(const internal_answer& a)
{
    if (state_ != state::fencing) return;
    fence_pending_ = false;
    // The primary's whole position: it may name more domains than a
    // gtid_position holds.
    auto pos = a.ok && a.has_value && !a.value_null ? protocol::parse_gtid_list(a.value)
                                                    : common::result<protocol::gtid_list>(common::error{0, a.error});
    if (pos) {
        record_position(*pos);
    } else {
        positions_unknown_ = true;
        CW_LOG(LOG_ERR,
               "%s: the primary's position could not be read (%s): this connection reads from the primary "
               "from now on",
               who(), pos.err().message.c_str());
    }
    // Route the read again: its packet is still in the client's input.
    state_ = state::ready;
    handle_client_input();
}

void client_session::apply_after_ok()
{
    after_ok& a = plan_.after;
    if (a.set_database) identity_.database = a.database;
    if (!a.provided.empty()) identity_.provided = a.provided;
    if (a.replay) {
        if (a.replay_payload.empty())
            replay_.mark_unknown();
        else
            replay_.add(a.replay_payload, a.is_use ? replay_log::use_key : std::string_view());
        if (a.restore_autocommit) replay_.add("\x03SET @@session.autocommit = 1");
    }
    for (auto& t : a.temp_created) temporary_.created(t);
    for (auto& t : a.temp_dropped) temporary_.dropped(t);
    if (a.session_read_only >= 0) session_read_only_ = a.session_read_only == 1;
    if (a.next_read_only >= 0) next_read_only_ = a.next_read_only == 1;
    if (a.unlock_tables) tables_locked_ = false;
    if (a.measuring) measuring_ = true;
    if (a.reset_session) reset_session_state();
    if (a.retrack && backends_[0] && backends_[0]->ready())
        track_session(*backends_[0], a.reset_session ? tracking_fresh_tag : tracking_set_tag);
    statement_done();
}

void client_session::reset_session_state()
{
    replay_.clear();
    temporary_.clear();
    statements_.clear();
    session_read_only_ = false;
    next_read_only_ = false;
    positions_unknown_ = false;
    tables_locked_ = false;
    measuring_ = false;   // the server's reset turns profiling off and clears its history
    client_tracking_known_ = false;   // the server's default again, read with the next tracking
    start_lexing_as_new_session();
    pinned_ = -1;
    for (std::size_t i = 1; i < backends_.size(); ++i) retire_backend(int(i));
    otx_.end();   // the reset rolled it back
    otx_lost_ = false;
}

}   // namespace causeway::worker
