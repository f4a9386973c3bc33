// The poller's loop (see poller.hh). One libevent timer drives rounds; each
// server's query runs on its own connection with its own deadline, so a dead
// or frozen server is marked down without delaying the others.
#include "daemon/poller.hh"

#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <algorithm>
#include <deque>
#include <memory>
#include <vector>

#include "common/clock.hh"
#include "common/log.hh"
#include "daemon/monitor_conn.hh"
#include "daemon/roles.hh"
#include "daemon/users_loader.hh"
#include "protocol/lex_session.hh"
#include "shm/counters.hh"
#include "worker/libevent_raii.hh"

namespace causeway::daemon {

namespace {

constexpr int min_reconnect_ms = 50;
constexpr int max_reconnect_ms = 2000;

struct server_state {
    std::unique_ptr<monitor_conn> conn;
    common::address addr;
    bool is_primary = false;   // the current decision names this server
    std::size_t slot = 0;   // read slot in the progress block (1..N)
    std::uint64_t identity = 0;
    server_facts facts;   // what the role decision reads
    // The whole positions at the last poll (any number of domains); what is
    // published is their projection on the tracked domains (project()).
    protocol::gtid_list binlog_pos;   // @@gtid_binlog_pos
    protocol::gtid_list slave_pos;   // @@gtid_slave_pos
    std::uint64_t binlog_epoch = 0;   // the epoch of the poll that read binlog_pos (0: not numbered)
    std::uint64_t epoch_in_flight = 0;   // the position query out now is that numbered primary poll
    // The highest epoch whose primary position this server has applied, and
    // that position (so that the claim survives the queue's pruning).
    std::uint64_t covered_epoch = 0;
    protocol::gtid_list covered_pos;
    bool over_limit = false;   // the last poll found more domains than max_gtid_domains
    std::string sql_mode;   // @@global.sql_mode, as last polled
    bool sql_mode_differs = false;   // a replica's differs from the primary's (warned)
    shm::progress_snapshot last;   // what we last published
    std::uint64_t next_connect_ns = 0;
    int reconnect_ms = min_reconnect_ms;
    std::uint64_t next_health_ns = 0;
    bool health_query = false;   // the query in flight is the health check
    bool was_down = false;
    bool late = false;   // the last query passed its soft deadline
    shm::backend_state state_before_late = shm::backend_state::unknown;
    common::log_rate_limit log_limit{2};
};

class poller final : private monitor_events {
public:
    poller(const common::config& cfg, const shm::segment& seg, event_base* base, int wake_fd, SSL_CTX* backend_tls)
        : cfg_(cfg),
          seg_(seg),
          base_(base),
          progress_(seg.progress()),
          table_(seg.sessions()),
          counters_(seg.poller()),
          roles_(seg.roles()),
          wake_fd_(wake_fd),
          backend_tls_(backend_tls),
          users_(cfg, base, seg.accounts(), backend_tls)
    {
        primary_identity_ = shm::backend_identity(cfg.primary);
        entry0_.backend_id = primary_identity_;
        if (wake_fd_ >= 0) {
            wake_.reset(event_new(base, wake_fd_, EV_READ | EV_PERSIST, on_wake, this));
            event_add(wake_.get(), nullptr);
        }
        for (auto& b : cfg.read_slots()) add_server(b);
        // The starting role: until the servers say otherwise, [primary] is
        // the one whose loss means "down" rather than "switching".
        last_primary_slot_ = cfg.primary_slot();
        tick_.reset(event_new(base, -1, EV_PERSIST, on_tick, this));
        // Bridge mode routes nothing by progress, but it follows the primary:
        // read_only comes from the position poll, which a round at the health
        // rate would always replace by the health check. 100 ms keeps a
        // switchover seen within a poll and the servers' load negligible.
        interval_ms_ = cfg.routing() == common::routing_mode::bridge ? std::min(cfg.health_interval_ms, 100)
                                                                     : cfg.poll_interval_ms;
        timeval tv{interval_ms_ / 1000, (interval_ms_ % 1000) * 1000};
        event_add(tick_.get(), &tv);
        // A whole sweep of the session table about once a second.
        std::size_t rounds_per_second = std::max(1, 1000 / interval_ms_);
        reclaim_chunk_ = std::max<std::size_t>(1, table_.buckets() / rounds_per_second + 1);
    }

