// One client connection and the backend connections serving it: the client
// side of the protocol (greeting, authentication, commands), the routing of
// each command to the primary or a replica, and the relay of its answer,
// packet by packet, without buffering whole results. State machine: one
// method per state, dispatched on input.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/answer_digest.hh"
#include "protocol/classifier.hh"
#include "protocol/constants.hh"
#include "protocol/handshake.hh"
#include "protocol/ok_err.hh"
#include "protocol/response.hh"
#include "shm/layout.hh"
#include "worker/answer_rows.hh"
#include "worker/backend_conn.hh"
#include "worker/libevent_raii.hh"
#include "worker/optimistic_tx.hh"
#include "worker/router.hh"
#include "worker/session_state.hh"
#include "worker/worker.hh"

namespace causeway::worker {

class client_session final : private backend_events, private limit_waiter {
public:
    client_session(worker_context& ctx, int fd, const std::string& peer_addr);
    ~client_session();
    client_session(const client_session&) = delete;
    client_session& operator=(const client_session&) = delete;

    void start();
    // Graceful stop: close now if no statement is running and no transaction
    // is open; otherwise close as soon as that becomes true.
    void close_when_idle();

    std::uint32_t id() const { return id_; }
    // The backend running this client's current statement and its server
    // thread id, for KILL QUERY of a Causeway connection id; false when idle.
    bool running_statement(int& backend, std::uint32_t& server_thread) const;
    // The same for a client of another worker, from that worker's board in the segment.
    static bool running_statement(const shm::segment& seg, std::uint32_t client, int& backend,
                                  std::uint32_t& server_thread);
    // The primary slot and server thread of a client of another worker's primary connection.
    static bool primary_thread(const shm::segment& seg, std::uint32_t client, std::uint32_t& slot,
                               std::uint32_t& server_thread);
    // KILL CONNECTION of a Causeway connection id.
    void kill_connection() { close_after_flush(); }
    // wait_clock: route the waiting read again.
    void wait_tick();

    client_session* next = nullptr;   // worker_context::sessions list
    client_session* prev = nullptr;

private:
    enum class state : std::uint8_t {
        handshake,   // greeting sent, waiting for the HandshakeResponse
        auth_switch,   // auth switch sent, waiting for the client's token
        ready,   // idle between commands
        waiting_backend,   // a command waits for a backend's login or a lazy prepare
        waiting_replica,   // a read waits (causal_wait_ms) for a replica to catch up
        waiting_primary,   // a command waits (switchover_wait_ms) for a primary (client_failover.cc)
        waiting_connection,   // a command or login waits (pool_wait_ms) for a place on its server (client_pool.cc)
        fencing,   // a read waits for the primary's position (start_fence)
        probing_primary,   // the primary connection closed: is the server up? (probe_primary)
        migrating,   // an optimistic transaction is replayed on the primary (start_migration)
        in_flight,   // a command's answer is being relayed
        closing,   // flushing a last packet, then closed
        dead,
    };

    // What to change in the session once the current command succeeded.
    struct after_ok {
        bool replay = false;   // append `replay_payload` to the replica replay log
        bool is_use = false;
        std::string replay_payload;
        bool restore_autocommit = false;   // ... then replay SET autocommit = 1
        bool set_database = false;
        std::string database;
        std::string provided;   // with set_database under PROVIDED_IN_DBNAME
        std::vector<std::string> temp_created, temp_dropped;
        bool reset_session = false;   // COM_RESET_CONNECTION
        bool lock_tables = false;   // LOCK TABLES, FLUSH TABLES ... WITH READ LOCK / FOR EXPORT (even if it failed)
        bool unlock_tables = false;
        bool retrack = false;   // the client changed session_track_system_variables
        // SET STATEMENT ... FOR: the server reports the variables of its
        // clause with their temporary values, which end with the statement.
        bool set_statement = false;
        bool measuring = false;   // a SET naming profiling, FLUSH STATUS: see route_request::measuring
        int session_read_only = -1;   // SET SESSION TRANSACTION READ ONLY (1) / WRITE (0)
        int next_read_only = -1;   // SET TRANSACTION READ ONLY (1) / WRITE (0): the next transaction only
        bool prepare = false;   // register the prepared statement
        std::string prepare_sql;
        bool long_data = false;   // SEND_LONG_DATA: the statement's next execute stays on the primary
        bool long_data_reset = false;
        std::uint32_t statement_id = 0;
        std::uint16_t params = 0;   // COM_STMT_PREPARE's answer
        std::string types;   // COM_STMT_EXECUTE: the types block the client sent
        bool types_sent = false;   // the execute carried types (the client's or inserted)
    };

