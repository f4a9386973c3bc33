// Client session lifecycle, command intake and dispatch, and the two relays
// (answers from a backend to the client; large packets and LOAD DATA files
// from the client to the primary). Packets move between evbuffers without
// copies; only packets the proxy must read (terminators, OK, ERR) are made
// contiguous. Routing decisions are in client_routing.cc, the backend
// connections' own events in client_backends.cc.
#include "worker/client_session.hh"

#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/clock.hh"
#include "common/log.hh"
#include "protocol/bytes.hh"
#include "protocol/constants.hh"
#include "protocol/ok_err.hh"
#include "shm/counters.hh"
#include "worker/packet_reader.hh"
#include "worker/session_vars.hh"
#include "worker/topology_view.hh"

namespace causeway::worker {

using namespace protocol;

namespace {
// Server packets up to this size that the tracker must read are pulled up whole.
constexpr std::uint32_t response_inspect_limit = 1u << 16;
// Flow control: stop reading one side while the other's output holds this much.
constexpr std::size_t output_high_water = 1u << 20;
constexpr std::size_t output_low_water = 256u << 10;
// Commands a client may send ahead of its answers before it is read no more,
// in units of max_packet (the largest command read whole).
constexpr std::size_t pipeline_packets = 4;

const char* command_name(std::uint8_t c)
{
    switch (command(c)) {
        case command::binlog_dump: return "COM_BINLOG_DUMP";
        case command::binlog_dump_gtid: return "COM_BINLOG_DUMP_GTID";
        case command::register_slave: return "COM_REGISTER_SLAVE";
        default: return "this command";
    }
}

bool is_relayed(std::uint8_t c)
{
    switch (command(c)) {
        case command::init_db:
        case command::query:
        case command::field_list:
        case command::create_db:
        case command::drop_db:
        case command::refresh:
        case command::shutdown:
        case command::statistics:
        case command::process_info:
        case command::process_kill:
        case command::debug:
        case command::ping:
        case command::stmt_prepare:
        case command::stmt_execute:
        case command::stmt_send_long_data:
        case command::stmt_close:
        case command::stmt_reset:
        case command::set_option:
        case command::stmt_fetch:
        case command::stmt_bulk_execute:
        case command::reset_connection: return true;
        default: return false;
    }
}

void free_session_later(evutil_socket_t, short, void* arg)
{
    delete static_cast<client_session*>(arg);
}
}   // namespace

client_session::client_session(worker_context& ctx, int fd, const std::string& peer_addr)
    : ctx_(ctx),
      client_(std::make_unique<channel>(ctx.base, fd)),
      peer_(peer_addr),
      id_(proxy_connection_id(ctx.worker_id, ctx.next_connection_id++))
{
    set_who("?");
    identity_.connection = (std::uint64_t(ctx.pid) << 32) | id_;
    backends_.resize(ctx.servers.size());
    replayed_.assign(backends_.size(), 0);
    client_->set_callbacks(on_client_read, on_client_drained, on_client_event, this);
    ++ctx_.active;
    shm::add(ctx_.counters->connections_active);
    next = ctx_.sessions;
    if (next) next->prev = this;
    ctx_.sessions = this;
}

client_session::~client_session()
{
    if (prev)
        prev->next = next;
    else
        ctx_.sessions = next;
    if (next) next->prev = prev;
    --ctx_.active;
    shm::sub(ctx_.counters->connections_active);
    ctx_.limit.cancel(*this);
}

void client_session::set_who(std::string_view user)
{
    who_ = std::string(user) + "@" + peer_ + " #" + std::to_string(id_);
}

// ---- teardown ------------------------------------------------------------

void client_session::destroy(const char* why)
{
    if (state_ == state::dead) return;
    CW_LOG(LOG_DEBUG, "%s: closed: %s", who(), why);
    state_ = state::dead;
    publish_statement(nullptr);
    ctx_.waits.remove(this);
    ctx_.limit.cancel(*this);
    client_->quiesce();
    retire_all_backends();
    // Callbacks of this session may still be on the stack: free it from the loop.
    timeval now{0, 0};
    event_base_once(ctx_.base, -1, EV_TIMEOUT, free_session_later, this, &now);
}

void client_session::close_after_flush()
{
    retire_all_backends();
    ctx_.waits.remove(this);
    ctx_.limit.cancel(*this);
    state_ = state::closing;
    publish_statement(nullptr);   // off the board
    client_->disable_read();
    if (client_->output_pending() == 0)
        destroy("closed by proxy");
    else
        client_->watch_drain(0);   // on_client_drained when all is sent
}

std::uint16_t client_session::client_status() const
{
    std::uint16_t s = primary_status_;
    if (pinned_ >= 0) s |= server_status::in_trans;
    return s;
}

bool client_session::idle() const
{
    return state_ == state::ready && !(client_status() & server_status::in_trans) &&
        evbuffer_get_length(client_->input()) == 0;
}

void client_session::close_when_idle()
{
    close_when_idle_ = true;
    if (state_ == state::handshake || state_ == state::auth_switch || idle()) destroy("worker is stopping");
}

// ---- output --------------------------------------------------------------

void client_session::send_packet(std::string_view payload, std::uint8_t seq)
{
    std::string pkt = frame_packet(payload, seq);
    client_->write(pkt.data(), pkt.size());
}

void client_session::send_ok(std::uint8_t seq)
{
    ok_packet ok;
    ok.status = client_status();
    send_packet(build_ok(ok, login_.capabilities), seq);
}

void client_session::send_error(std::uint16_t code, std::string_view sql_state, const std::string& message,
                                std::uint8_t seq)
{
    send_packet(build_err(code, sql_state, message), seq);
}

// Answers the command at the head of the client's input with an ERR, dropping it.
void client_session::reject_command(std::uint16_t code, std::string_view sql_state, const std::string& message)
{
    evbuffer_drain(client_->input(), header_size + plan_.length);
    send_error(code, sql_state, message, 1);
    state_ = state::ready;
    // A read that waited and is answered here (no primary after the wait):
    // its wait ends now, not at the next command's send.
    if (wait_started_ns_) end_wait(common::monotonic_ns());
}

void client_session::end_wait(std::uint64_t now_ns)
{
    std::uint64_t waited_us = (now_ns - wait_started_ns_) / 1000;
    shm::add(ctx_.counters->wait_us, waited_us);
    shm::record_latency(*ctx_.stats, shm::latency_kind::causal_wait, waited_us);
    wait_started_ns_ = 0;
}

void client_session::protocol_error(std::uint16_t code, const std::string& message)
{
    shm::add(ctx_.counters->protocol_errors);
    if (state_ == state::handshake || state_ == state::auth_switch)
        shm::count_refused(*ctx_.stats, shm::refuse_reason::bad_handshake);
    if (ctx_.noise.allow("protocol error", client_host()))
        CW_LOG(LOG_WARNING, "%s: protocol error: %s", who(), message.c_str());
    send_error(code, code == er::malformed_packet ? "HY000" : "08S01", message, std::uint8_t(last_client_seq_ + 1));
    close_after_flush();
}

// ---- client callbacks ----------------------------------------------------

void client_session::on_client_read(channel&, void* arg)
{
    static_cast<client_session*>(arg)->handle_client_input();
}

void client_session::on_client_drained(channel&, void* arg)
{
    auto& self = *static_cast<client_session*>(arg);
    if (self.state_ == state::closing) {
        if (self.client_->output_pending() == 0) self.destroy("closed by proxy");
        return;
    }
    if (self.backend_paused_ && self.active()) {
        self.backend_paused_ = false;
        self.active()->chan().enable_read();
        self.relay_response();
    } else if (self.client_paused_ && self.state_ == state::ready && !self.active()) {
        self.client_paused_ = false;   // paused by handle_client_input()
        self.client_->enable_read();
        self.handle_client_input();
    }
}

void client_session::on_client_event(channel& c, short what, void* arg)
{
    auto& self = *static_cast<client_session*>(arg);
    if (what & channel::eof) {
        if (self.state_ == state::in_flight) CW_LOG(LOG_INFO, "%s: client went away during a command", self.who());
        self.reuse_backends_ = self.state_ == state::ready;
        self.destroy("client closed the connection");
    } else if (what & channel::error) {
        if (c.tls_failed()) self.client_tls_failed();
        if (c.last_error() == channel::compression_failure) {
            // A corrupt deflate stream or an oversized frame: nothing after it can be read.
            shm::add(self.ctx_.counters->compression_errors);
            if (self.ctx_.noise.allow("bad compressed frame", self.client_host()))
                CW_LOG(LOG_NOTICE, "%s: bad compressed frame, connection closed: %s", self.who(),
                       c.compression_error().c_str());
            return self.destroy("bad compressed frame");
        }
        self.destroy(strerror(c.last_error()));
    } else if (what & channel::timeout) {
        bool logging_in = self.login_delayed_ || self.state_ == state::handshake || self.state_ == state::auth_switch;
        if (logging_in)
            self.login_timer_fired();
        else
            self.idle_timer_fired();
    }
}

// ---- idle timeout ----------------------------------------------------------

// client_idle_timeout_s, the proxy's wait_timeout. The timer is not re-armed
// per command (an event_add per statement): each command and answer only
// notes the time, and the timer, when it fires early, sleeps for the rest.
void client_session::start_idle_timer()
{
    last_command_ms_ = common::monotonic_ms();
    if (ctx_.cfg->client_idle_timeout_s > 0) client_->set_timeout(ctx_.cfg->client_idle_timeout_s * 1000);
}

void client_session::idle_timer_fired()
{
    const std::uint64_t limit_ms = std::uint64_t(ctx_.cfg->client_idle_timeout_s) * 1000u;
    if (limit_ms == 0) return;
    // A statement running (or answers still queued for a client that does
    // not read) is not idleness: the server counts wait_timeout only while it
    // waits for the next command.
    bool waiting_for_client = state_ == state::ready && evbuffer_get_length(client_->input()) == 0;
    std::uint64_t since = common::monotonic_ms() - last_command_ms_;
    if (!waiting_for_client || since < limit_ms) {
        client_->set_timeout(int(waiting_for_client ? limit_ms - since : limit_ms));
        return;
    }
    shm::add(ctx_.counters->idle_timeouts);
    static common::log_rate_limit limit;
    if (limit.allow())
        CW_LOG(LOG_INFO, "%s: no command for client_idle_timeout_s (%d s); closed", who(),
               ctx_.cfg->client_idle_timeout_s);
    // MariaDB 10.11 closes a connection past wait_timeout without a word (no
    // ERR 4031, which MySQL 8 sends): the client learns it at its next command.
    destroy("idle timeout");
}

// ---- client input ----------------------------------------------------------

void client_session::handle_client_input()
{
    evbuffer* in = client_->input();
    if (state_ != state::ready && !client_paused_ && !client_stream_left_ && !tracker_.awaiting_client_data() &&
        evbuffer_get_length(in) > pipeline_packets * ctx_.cfg->max_packet) {
        // A client sending far ahead of its answers waits until they are out.
        client_->disable_read();
        client_paused_ = true;
    }
    while (true) {
        switch (state_) {
            case state::in_flight: relay_client_data(); return;
            case state::waiting_backend:
            case state::waiting_replica:
            case state::waiting_primary:
            case state::waiting_connection:
            case state::fencing:
            case state::probing_primary:
            case state::migrating:
            case state::closing:
            case state::dead: return;
            case state::handshake:
            case state::auth_switch:
            case state::ready: break;
        }
        if (evbuffer_get_length(in) < header_size) return;
        if (state_ == state::ready && client_->output_pending() > output_high_water) {
            // Commands the proxy answers itself (COM_PING, its own OKs and
            // ERRs) sent back to back by a client that does not read: its
            // output is bounded like the relay's, by not reading it.
            client_->disable_read();
            client_paused_ = true;
            client_->watch_drain(output_low_water);
            return;
        }
        if (state_ != state::ready) {
            // Login packets are small; anything large is not a login.
            std::string payload;
            std::uint8_t seq = 0;
            take_result t = take_packet(in, 65536, payload, seq);
            if (t == take_result::too_large)
                return protocol_error(er::malformed_packet, "Bad handshake: packet too large");
            if (t == take_result::need_more) return;
            last_client_seq_ = seq;
            if (state_ == state::handshake) {
                if (seq != login_seq_) return protocol_error(er::out_of_order, "Got packets out of order");
                handle_login_packet(payload, seq);
            } else {
                handle_auth_switch_answer(payload, seq);
            }
            continue;
        }
        if (!handle_command()) return;
    }
}

// Looks at the next whole (or large) command packet in the client's input,
// answers what the proxy answers itself, and plans the rest.
bool client_session::handle_command()
{
    evbuffer* in = client_->input();
    std::size_t avail = evbuffer_get_length(in);
    unsigned char hdr[5];
    evbuffer_copyout(in, hdr, 4);
    std::uint32_t len = packet_length(hdr);
    if (hdr[3] != 0) {
        protocol_error(er::out_of_order, "Got packets out of order");
        return false;
    }
    last_client_seq_ = 0;   // a command starts a new sequence: its answer (or our ERR) is 1
    last_command_ms_ = common::monotonic_ms();
    if (len == 0) {
        protocol_error(er::malformed_packet, "Malformed communication packet (empty command)");
        return false;
    }
    // max_packet: larger commands stream to the primary.
    bool whole = len < ctx_.cfg->max_packet;
    // A streamed command is read far enough to see its statement id.
    if (whole ? avail < header_size + len : avail < header_size + 5) return false;
    evbuffer_copyout(in, hdr, 5);
    std::uint8_t cmd = hdr[4];
    if (command(cmd) != command::quit) {   // the primary changed? (client_failover.cc)
        plan_ = command_plan{};
        plan_.length = len;
        plan_.whole = whole;
        if (!follow_primary()) return state_ == state::ready;
    }
    // Once per command: a read that waited (for a replica or for a primary)
    // is planned here again and was counted on its first pass.
    if (!wait_started_ns_ && !primary_wait_started_ns_) shm::count_command(*ctx_.stats, cmd);

    switch (command(cmd)) {
        case command::quit:
            reuse_backends_ = true;   // between commands: its server sessions can serve another client
            destroy("COM_QUIT");
            return false;
        case command::change_user: {
            if (!whole) {
                protocol_error(er::malformed_packet, "COM_CHANGE_USER too large");
                return false;
            }
            std::string payload(len, '\0');
            evbuffer_drain(in, 4);
            evbuffer_remove(in, payload.data(), len);
            handle_change_user(payload);
            return state_ != state::closing && state_ != state::dead;
        }
        case command::ping:
        case command::reset_connection:
            if (!backends_[0]) {
                // Nothing to check or reset on the server side yet: answer here
                // instead of opening a backend connection for it.
                evbuffer_drain(in, header_size + len);
                if (command(cmd) == command::reset_connection) reset_session_state();
                send_ok(1);
                return true;
            }
            break;
        default: break;
    }
    if (!is_relayed(cmd)) {
        evbuffer_drain(in, header_size + len);
        send_error(er::unknown_com, "08S01",
                   std::string("Unknown command: Causeway does not relay ") + command_name(cmd), 1);
        return true;
    }
    plan_ = command_plan{};
    plan_.cmd = command(cmd);
    plan_.length = len;
    plan_.whole = whole;
    if (whole) {
        const char* p = reinterpret_cast<const char*>(evbuffer_pullup(in, header_size + len));
        if (!plan_command(std::string_view(p + header_size, len))) return state_ == state::ready;
    } else {
        plan_.backend = 0;
        plan_.reason = shm::route_reason::primary_unclassified;
        const char* p = reinterpret_cast<const char*>(evbuffer_pullup(in, header_size + 5));
        plan_.statement_id = named_statement(std::string_view(p + header_size, 5));
    }
    if (state_ == state::waiting_replica || state_ == state::fencing || state_ == state::migrating) return false;
    return dispatch();
}

// Sends the planned command to its backend, opening it (and replaying the
// session's state on it) first when needed.
bool client_session::dispatch()
{
    if (plan_.backend == 0 && !await_primary()) return state_ == state::ready;   // none now (client_failover.cc)
    backend_conn* b = open_backend(plan_.backend);
    if (!b && plan_.backend != 0) {
        if (limited_ >= 0) shm::add(ctx_.limit.usage()->limit_rerouted);
        if (retry_on_primary(limited_ >= 0 ? "replica at max_backend_connections_per_server" : "replica unavailable"))
            b = open_backend(0);
    }
    if (!b && limited_ >= 0) return wait_for_connection();
    if (!b) {
        reject_command(er::backend_unavailable, "HY000", "Can't connect to backend 'primary': out of resources");
        return true;
    }
    if (!b->ready()) {
        state_ = state::waiting_backend;
        return false;
    }
    if (plan_.backend != 0)
        replay_state(*b);
    else
        read_tracking_list(*b);   // client_variables.cc
    if (!prepare_statement_on(*b)) {
        state_ = state::waiting_backend;   // a lazy COM_STMT_PREPARE is out
        return false;
    }
    if (plan_.backend != b->index()) return dispatch();   // retried on the primary
    return forward(*b);
}

bool client_session::forward(backend_conn& b)
{
    evbuffer* in = client_->input();
    shm::add(ctx_.counters->queries_forwarded);
    shm::add(ctx_.counters->bytes_in, header_size + (plan_.whole ? plan_.length : 0));
    shm::count_route(*ctx_.counters, plan_.reason);
    if (plan_.backend != 0) ++ctx_.outstanding[std::size_t(plan_.backend)];
    if (plan_.pin) pinned_ = plan_.backend;
    optimistic_forward(b);
    if (plan_.uses_next_read_only) {
        // This statement's transaction uses SET TRANSACTION READ ONLY. If it
        // runs on a replica, the primary still holds the characteristic for
        // its own next transaction: clear it there.
        next_read_only_ = false;
        if (plan_.backend != 0 && !session_read_only_ && backends_[0] && backends_[0]->ready())
            backends_[0]->send_internal("\x03SET TRANSACTION READ WRITE");
    }
    tracker_.begin(plan_.cmd, b.capabilities());
    // The server sessions are not compressed, and the primary's tracks '*'.
    rows_.start({.compression = client_->compressing(),
                 .tracking = plan_.tracking_rows && plan_.backend == 0,
                 .tracking_by_value = plan_.tracking_by_value});
    response_started_ = false;
    response_error_ = false;
    active_ = plan_.backend;
    // At most one clock read here, and none for a statement that is not a
    // read and did not wait: it ends a wait and starts the read's latency.
    bool read = shm::is_read_reason(plan_.reason);
    std::uint64_t now = read || wait_started_ns_ ? common::monotonic_ns() : 0;
    if (wait_started_ns_) end_wait(now);
    read_sent_ns_ = read ? now : 0;
    if (plan_.rewritten) {
        if (!plan_.consumed) evbuffer_drain(in, header_size + plan_.length);
        std::string pkt = frame_packet(plan_.payload, 0);
        b.write(pkt);
    } else if (plan_.whole) {
        evbuffer_remove_buffer(in, b.output(), header_size + plan_.length);
        b.chan().output_changed();
    } else {
        client_stream_left_ = header_size + std::uint64_t(plan_.length);
        client_continuation_ = plan_.length == max_payload;
    }
    plan_.consumed = true;
    if (tracker_.done() && !client_stream_left_) {   // no answer comes (STMT_CLOSE...)
        apply_after_ok();
        active_ = -1;
        return true;
    }
    state_ = state::in_flight;
    publish_statement(&b);
    // A replica that stops answering (frozen, overloaded) before the first
    // byte of this read's answer: the read goes to the primary instead
    // (backend_closed, retry_on_primary). Not inside a transaction pinned to
    // the replica, whose state the primary does not have.
    int read_timeout = ctx_.cfg->replica_read_timeout_ms;
    if (read_timeout > 0 && active_ > 0 && pinned_ < 0 && plan_.whole && !client_stream_left_) {
        b.chan().set_timeout(read_timeout);
        read_timer_armed_ = true;
    }
    relay_client_data();
    return false;
}

// Client-to-backend bytes while a command runs: the rest of a large command
// packet (and its continuation chunks), and LOAD DATA LOCAL file packets.
void client_session::relay_client_data()
{
    backend_conn* b = active();
    if (!b) return;
    evbuffer* in = client_->input();
    evbuffer* out = b->output();
    while (true) {
        if (client_stream_left_) {
            std::size_t n = std::min<std::uint64_t>(client_stream_left_, evbuffer_get_length(in));
            if (n == 0) break;
            evbuffer_remove_buffer(in, out, n);
            b->chan().output_changed();
            shm::add(ctx_.counters->bytes_in, n);
            client_stream_left_ -= n;
            if (client_stream_left_) break;
            if (state_ == state::in_flight && tracker_.done() && !client_continuation_) {
                state_ = state::ready;   // a large command with no answer (SEND_LONG_DATA)
                active_ = -1;
                break;
            }
            continue;
        }
        bool infile = tracker_.awaiting_client_data();
        if (!client_continuation_ && !infile) break;
        if (evbuffer_get_length(in) < header_size) break;
        unsigned char hdr[4];
        evbuffer_copyout(in, hdr, 4);
        std::uint32_t len = packet_length(hdr);
        last_client_seq_ = hdr[3];
        // An empty packet that is not the tail of a 16 MiB chunk ends the file.
        if (infile && !client_continuation_ && len == 0) tracker_.local_infile_sent();
        client_continuation_ = len == max_payload;
        client_stream_left_ = header_size + std::uint64_t(len);
    }
    update_flow_control();
    if (state_ == state::ready) handle_client_input();
}

void client_session::relay_response()
{
    backend_conn* b = active();
    if (!b || state_ == state::dead || state_ == state::closing) return;
    evbuffer* in = b->input();
    evbuffer* out = client_->output();
    // Answers to what the proxy sent for itself come first.
    while (b->internal_pending()) {
        internal_answer a;
        bool broken = false;
        if (!b->next_internal_answer(a, broken)) {
            if (!broken) return;
            a.ok = false;
            a.error = "malformed answer";
        }
        if (is_tracking_tag(a.tag)) {
            tracking_answered(a);
            if (a.ok) continue;
        }
        if (a.tag == diagnostics_tag) continue;   // its ERR is the point
        if (!a.ok) {
            CW_LOG(LOG_WARNING, "%s: %s: session setup failed: %s", who(), b->describe().c_str(), a.error.c_str());
            int index = b->index();
            if (index != 0) {
                retire_backend(index);
                if (retry_on_primary("session replay failed")) {
                    state_ = state::ready;
                    if (dispatch()) handle_client_input();
                    return;
                }
            }
            return close_after_flush();
        }
    }
    if (read_timer_armed_ && evbuffer_get_length(in) > 0) {   // the replica answers: replica_read_timeout_ms is met
        b->chan().cancel_timeout();
        read_timer_armed_ = false;
    }
    while (!backend_paused_) {
        if (backend_stream_left_) {
            std::size_t n = std::min<std::uint64_t>(backend_stream_left_, evbuffer_get_length(in));
            if (n == 0) break;
            if (digesting_) digest_streamed(in, n);
            evbuffer_remove_buffer(in, out, n);
            client_->output_changed();
            shm::add(ctx_.counters->bytes_out, n);
            backend_stream_left_ -= n;
            if (backend_stream_left_) break;
            if (!backend_continuation_ && tracker_.done()) {
                response_complete();
                if (state_ != state::ready) return;
                break;
            }
            continue;
        }
        std::size_t avail = evbuffer_get_length(in);
        if (avail < header_size) break;
        if (state_ != state::in_flight) return unexpected_bytes(*b);
        unsigned char hdr[5];
        evbuffer_copyout(in, hdr, std::min<std::size_t>(avail, 5));
        std::uint32_t len = packet_length(hdr);
        if (backend_continuation_) {   // a later chunk of a packet already seen
            backend_continuation_ = len == max_payload;
            backend_stream_left_ = header_size + std::uint64_t(len);
            digest_skip_ = header_size;
            response_started_ = true;
            continue;
        }
        if (len == 0) {
            shm::add(ctx_.counters->protocol_errors);
            CW_LOG(LOG_ERR, "%s: %s sent an empty packet", who(), b->describe().c_str());
            return close_after_flush();
        }
        if (avail < header_size + 1) break;
        // Column definitions and rows that may show the proxy's own session state (answer_rows.hh).
        bool result_start = tracker_.at_result_start();
        bool column = rows_.active() && tracker_.in_columns();
        bool row = rows_.active() && tracker_.in_rows() && rows_.rows_watched();
        bool whole = len < response_inspect_limit && (column || row || tracker_.needs_whole_packet(hdr[4], len));
        if (!whole) {
            if (tracker_.on_packet(std::string_view(reinterpret_cast<char*>(hdr + 4), 1), len) ==
                packet_role::malformed)
                goto malformed;
            backend_continuation_ = len == max_payload;
            backend_stream_left_ = header_size + std::uint64_t(len);
            if (digesting_) otx_digest_.packet_start(len), digest_skip_ = header_size;
            response_started_ = true;
            continue;
        }
        if (avail < header_size + len) break;
        {
            const char* p = reinterpret_cast<const char*>(evbuffer_pullup(in, header_size + len));
            std::string_view payload(p + header_size, len);
            packet_role role = tracker_.on_packet(payload, len);
            if (role == packet_role::malformed) goto malformed;
            if (digesting_) otx_digest_.packet(role, payload, b->capabilities());
            std::string replacement;
            if (role == packet_role::err) {
                if (hold_read_only_refusal(payload, hdr[3])) {   // client_failover.cc
                    evbuffer_drain(in, header_size + len);
                    return;
                }
                response_error_ = true;
                if (active_ > 0 && active_ == pinned_) replacement = as_primary_error_in_read_only_transaction(payload);
                // The replica's diagnostics area holds its own error: SHOW
                // WARNINGS and its kind, which run there next, show the client's.
                if (!replacement.empty()) b->send_internal(diagnostics_signal(replacement), diagnostics_tag);
            }
            bool state_changed =
                (role == packet_role::ok) && (tracker_.status() & server_status::session_state_changed);
            common::result<ok_packet> ok = ok_packet{};
            if (state_changed) {   // parsed once: for the write's position and for the rewrite
                ok = parse_ok(payload, b->capabilities());
                if (!ok) goto malformed;
            }
            // A write's position is recorded before the client can see its OK.
            if (state_changed && active_ == 0) {
                record_write_position(*ok);
                learn_session_variables(*ok);
            }
            if (role == packet_role::data && result_start)
                rows_.result_start();
            else if (role == packet_role::data && column)
                rows_.column(payload);
            else if (role == packet_role::data && row)
                replacement = rows_.row(payload, plan_.cmd == command::stmt_execute, client_tracking_);
            if (role == packet_role::prepare_ok && payload.size() >= 9) {
                plan_.after.statement_id = tracker_.statement_id();
                plan_.after.params = std::uint16_t(std::uint8_t(payload[7]) | std::uint8_t(payload[8]) << 8);
                if (plan_.after.prepare) replacement = name_prepared_statement(payload);
            }
            if (state_changed && !(login_.capabilities & cap::session_track))
                replacement = build_ok(*ok, login_.capabilities);
            else if (state_changed)
                replacement = as_client_tracks(*ok);   // the primary tracks more than the client
            if (!replacement.empty()) {
                std::uint8_t seq = hdr[3];
                evbuffer_drain(in, header_size + len);
                send_packet(replacement, seq);
            } else {
                evbuffer_remove_buffer(in, out, header_size + len);
                client_->output_changed();
            }
            response_started_ = true;
            shm::add(ctx_.counters->bytes_out, header_size + len);
            if (tracker_.status_seen()) {
                if (active_ == 0) primary_status_ = tracker_.status();
                last_status_ = tracker_.status();
            }
            if (role == packet_role::local_infile) {
                relay_client_data();
                continue;
            }
            if (tracker_.done()) {
                response_complete();
                if (state_ != state::ready) return;
                break;
            }
        }
    }
    update_flow_control();
    return;
malformed:
    shm::add(ctx_.counters->protocol_errors);
    CW_LOG(LOG_ERR, "%s: %s: unexpected packet in the answer; closing", who(), b->describe().c_str());
    close_after_flush();
}

void client_session::response_complete()
{
    std::uint64_t now = read_sent_ns_ || active_ > 0 ? common::monotonic_ns() : 0;
    if (read_sent_ns_) {
        auto kind = active_ > 0 ? shm::latency_kind::read_replica : shm::latency_kind::read_primary;
        shm::record_latency(*ctx_.stats, kind, (now - read_sent_ns_) / 1000);
        read_sent_ns_ = 0;
    }
    if (active_ > 0) {
        --ctx_.outstanding[std::size_t(active_)];
        // Monotonic reads: what this replica showed is bounded by what it will
        // report in its next poll (see monotonic_requirement()).
        last_read_backend_ = active_;
        last_read_done_ns_ = now;
    }
    // Even an ERR may follow a commit (a procedure that fails after one), or a lock.
    if (active_ == 0 && !plan_.cannot_commit && !plan_.position_seen) note_unproven_commit();
    if (plan_.after.lock_tables) tables_locked_ = true;
    if (!response_error_) apply_after_ok();
    publish_statement(nullptr);
    last_answer_backend_ = active_;
    last_answer_diagnostics_ = response_error_ || tracker_.warnings() || plan_.diagnostics;
    if (digesting_) optimistic_answered();
    // A transaction on the primary that ended without committing a write: the
    // session's next one may start on a replica again.
    if (active_ == 0 && plan_.ends_transaction && !response_error_ && !plan_.position_seen)
        otx_.read_only_transaction_seen();
    if (pinned_ >= 0 && active_ == pinned_ && !(last_status_ & server_status::in_trans)) pinned_ = -1;
    if (read_timer_armed_) {   // an answer that needed no byte from the server (cannot happen today)
        if (backend_conn* b = active()) b->chan().cancel_timeout();
        read_timer_armed_ = false;
    }
    active_ = -1;
    state_ = state::ready;
    last_command_ms_ = common::monotonic_ms();   // idle from now
    // Not while the client's next command is already here: it may need them.
    if (ctx_.cfg->pool_per_statement() && evbuffer_get_length(client_->input()) == 0) release_idle_replicas();
    if (client_paused_ && evbuffer_get_length(client_->output()) <= output_high_water) {
        client_paused_ = false;
        client_->enable_read();
    }
    if (close_when_idle_ && idle()) return close_after_flush();   // its last answer is still queued
    update_flow_control();
    // Commands the client sent ahead (pipelining) wait in its input buffer.
    if (evbuffer_get_length(client_->input()) >= header_size) handle_client_input();
}

void client_session::update_flow_control()
{
    if (state_ == state::dead || state_ == state::closing) return;
    backend_conn* b = active();
    if (!b) return;
    if (!backend_paused_ && evbuffer_get_length(client_->output()) > output_high_water) {
        backend_paused_ = true;
        b->chan().disable_read();
        client_->watch_drain(output_low_water);
    }
    if (!client_paused_ && evbuffer_get_length(b->output()) > output_high_water) {
        client_paused_ = true;
        client_->disable_read();
        b->chan().watch_drain(output_low_water);
    }
}

}   // namespace causeway::worker