    void round()
    {
        std::uint64_t now = common::monotonic_ns();
        shm::add(counters_.rounds);
        for (auto& s : servers_) poll_one(*s, now);
        decide(now);
        publish_watermark(now);
        reclaim();
        load_users(now);
        progress_.heartbeat(now);
    }

private:
    void add_server(const common::backend_config& b)
    {
        auto s = std::make_unique<server_state>();
        s->addr = b.addr;
        s->slot = servers_.size() + 1;
        s->identity = shm::backend_identity(b);
        monitor_events& events = *this;
        s->conn = std::make_unique<monitor_conn>(base_, int(s->slot), b.name, b.addr, events);
        worker::login_params tls;
        worker::use_backend_tls(tls, cfg_, b.name, backend_tls_);
        s->conn->use_tls(tls.tls_ctx, tls.tls_verify);
        s->last.backend_id = s->identity;
        s->last.state = shm::backend_state::unknown;
        servers_.push_back(std::move(s));
    }

    // Past two intervals without an answer (but never under 50 ms: on a busy
    // host the poller itself can be off the CPU that long) a server counts as
    // down and reads avoid it; its connection is given up only after a
    // second, so such a host does not cause reconnect storms either.
    int late_ms() const { return std::max(2 * interval_ms_, 50); }
    int query_timeout_ms() const { return std::max(10 * interval_ms_, 1000); }

    void poll_one(server_state& s, std::uint64_t now)
    {
        monitor_conn& c = *s.conn;
        if (!c.connected() && !c.connecting()) {
            if (now < s.next_connect_ns) return;
            c.connect(cfg_.monitor_user, cfg_.monitor_password, std::max(cfg_.connect_timeout_ms / 3, late_ms()));
            return;
        }
        if (!c.ready()) return;   // logging in, or last query still out (its deadline handles it)
        // Every server gets both queries, whatever its role: roles change.
        s.health_query = now >= s.next_health_ns;
        const char* sql = s.health_query ? "SHOW SLAVE STATUS"
                                         : "SELECT @@gtid_slave_pos, @@read_only, @@gtid_binlog_pos, @@global.sql_mode";
        // A position poll of the primary is numbered before it is sent: a
        // write whose OK came before this number was taken is in its answer
        // (shm/layout.hh session_state, the epoch).
        s.epoch_in_flight = !s.health_query && s.is_primary ? table_.next_epoch() : 0;
        c.query(sql, s.health_query ? std::max(late_ms(), 200) : late_ms(), query_timeout_ms());
    }

    server_state& server(monitor_conn& m) { return *servers_[std::size_t(m.index()) - 1]; }

    void monitor_up(monitor_conn& m) override
    {
        server_state& s = server(m);
        s.reconnect_ms = min_reconnect_ms;
        s.next_health_ns = 0;   // learn thread states and read_only right away
        s.facts.polled = false;
        if (s.is_primary) progress_.set_primary_greeting(m.server_version(), m.server_charset());
        if (s.was_down) CW_LOG(LOG_NOTICE, "%s is reachable again", m.describe().c_str());
        s.was_down = false;
    }

    void monitor_down(monitor_conn& m, const std::string& why) override
    {
        server_state& s = server(m);
        s.facts.down = true;
        s.facts.polled = false;
        shm::add(counters_.poll_errors);
        ++s.last.poll_errors;
        if (!s.was_down && s.log_limit.allow())
            CW_LOG(LOG_WARNING, "%s is down: %s", m.describe().c_str(), why.c_str());
        s.was_down = true;
        s.late = false;
        s.last.state = shm::backend_state::down;
        progress_.publish(std::size_t(m.index()), s.last);
        s.next_connect_ns = common::monotonic_ns() + std::uint64_t(s.reconnect_ms) * 1000000u;
        s.reconnect_ms = std::min(s.reconnect_ms * 2, max_reconnect_ms);
        decide(common::monotonic_ns());
    }