    // The current command: where it goes and what it changes.
    struct command_plan {
        protocol::command cmd = protocol::command::sleep;
        std::uint32_t length = 0;   // of the client's packet
        bool whole = true;   // the packet is in memory (else it streams to the primary)
        int backend = 0;
        shm::route_reason reason = shm::route_reason::primary_bridge;
        bool pin = false;
        bool rewritten = false;   // send `payload` instead of the client's bytes
        bool consumed = false;   // the client's bytes have left its input buffer
        std::string payload;   // the rewritten bytes
        std::string original;   // the client's bytes, kept while a replica may still fail
        after_ok after;
        std::uint32_t statement_id = 0;   // COM_STMT_EXECUTE: the client's id
        bool uses_next_read_only = false;   // the statement that consumes SET TRANSACTION READ ONLY
        // Proven unable to commit a transaction on the primary (a plain read, a
        // literal SET, BEGIN outside a transaction, ...): its OK may lack a position.
        bool cannot_commit = false;
        bool position_seen = false;   // an OK of its answer carried last_gtid
        bool optimistic_start = false;   // starts an optimistic transaction on plan_.backend
        bool ends_transaction = false;   // COMMIT or ROLLBACK
        // It may read session_track_system_variables, whose value on the
        // primary is ours: its rows show the client's (client_variables.cc).
        bool tracking_rows = false;
        bool tracking_by_value = false;   // ... as @@session_track_system_variables
        bool plain_read = false;   // routed as a plain read: its answer changes no variable
        // A COM_QUERY for the primary outside a transaction: `original` is
        // kept in case the old primary refuses it as read-only during a
        // switchover the poller has not seen yet (client_failover.cc).
        bool switch_retry = false;
        // Its answer cannot be repeated on the primary (protocol/unrepeatable.hh):
        // no optimistic transaction may start with it or keep it.
        bool unrepeatable = false;
        optimistic_refusal refusal = optimistic_refusal::none;   // counted at forward()
        std::string otx_replay;   // an execute in an optimistic transaction: its replay form
        bool diagnostics = false;   // SHOW WARNINGS and its kind, sent where the previous statement ran
    };

    static void on_client_read(channel&, void* arg);
    static void on_client_drained(channel&, void* arg);
    static void on_client_event(channel&, short what, void* arg);

    // Client side (client_auth.cc).
    void handle_login_packet(std::string_view payload, std::uint8_t seq);
    void handle_auth_switch_answer(std::string_view token, std::uint8_t seq);
    void finish_login(std::string_view token, std::uint8_t seq);
    void handle_change_user(std::string_view payload);
    bool start_client_tls();
    void login_timer_fired();   // handshake_timeout_ms, or the end of a login's delay
    void hold_login(std::string_view token, std::uint8_t seq, int ms);   // login_timer_fired resumes it
    void start_idle_timer();   // logged in: client_idle_timeout_s starts
    void idle_timer_fired();
    void client_tls_failed();
    std::string client_host() const;

    // Commands (client_session.cc).
    void handle_client_input();
    bool handle_command();   // false: stop processing input for now
    bool dispatch();
    bool forward(backend_conn& b);
    void end_wait(std::uint64_t now_ns);   // a read's wait for a replica is over: count its time
    void relay_client_data();

    // Routing (client_routing.cc).
    bool plan_command(std::string_view payload);
    bool plan_query(std::string_view payload);
    void plan_set(const protocol::statement_info& s, std::string_view query);
    bool plan_kill(std::string_view sql);
    void route_read(const protocol::statement_info& s);
    void keep_for_switch_retry(std::string_view payload);
    bool route_to_diagnostics(std::string_view sql, const protocol::statement_info& s);
    bool fill_route_request(route_request& r, const protocol::statement_info& s);
    void monotonic_requirement(route_request& r, std::vector<read_candidate>& candidates);
    void record_write_position(const protocol::ok_packet& ok);
    // Session variables the primary reports (client_variables.cc).
    void learn_session_variables(const protocol::ok_packet& ok);
    // How this session's statements lex (sql_mode, character_set_client): at
    // login and after a reset from the primary's global sql_mode and the
    // login's character set, then from what the primary reports changed
    // (learn_session_variables).
    void start_lexing_as_new_session();
    void learn_lexing_variable(std::string_view name, std::string_view value);
    void track_session(backend_conn& primary, std::uint64_t tag);
    void tracking_answered(const internal_answer& a);
    std::string as_client_tracks(const protocol::ok_packet& ok) const;
    void plan_prepared_set(const protocol::statement_info& s, const prepared_statement& st);
    bool plan_tracking_read(std::string_view sql);
    void read_tracking_list(backend_conn& primary);
    void record_position(std::span<const protocol::gtid> pos);
    void note_unproven_commit();
    bool start_fence();
    void fence_answered(const internal_answer& a);
    void apply_after_ok();
    void reset_session_state();
    void start_wait();
    bool start_gtid_wait(const route_request& r, bool pin);
    void gtid_wait_answered(int backend, const internal_answer& a);
    void replay_state(backend_conn& b);