    void monitor_late(monitor_conn& m) override
    {
        server_state& s = server(m);
        shm::add(counters_.poll_errors);
        ++s.last.poll_errors;
        CW_LOG(LOG_DEBUG, "%s: poll answer late", m.describe().c_str());
        s.late = true;
        s.state_before_late = s.last.state;
        s.last.state = shm::backend_state::down;
        progress_.publish(std::size_t(m.index()), s.last);
    }

    void monitor_answer(monitor_conn& m, protocol::small_result& a, std::uint64_t rtt_ns) override
    {
        server_state& s = server(m);
        if (s.late) {   // it answered after all: back to what it was
            s.late = false;
            s.last.state = s.state_before_late;
        }
        std::uint64_t now = common::monotonic_ns();
        shm::add(counters_.polls);
        ++s.last.polls;
        if (a.is_error || (!s.health_query && (a.rows.size() != 1 || a.rows[0].empty()))) {
            shm::add(counters_.poll_errors);
            ++s.last.poll_errors;
            s.last.last_error = a.error_code;
            if (s.log_limit.allow())
                CW_LOG(LOG_WARNING, "%s: poll failed: %d %s", m.describe().c_str(), a.error_code,
                       a.error_message.c_str());
            s.last.state = shm::backend_state::unknown;
            progress_.publish(std::size_t(m.index()), s.last);
            return;
        }
        if (s.health_query) return apply_health(s, a, now);
        auto slave = protocol::parse_gtid_list(a.rows[0][0].value_or(""));
        auto binlog = protocol::parse_gtid_list(a.rows[0].size() > 2 ? a.rows[0][2].value_or("") : "");
        if (!slave || !binlog) {
            shm::add(counters_.poll_errors);
            if (s.log_limit.allow())
                CW_LOG(LOG_ERR, "%s: unparsable GTID position '%s' / '%s'", m.describe().c_str(),
                       a.rows[0][0].value_or("").c_str(),
                       a.rows[0].size() > 2 ? a.rows[0][2].value_or("").c_str() : "");
            s.last.state = shm::backend_state::unknown;   // readers then route to the primary
            progress_.publish(s.slot, s.last);
            return;
        }
        // What this server has applied, as a read can see it: its
        // gtid_slave_pos. Its gtid_binlog_pos is not: with log_slave_updates a
        // replicated transaction is in the binlog before its rows are visible
        // (the engine commits after the binlog write), so a read routed on it
        // could miss them. That holds even for a server the last health check
        // saw not replicating: START SLAVE may have run since (a re-pointed
        // replica after a split brain read stale that way). Only the primary's
        // binlog counts, for entry 0; reads reach the primary through entry 0,
        // never through its read slot. A former primary not re-pointed yet
        // serves reads once its gtid_slave_pos shows what it has.
        s.binlog_pos = std::move(*binlog);
        s.slave_pos = std::move(*slave);
        s.binlog_epoch = s.is_primary ? s.epoch_in_flight : 0;
        if (s.binlog_epoch) note_epoch(s.binlog_epoch, s.binlog_pos);
        check_domain_count(s);
        if (!s.is_primary) note_covered_epoch(s);
        protocol::gtid_position pos =
            project(s.is_primary ? s.binlog_pos : s.slave_pos, s.is_primary ? 0 : s.covered_epoch);
        if (!(pos == s.last.position) || s.last.advanced_ns == 0) s.last.advanced_ns = now;
        bool again = !s.is_primary && now < fast_until_ns_;
        s.last.position = pos;
        bool read_only = a.rows[0].size() > 1 && a.rows[0][1].value_or("0") == "1";
        // A change of read_only is a role change under way: learn at once what
        // the server replicates from, instead of at the next health check.
        if (s.facts.polled && read_only != s.facts.read_only) s.next_health_ns = 0;
        s.facts.read_only = s.last.read_only = read_only;
        // New sessions start with the global sql_mode: workers lex their
        // statements with it until the session sets its own.
        if (a.rows[0].size() > 3 && a.rows[0][3]) {
            if (!s.last.sql_mode_known || *a.rows[0][3] != s.sql_mode) {   // read anew only when it changed
                protocol::lex_options lex;
                protocol::apply_sql_mode(lex, *a.rows[0][3]);
                s.last.sql_mode_known = true;
                s.last.ansi_quotes = lex.ansi_quotes;
                s.last.no_backslash_escapes = lex.no_backslash_escapes;
                s.sql_mode = std::move(*a.rows[0][3]);
            }
            check_sql_mode(s);
        }
        s.facts.polled = true;
        s.facts.down = false;
        s.last.last_good_poll_ns = now;
        s.last.poll_rtt_ns = rtt_ns;
        s.last.last_error = 0;
        // A replica's state comes from its health check (the first query after
        // every connect); the primary is up whenever it answers.
        if (s.is_primary)
            s.last.state = shm::backend_state::up;
        else if (s.last.state == shm::backend_state::down || s.last.state == shm::backend_state::unknown)
            s.last.state = s.last.io_running && s.last.sql_running ? shm::backend_state::up
                                                                   : shm::backend_state::replication_stopped;
        if (s.is_primary) note_primary_position(s.binlog_pos, now);
        s.last.lagging = lagging(s, now);
        progress_.publish(s.slot, s.last);
        if (s.is_primary) publish_primary_entry(s);
        if (again) {   // a read is waiting: poll this replica again right away
            progress_.heartbeat(now);
            poll_one(s, now);
        }
    }

    // A worker started waiting for a replica: poll the replicas back to back
    // for the length of a wait budget.
    static void on_wake(evutil_socket_t fd, short, void* arg)
    {
        auto& self = *static_cast<poller*>(arg);
        std::uint64_t n;
        if (read(fd, &n, sizeof n) != sizeof n) return;
        std::uint64_t now = common::monotonic_ns();
        bool was_fast = now < self.fast_until_ns_;
        self.fast_until_ns_ = now + std::uint64_t(std::max(self.cfg_.causal_wait_ms, 1)) * 1000000u;
        if (was_fast) return;   // the replicas are being polled back to back already
        for (auto& s : self.servers_)
            if (!s->is_primary) self.poll_one(*s, now);
    }

    void apply_health(server_state& s, protocol::small_result& a, std::uint64_t now)
    {
        s.next_health_ns = now + std::uint64_t(cfg_.health_interval_ms) * 1000000u;
        auto column = [&](const char* name) -> std::string {
            int i = a.column(name);
            if (i < 0 || a.rows.empty()) return {};
            return a.rows[0][std::size_t(i)].value_or("");
        };
        std::string io = column("Slave_IO_Running");
        s.last.io_running = io == "Yes";
        s.last.sql_running = column("Slave_SQL_Running") == "Yes";
        // Replication stopped by an error: its data may have diverged (a
        // duplicate key) or it will never catch up. An IO thread that is only
        // reconnecting (its master is down: "Connecting") has not stopped.
        bool sql_error = column("Last_SQL_Errno") != "0" && !column("Last_SQL_Errno").empty() && !s.last.sql_running;
        bool io_error = column("Last_IO_Errno") != "0" && !column("Last_IO_Errno").empty() && io == "No";
        bool was_error = s.last.repl_error;
        s.last.repl_error = sql_error || io_error;
        if (s.last.repl_error && !was_error)
            CW_LOG(LOG_WARNING, "%s: replication stopped on an error (SQL %s, IO %s): no reads until it runs again",
                   s.conn->describe().c_str(), column("Last_SQL_Errno").c_str(), column("Last_IO_Errno").c_str());
        bool listed = false;
        if (!a.rows.empty()) {
            std::string host = column("Master_Host");
            std::uint16_t port = std::uint16_t(std::atoi(column("Master_Port").c_str()));
            for (auto& other : servers_)
                if (other.get() != &s && same_server(host, port, other->addr)) listed = true;
        }
        s.facts.replicates_from_listed = listed;
        bool replicating = !a.rows.empty() && s.last.io_running && s.last.sql_running;
        s.last.state = replicating || s.is_primary ? shm::backend_state::up : shm::backend_state::replication_stopped;
        progress_.publish(s.slot, s.last);
        decide(now);
    }