    // Optimistic transactions (client_optimistic.cc).
    bool optimistic_may_go_on(const protocol::statement_info& s);
    bool stays_optimistic(const protocol::statement_info& s, std::size_t bytes) const;
    bool optimistic_execute(const protocol::statement_info& s, const prepared_statement& st, const execute_view& v,
                            std::string_view payload);
    bool plan_optimistic_execute(const prepared_statement& st, const protocol::statement_info& s, const execute_view& v,
                                 std::string_view payload, bool& planned);
    bool may_start_or_keep_optimistic() const;
    bool start_migration_for(const protocol::statement_info& s);
    void optimistic_forward(backend_conn& b);
    void optimistic_answered();
    void digest_streamed(evbuffer* in, std::size_t n);
    bool start_migration(bool writes, shm::word* from_start);
    void send_replay();
    void close_migration_statements();
    void migration_answered(const internal_answer& a);
    void finish_migration();

    // Prepared statements (client_statements.cc).
    std::uint32_t named_statement(std::string_view payload) const;
    bool plan_statement_command(std::string_view payload);
    bool plan_execute(std::string_view payload);
    void plan_bulk_execute(std::string_view payload);
    bool prepare_statement_on(backend_conn& b);
    std::string name_prepared_statement(std::string_view prepare_ok);
    void statement_done();
    void close_statement(std::map<std::uint32_t, prepared_statement>::iterator it);

    // Backends. open_backend() returns null when the server cannot be
    // reached now, or when it is at max_backend_connections_per_server: then
    // limited_ names it (a read slot) and the caller may wait_for_connection().
    backend_conn* open_backend(int index);
    backend_pool::key pool_key(int index) const
    {
        // The primary role's connections are pooled by the server that held it.
        return {index, index == 0 ? int(primary_slot_) : index, identity_.user, identity_.database, login_.charset,
                // Compression is between client and proxy only: not a reason for another server session.
                login_.capabilities & ~protocol::cap::compress, login_.mariadb_capabilities};
    }
    backend_conn* active() const { return active_ >= 0 ? backends_[std::size_t(active_)].get() : nullptr; }
    void relay_response();
    void unexpected_bytes(backend_conn& b);
    void response_complete();
    // `statement_end`: a replica connection given back between statements
    // (pool_mode = statement): pooled even though the client stays; with
    // `session`, without a reset (see backend_pool::put()).
    void retire_backend(int index, bool statement_end = false, const std::string* session = nullptr);
    // The session state replayed on replica connections, as one string
    // (backend_pool matches connections kept without a reset by it).
    std::string replay_fingerprint() const;
    void retire_all_backends();
    bool retry_on_primary(const char* why);

    // Following the primary role (client_failover.cc): backends_[0] is the
    // role, the server behind it is read from the role block.
    bool follow_primary();   // at a statement boundary; false: the command was answered here
    bool await_primary();   // a command for the primary; false: it waits, or was answered
    static void on_primary_wait(evutil_socket_t, short, void* arg);
    void arm_primary_wait();
    void prepare_new_primary(backend_conn& b);   // a primary connection after a switch: replay
    bool survive_primary_loss(bool mid_command);   // the primary connection died; false: close the client
    bool hold_read_only_refusal(std::string_view err_payload, std::uint8_t seq);   // true: held, retried later
    void poll_switch_retry();
    // The primary connection closed while the server may still be up (KILL,
    // wait_timeout): a fresh login tells; true while it runs (client_backends.cc).
    bool probe_primary(bool mid_command);
    void primary_probed(bool server_up);

    // Pooled connections and the connection limit (client_pool.cc).
    bool wait_for_connection();   // false: the command (or login) waits, or was refused
    void refuse_for_limit();
    void pooled_connection_dead(backend_conn& b, const std::string& why);
    void release_idle_replicas();   // pool_mode = statement, after an answer
    bool replica_holds_state(int index) const;
    void connection_free() override;   // limit_waiter
    void connection_wait_expired() override;