    // The role decision, published when it changes; entry 0 follows the primary.
    void decide(std::uint64_t now)
    {
        std::vector<server_facts> facts;
        for (auto& s : servers_) facts.push_back(s->facts);
        role_decision d = decide_roles(facts, last_primary_slot_);
        if (d.state == shm::primary_state::split_brain) {
            roles_.count_split_brain();
            if (state_ != d.state) {
                std::string names;
                for (auto& s : servers_)
                    if (d.writable_slots & (1ull << s->slot))
                        names += (names.empty() ? "" : ", ") + s->conn->describe();
                CW_LOG(LOG_CRIT, "split brain: %s are all writable; no writes are routed until one remains",
                       names.c_str());
            }
        }
        std::size_t primary = d.state == shm::primary_state::up ? d.primary_slot : 0;
        if (primary != primary_slot_ || d.state != state_) {
            if (primary) {
                server_state& p = *servers_[primary - 1];
                if (last_primary_slot_ != primary) {
                    roles_.count_primary_change();
                    CW_LOG(LOG_NOTICE, "%s is the primary now (was %s)", p.conn->describe().c_str(),
                           servers_[last_primary_slot_ - 1]->conn->describe().c_str());
                } else if (state_ != shm::primary_state::up) {
                    CW_LOG(LOG_NOTICE, "%s is the primary", p.conn->describe().c_str());
                }
                last_primary_slot_ = primary;
                progress_.set_primary_greeting(p.conn->server_version(), p.conn->server_charset());
            } else if (d.state != shm::primary_state::split_brain && state_ != shm::primary_state::unknown) {
                CW_LOG(LOG_WARNING, "no primary: %s",
                       d.state == shm::primary_state::down
                           ? "the primary is unreachable and no other server is writable"
                           : "no server is writable (a switchover?)");
            }
            for (auto& s : servers_) s->is_primary = s->slot == primary;
            primary_slot_ = primary;
            state_ = d.state;
        }
        // With none up (down, read_only), the slot names the last primary, so
        // that the error a client gets can name it.
        const bool last_known = d.state == shm::primary_state::down || d.state == shm::primary_state::read_only;
        roles_.publish(primary ? primary : last_known ? last_primary_slot_ : 0, d.state, d.writable_slots, now);
        if (primary) {
            publish_primary_entry(*servers_[primary - 1]);
        } else {
            entry0_.state = shm::backend_state::down;
            progress_.publish(shm::primary_index, entry0_);
        }
    }

    // Entry 0 is the role: the primary's binlog position and poll times.
    void publish_primary_entry(const server_state& s)
    {
        if (!s.facts.polled) return;
        entry0_ = s.last;
        entry0_.backend_id = primary_identity_;
        entry0_.position = project(s.binlog_pos, 0);
        entry0_.state = shm::backend_state::up;
        progress_.publish(shm::primary_index, entry0_);
        if (!table_.floor_set() && table_.init_floor(s.binlog_pos, s.binlog_epoch))
            CW_LOG(LOG_INFO, "session floor set to the primary's position %s", table_.floor().to_string().c_str());
    }

    // What a progress entry shows of a whole position: the domains the
    // session table tracks (nothing requires any other one) and, once any
    // session has needed it, the epoch this server has covered.
    protocol::gtid_position project(const protocol::gtid_list& whole, std::uint64_t epoch) const
    {
        protocol::gtid_position p;
        for (std::uint32_t id : table_.tracked_domains()) {
            auto it = std::lower_bound(whole.begin(), whole.end(), id,
                                       [](const protocol::gtid& g, std::uint32_t d) { return g.domain < d; });
            if (it != whole.end() && it->domain == id) (void)p.set(*it);   // <= max_tracked_domains: fits
        }
        if (epoch && table_.epoch_used()) (void)p.set(protocol::gtid{shm::epoch_domain, 0, epoch});
        return p;
    }

    // The primary's position as the poll numbered `epoch` read it. Polls
    // that read the same position share one entry (the latest number: the
    // highest epoch covering it). Bounded: entries every replica has passed
    // go, and past max_epochs the oldest go (a replica that only covers
    // those keeps the epoch it had: slower, never stale).
    void note_epoch(std::uint64_t epoch, const protocol::gtid_list& pos)
    {
        if (!epochs_.empty() && epochs_.back().second == pos) {
            epochs_.back().first = std::max(epochs_.back().first, epoch);
            return;
        }
        epochs_.emplace_back(epoch, pos);
        std::uint64_t passed = ~std::uint64_t(0);
        for (auto& sp : servers_)
            if (!sp->is_primary) passed = std::min(passed, sp->covered_epoch);
        while (epochs_.size() > 1 && (epochs_.front().first <= passed || epochs_.size() > max_epochs))
            epochs_.pop_front();
    }

    // The highest epoch whose whole primary position this replica has
    // applied, in every domain (the untracked ones included).
    void note_covered_epoch(server_state& s)
    {
        for (auto it = epochs_.rbegin(); it != epochs_.rend(); ++it) {
            if (it->first <= s.covered_epoch) break;
            if (protocol::list_covers(s.slave_pos, it->second)) {
                s.covered_epoch = it->first;
                s.covered_pos = it->second;
                return;
            }
        }
        // Nothing newer: the old claim holds while the position still covers
        // what it was made on (a replica reset or re-pointed may go back).
        if (s.covered_epoch && !protocol::list_covers(s.slave_pos, s.covered_pos)) {
            s.covered_epoch = 0;
            s.covered_pos.clear();
        }
    }

    // More domains than the session table tracks one by one: writes in the
    // others still route correctly (the epoch), but their sessions read from
    // the primary a little longer. Said once per server each time it starts.
    // A session that sets no sql_mode of its own reads on a replica with the
    // replica's global one: the same statement can answer otherwise there
    // (NO_BACKSLASH_ESCAPES, PIPES_AS_CONCAT, ...). Causeway cannot set a
    // server's globals; it says so, once per change.
    void check_sql_mode(server_state& s)
    {
        if (s.is_primary || primary_slot_ == 0) return;
        const server_state& p = *servers_[primary_slot_ - 1];
        if (!p.last.sql_mode_known) return;
        const bool differs = s.sql_mode != p.sql_mode;
        if (differs && !s.sql_mode_differs)
            CW_LOG(LOG_WARNING,
                   "%s: global sql_mode '%s' differs from the primary's '%s': reads of sessions that set no "
                   "sql_mode run there with another one; set the same sql_mode on every server",
                   s.conn->describe().c_str(), s.sql_mode.c_str(), p.sql_mode.c_str());
        else if (!differs && s.sql_mode_differs)
            CW_LOG(LOG_NOTICE, "%s: global sql_mode is the primary's again", s.conn->describe().c_str());
        s.sql_mode_differs = differs;
    }