    // backend_events
    void backend_ready(backend_conn& b) override;
    void backend_login_failed(backend_conn& b, const std::string& why, const std::string& server_error) override;
    void backend_readable(backend_conn& b) override;
    void backend_writable(backend_conn& b) override;
    void backend_closed(backend_conn& b, const std::string& why) override;

    // Output and teardown.
    void send_packet(std::string_view payload, std::uint8_t seq);
    void send_ok(std::uint8_t seq);   // an OK the proxy answers itself, with the session's status
    void send_login_ok(std::uint8_t seq);   // the login's OK, then the compressed protocol if asked for
    void send_error(std::uint16_t code, std::string_view sql_state, const std::string& message, std::uint8_t seq);
    void reject_command(std::uint16_t code, std::string_view sql_state, const std::string& message);
    void protocol_error(std::uint16_t code, const std::string& message);
    void close_after_flush();
    void publish_statement(const backend_conn* b);
    void destroy(const char* why);
    void update_flow_control();
    bool idle() const;
    std::uint16_t client_status() const;
    const char* who() const { return who_.c_str(); }
    void set_who(std::string_view user);

    worker_context& ctx_;
    std::unique_ptr<channel> client_;
    std::vector<std::unique_ptr<backend_conn>> backends_;   // [0] primary, [1 + i] replica i; null until used
    std::vector<std::uint64_t> replayed_;   // per backend: replay_log generation applied
    int active_ = -1;   // the backend answering the current command
    protocol::response_tracker tracker_;
    answer_rows rows_;   // of the current answer, shown with the client's session state
    protocol::handshake_response login_;   // user, database as sent, charset, capabilities, attrs
    session_identity identity_;   // user, current database (no ?sessionId), provided id
    replay_log replay_;
    temporary_tables temporary_;
    std::map<std::uint32_t, prepared_statement> statements_;   // by the id the client uses
    std::uint32_t last_prepared_ = 0;   // what MariaDB's statement id -1 names
    std::uint32_t next_own_statement_id_ = 0xfffffffe;   // ids of statements not prepared on the primary
    std::vector<key_source> keys_;   // scratch
    std::vector<key_source> unrecorded_keys_;   // keys of primary statements since the last GTID
    command_plan plan_;
    // While a COM_CHANGE_USER authenticates: who the connection falls back to.
    struct previous_login {
        std::string user, database;
        session_identity identity;
    };
    std::optional<previous_login> changing_user_from_;
    std::uint64_t wait_started_ns_ = 0;
    std::uint64_t read_sent_ns_ = 0;   // a read's statement went to its backend (0: not a read)
    std::string scramble_;
    std::string password_sha1_;   // of the logged-in user: answers the backends' scrambles
    std::string peer_;   // "127.0.0.1:54321"
    std::string who_;   // "user@127.0.0.1:54321 #7" for log lines
    std::uint32_t id_;
    state state_ = state::handshake;
    std::uint16_t primary_status_ = 0x0002;   // the primary's last status flags (autocommit, in trans)
    std::uint16_t last_status_ = 0x0002;   // the status the client last saw
    int pinned_ = -1;   // a read-only transaction runs on this replica
    int gtid_wait_backend_ = -1;   // a MASTER_GTID_WAIT for the waiting read runs there
    bool gtid_wait_pin_ = false;   // ... for a read-only transaction's BEGIN
    int last_read_backend_ = -1;   // monotonic reads: the replica that served the last read
    int last_answer_backend_ = -1;   // the backend that answered the previous statement (its diagnostics)
    // ... and its answer left something SHOW WARNINGS / SHOW ERRORS would show
    // (or was such a statement): that connection is not given back yet.
    bool last_answer_diagnostics_ = false;
    std::uint64_t last_read_done_ns_ = 0;   // ... and when its answer ended
    bool session_read_only_ = false;   // SET SESSION TRANSACTION READ ONLY
    bool next_read_only_ = false;   // SET TRANSACTION READ ONLY, not yet used by a transaction
    bool positions_unknown_ = false;   // a write's GTID could not be read: reads stay on the primary
    // A statement on the primary may have committed without reporting its
    // position (tracking switched off, a procedure, ...): before the next read
    // may leave the primary, the session learns the primary's position.
    bool fence_pending_ = false;
    bool reuse_backends_ = false;   // the client left between commands: its backends go to the pool
    bool tables_locked_ = false;   // see route_request::tables_locked
    // What the client's own session_track_system_variables is (the primary
    // connection tracks '*'): its OKs show only these variables. Unknown
    // until the server answered tracking_lists_query: OKs then pass as sent.
    std::string client_tracking_;
    bool client_tracking_known_ = false;
    // A new or reset server session's list (the server's default) is read
    // only before the first statement that needs it (read_tracking_list()):
    // a connection that only reads never pays that query.
    bool tracking_read_pending_ = false;
    // A SET named profiling (on or off: a later SET profiling=0 keeps the
    // history SHOW PROFILES shows), or FLUSH STATUS, succeeded: until a reset
    // the session stays on the primary (route_request::measuring).
    bool measuring_ = false;
    protocol::lex_options lex_;   // see start_lexing_as_new_session
    bool probe_mid_command_ = false;   // probing_primary: the connection closed during a command
    optimistic_transaction otx_;
    protocol::answer_digest otx_digest_;   // of the answer being relayed from the transaction's replica
    bool digesting_ = false;   // ... while that runs
    std::size_t digest_skip_ = 0;   // header bytes of a streamed packet not to digest
    std::size_t migration_left_ = 0;   // replayed statements not answered yet
    bool migration_failed_ = false;   // an answer differed
    std::size_t migration_prepares_left_ = 0;   // prepares of the replayed executes not answered yet
    std::vector<std::uint32_t> migration_ids_;   // per replayed statement: its execute's id on the primary
    bool migration_writes_ = false;   // a write moves the transaction (not an unrepeatable read)
    // Nothing but BEGIN was answered on the replica: a successful move counts
    // here (a transaction sent to the primary from the start), not as migrated.
    shm::word* migration_from_start_ = nullptr;
    bool otx_lost_ = false;   // the transaction's replica went away: its next statement fails
    std::uint8_t last_client_seq_ = 0;
    std::uint8_t login_ok_seq_ = 0;   // nonzero: the client's OK waits for the primary's login
    std::uint8_t login_seq_ = 1;   // of the HandshakeResponse: 2 after an SSLRequest
    // A login held for auth_failure_delay_ms, or until a load of the accounts
    // answers accounts_ticket_: the token and sequence id it resumes with.
    bool login_delayed_ = false, login_delay_done_ = false;
    std::string delayed_token_;
    std::uint8_t delayed_seq_ = 0;
    std::uint64_t accounts_ticket_ = 0;   // nonzero: waiting for that load (until accounts_wait_until_ms_)
    std::uint64_t accounts_wait_until_ms_ = 0;
    bool accounts_reloaded_ = false;   // this login waited for a load already: its answer is final
    bool accounts_wait_first_load_ = false;   // none had succeeded: any load will do
    std::uint64_t backend_stream_left_ = 0;   // bytes of the current server packet still to relay
    std::uint64_t client_stream_left_ = 0;   // likewise for a large client packet
    bool backend_continuation_ = false;   // the last server chunk was 16 MiB - 1: more follows
    bool client_continuation_ = false;
    bool response_started_ = false;   // a byte of the current answer reached the client
    bool response_error_ = false;   // the current answer holds an ERR
    bool backend_paused_ = false;
    bool client_paused_ = false;
    bool close_when_idle_ = false;
    bool read_timer_armed_ = false;   // replica_read_timeout_ms runs on the active replica
    std::uint64_t last_command_ms_ = 0;   // CLOCK_MONOTONIC of the last command or answer (idle timeout)
    // The primary role (client_failover.cc).
    std::size_t primary_slot_ = 0;   // the server behind backends_[0]
    bool primary_switched_ = false;   // backends_[0] was replaced after a primary change
    bool transaction_lost_ = false;   // a transaction died with its server: the next command gets ERR 1213
    std::uint64_t primary_wait_started_ns_ = 0;
    std::uint64_t primary_generation_ = 0;   // of the role block when the last command left for the primary
    std::string held_refusal_;   // the old primary's ERR 1290 while a switch_retry waits
    std::uint8_t held_refusal_seq_ = 0;
    event_ptr primary_wait_timer_;
    // The connection limit (client_pool.cc).
    int limited_ = -1;   // the server the last open_backend() found at its limit, or -1
    int limit_wait_server_ = -1;   // ... the one this command waits for
    std::uint64_t limit_wait_started_ns_ = 0;   // 0: not waiting
};

}   // namespace causeway::worker