    void check_domain_count(server_state& s)
    {
        const protocol::gtid_list& whole = s.is_primary ? s.binlog_pos : s.slave_pos;
        const std::size_t n = whole.size();
        if (s.is_primary)
            counters_.primary_domains.store(n, std::memory_order_relaxed);
        else {
            std::uint64_t most = 0;
            for (auto& sp : servers_)
                if (!sp->is_primary) most = std::max<std::uint64_t>(most, sp->slave_pos.size());
            counters_.replica_domains.store(most, std::memory_order_relaxed);
        }
        const bool over = n > table_.domain_capacity();
        if (over) shm::add(counters_.domain_limit_polls);
        if (over && !s.over_limit)
            CW_LOG(LOG_WARNING,
                   "%s: %s names %zu GTID domains, more than max_gtid_domains = %zu: the sessions that write in "
                   "the others read from the primary until the replicas have applied the primary's whole position",
                   s.conn->describe().c_str(), s.is_primary ? "gtid_binlog_pos" : "gtid_slave_pos", n,
                   table_.domain_capacity());
        else if (!over && s.over_limit)
            CW_LOG(LOG_NOTICE, "%s: %zu GTID domains, within max_gtid_domains again", s.conn->describe().c_str(), n);
        s.over_limit = over;
    }

    // Samples of the primary's position, for max_replica_lag_ms: a server
    // lags when it has not applied what the primary had that long ago.
    void note_primary_position(const protocol::gtid_list& pos, std::uint64_t now)
    {
        if (cfg_.max_replica_lag_ms <= 0) return;
        if (samples_.empty() || !(samples_.back().second == pos)) samples_.emplace_back(now, pos);
        std::uint64_t limit = std::uint64_t(cfg_.max_replica_lag_ms) * 1000000u;
        while (samples_.size() > 1 && now - samples_[1].first >= limit) samples_.pop_front();
        if (samples_.size() > 100000) samples_.pop_front();
    }

    bool lagging(const server_state& s, std::uint64_t now) const
    {
        if (cfg_.max_replica_lag_ms <= 0 || s.is_primary || samples_.empty()) return false;
        std::uint64_t limit = std::uint64_t(cfg_.max_replica_lag_ms) * 1000000u;
        const auto& [at, pos] = samples_.front();
        return now - at >= limit && !protocol::list_covers(s.slave_pos, pos);
    }

    // What every live replica has applied: entries at or below it carry no
    // information and may be reclaimed (after the floor is raised to them).
    void publish_watermark(std::uint64_t now)
    {
        if (!table_.floor_set()) return;
        std::uint64_t max_age = std::uint64_t(cfg_.progress_max_age_ms) * 1000000u;
        bool any = false;
        protocol::gtid_position applied;
        for (auto& sp : servers_) {
            auto& s = *sp;
            // Over the servers that can serve reads only: one that is broken,
            // stuck or the primary must not hold back reclaim (DESIGN.md §4:
            // it is used again once it reaches the floor).
            if (s.is_primary || s.last.repl_error || s.last.lagging) continue;
            if (s.last.state == shm::backend_state::down || s.last.state == shm::backend_state::unknown) continue;
            if (s.last.last_good_poll_ns == 0 || now - s.last.last_good_poll_ns > max_age) continue;
            if (!any)
                applied = s.last.position;
            else
                applied.meet(s.last.position);
            any = true;
        }
        if (any) table_.publish_watermark(applied);
    }

    void reclaim()
    {
        if (!table_.floor_set() || cfg_.routing() == common::routing_mode::bridge) return;
        auto r = table_.reclaim(reclaim_cursor_, reclaim_chunk_);
        reclaim_cursor_ = (reclaim_cursor_ + reclaim_chunk_) % table_.buckets();
        if (r.reclaimed) shm::add(counters_.reclaimed_entries, r.reclaimed);
        if (r.spills) shm::add(counters_.reclaimed_spills, r.spills);
        sweep_occupied_ += r.scanned - r.reclaimed;
        if (reclaim_cursor_ < reclaim_chunk_) {   // wrapped: a full pass is done
            shm::add(counters_.reclaim_sweeps);
            counters_.table_occupied.store(sweep_occupied_, std::memory_order_relaxed);
            sweep_occupied_ = 0;
        }
    }

    // users_from_primary: from whichever server is the primary now.
    void load_users(std::uint64_t now)
    {
        if (!cfg_.users_from_primary) return;
        if (primary_slot_ == 0 || state_ != shm::primary_state::up) return users_.tick(nullptr, now);
        const server_state& p = *servers_[primary_slot_ - 1];
        common::backend_config b{p.conn->name(), p.addr};
        users_.tick(&b, now);
    }

    static void on_tick(evutil_socket_t, short, void* arg) { static_cast<poller*>(arg)->round(); }

    const common::config& cfg_;
    const shm::segment& seg_;
    event_base* base_;
    shm::progress_block progress_;
    shm::session_table table_;
    shm::poller_counters& counters_;
    shm::role_view roles_;
    std::vector<std::unique_ptr<server_state>> servers_;   // [i]: read slot i + 1
    std::size_t primary_slot_ = 0;   // the current decision's primary (0: none)
    std::size_t last_primary_slot_ = 0;   // the last primary there was
    shm::primary_state state_ = shm::primary_state::unknown;
    shm::progress_snapshot entry0_;   // what entry 0 (the role) last showed
    std::uint64_t primary_identity_ = 0;
    std::deque<std::pair<std::uint64_t, protocol::gtid_list>> samples_;
    static constexpr std::size_t max_epochs = 4096;
    std::deque<std::pair<std::uint64_t, protocol::gtid_list>> epochs_;   // (epoch, primary position), oldest first
    worker::event_ptr tick_;
    int wake_fd_;
    SSL_CTX* backend_tls_;   // backend_tls of this generation (null: off everywhere)
    worker::event_ptr wake_;
    std::uint64_t fast_until_ns_ = 0;
    int interval_ms_ = 10;
    std::size_t reclaim_cursor_ = 0;
    std::size_t reclaim_chunk_ = 1;
    std::uint64_t sweep_occupied_ = 0;
    users_loader users_;   // last: it may hold a connection until the loop ends
};

void on_stop(evutil_socket_t, short, void* arg)
{
    event_base_loopbreak(static_cast<event_base*>(arg));
}

}   // namespace

int run_poller(const common::config& cfg, const shm::segment& seg, unsigned generation, int wake_fd,
               SSL_CTX* backend_tls)
{
    common::log_set_role("poller");
    prctl(PR_SET_NAME, "causeway-poll");
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    signal(SIGHUP, SIG_IGN);
    signal(SIGPIPE, SIG_IGN);
    signal(SIGQUIT, SIG_IGN);   // the poller has no clients to drain

    if (cfg.monitor_user.empty()) {   // the supervisor does not start a poller then
        CW_LOG(LOG_ERR, "[monitor] user is not set: replica progress cannot be polled");
        return 2;
    }
    // Precise timers (as the workers): libevent's default clock,
    // CLOCK_MONOTONIC_COARSE, moves in jiffies (4 ms on a HZ=250 kernel), which
    // stretched poll_interval_ms = 1 to ~220 polls/s (t/bench/progress_delay.pl).
    event_config* ec = event_config_new();
    event_config_set_flag(ec, EVENT_BASE_FLAG_PRECISE_TIMER);
    worker::event_base_ptr base(event_base_new_with_config(ec));
    event_config_free(ec);
    if (!base) return 1;
    auto& c = seg.poller();
    c.pid.store(std::uint64_t(getpid()), std::memory_order_relaxed);
    c.generation.store(generation, std::memory_order_relaxed);
    worker::event_ptr term(evsignal_new(base.get(), SIGTERM, on_stop, base.get()));
    worker::event_ptr intr(evsignal_new(base.get(), SIGINT, on_stop, base.get()));
    event_add(term.get(), nullptr);
    event_add(intr.get(), nullptr);
    {
        poller p(cfg, seg, base.get(), wake_fd, backend_tls);
        p.round();
        event_base_dispatch(base.get());
    }
    CW_LOG(LOG_DEBUG, "exiting");
    return 0;
}

}   // namespace causeway::daemon
