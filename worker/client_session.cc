// Client session lifecycle, command dispatch and the two relays (answers from
// the backend to the client; large packets and LOAD DATA files from the client
// to the backend). Packets are moved between evbuffers without copies; only
// packets the proxy must read (terminators, OK, ERR) are made contiguous.
#include "worker/client_session.hh"

#include <string.h>

#include "common/log.hh"
#include "shm/counters.hh"
#include "protocol/bytes.hh"
#include "protocol/constants.hh"
#include "protocol/ok_err.hh"

namespace causeway::worker {

using namespace protocol;

namespace {
// Client commands up to this size are read whole before they are forwarded
// (the router will classify them); larger ones stream to the primary.
constexpr std::uint32_t command_inspect_limit = 1u << 20;
// Server packets up to this size that the tracker must read are pulled up whole.
constexpr std::uint32_t response_inspect_limit = 1u << 16;
// Flow control: stop reading one side while the other's output holds this much.
constexpr std::size_t output_high_water = 1u << 20;
constexpr std::size_t output_low_water = 256u << 10;

std::uint32_t packet_length(const unsigned char* h) { return h[0] | h[1] << 8 | h[2] << 16; }

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
    case command::reset_connection:
        return true;
    default:
        return false;
    }
}

void free_session_later(evutil_socket_t, short, void* arg) { delete static_cast<client_session*>(arg); }
void free_backend_later(evutil_socket_t, short, void* arg) { delete static_cast<backend_conn*>(arg); }
}  // namespace

client_session::client_session(worker_context& ctx, int fd, const std::string& peer_addr)
    : ctx_(ctx), client_(bufferevent_socket_new(ctx.base, fd, BEV_OPT_CLOSE_ON_FREE)), peer_(peer_addr),
      id_((std::uint32_t(ctx.worker_id & 0xff) << 24) | (ctx.next_connection_id++ & 0xffffff))
{
    set_who("?");
    bufferevent_setcb(client_.get(), on_client_read, on_client_write, on_client_event, this);
    bufferevent_setwatermark(client_.get(), EV_WRITE, output_low_water, 0);
    bufferevent_setwatermark(client_.get(), EV_READ, 0, 4 * command_inspect_limit);
    ++ctx_.active;
    shm::add(ctx_.counters->connections_active);
    next = ctx_.sessions;
    if (next) next->prev = this;
    ctx_.sessions = this;
}

client_session::~client_session()
{
    if (prev) prev->next = next;
    else ctx_.sessions = next;
    if (next) next->prev = prev;
    --ctx_.active;
    shm::sub(ctx_.counters->connections_active);
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
    bufferevent_disable(client_.get(), EV_READ | EV_WRITE);
    retire_backend();
    // Callbacks of this session may still be on the stack: free it from the loop.
    timeval now{0, 0};
    event_base_once(ctx_.base, -1, EV_TIMEOUT, free_session_later, this, &now);
}

void client_session::retire_backend()
{
    if (!primary_) return;
    bufferevent_disable(primary_->bev(), EV_READ | EV_WRITE);
    timeval now{0, 0};
    event_base_once(ctx_.base, -1, EV_TIMEOUT, free_backend_later, primary_.release(), &now);
    backend_stream_left_ = 0;
    backend_continuation_ = false;
    backend_paused_ = false;
}

void client_session::close_after_flush()
{
    retire_backend();
    state_ = state::closing;
    bufferevent_disable(client_.get(), EV_READ);
    if (evbuffer_get_length(bufferevent_get_output(client_.get())) == 0) destroy("closed by proxy");
    else bufferevent_setwatermark(client_.get(), EV_WRITE, 0, 0);   // write callback when empty
}

bool client_session::idle() const
{
    return state_ == state::ready && !(server_status_ & server_status::in_trans) &&
           evbuffer_get_length(bufferevent_get_input(client_.get())) == 0;
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
    bufferevent_write(client_.get(), pkt.data(), pkt.size());
}

void client_session::send_error(std::uint16_t code, std::string_view sql_state, const std::string& message,
                                std::uint8_t seq)
{
    send_packet(build_err(code, sql_state, message), seq);
}

void client_session::protocol_error(std::uint16_t code, const std::string& message)
{
    shm::add(ctx_.counters->protocol_errors);
    static common::log_rate_limit limit;
    if (limit.allow()) CW_LOG(LOG_WARNING, "%s: protocol error: %s", who(), message.c_str());
    send_error(code, code == er::malformed_packet ? "HY000" : "08S01", message, std::uint8_t(last_client_seq_ + 1));
    close_after_flush();
}

// ---- client callbacks ----------------------------------------------------

void client_session::on_client_read(bufferevent*, void* arg)
{
    static_cast<client_session*>(arg)->handle_client_input();
}

void client_session::on_client_write(bufferevent*, void* arg)
{
    auto& self = *static_cast<client_session*>(arg);
    if (self.state_ == state::closing) {
        if (evbuffer_get_length(bufferevent_get_output(self.client_.get())) == 0) self.destroy("closed by proxy");
        return;
    }
    if (self.backend_paused_) {
        self.backend_paused_ = false;
        bufferevent_enable(self.primary_->bev(), EV_READ);
        self.relay_response();
    }
}

void client_session::on_client_event(bufferevent*, short what, void* arg)
{
    auto& self = *static_cast<client_session*>(arg);
    if (what & BEV_EVENT_EOF) {
        if (self.state_ == state::in_flight) CW_LOG(LOG_INFO, "%s: client went away during a command", self.who());
        self.destroy("client closed the connection");
    } else if (what & BEV_EVENT_ERROR) {
        self.destroy(strerror(EVUTIL_SOCKET_ERROR()));
    }
}

// ---- client input ----------------------------------------------------------

void client_session::handle_client_input()
{
    evbuffer* in = bufferevent_get_input(client_.get());
    while (true) {
        switch (state_) {
        case state::in_flight:
            relay_client_data();
            return;
        case state::waiting_backend:
        case state::closing:
        case state::dead:
            return;
        case state::handshake:
        case state::auth_switch:
        case state::ready:
            break;
        }
        std::size_t avail = evbuffer_get_length(in);
        if (avail < header_size) return;
        unsigned char hdr[4];
        evbuffer_copyout(in, hdr, 4);
        std::uint32_t len = packet_length(hdr);
        std::uint8_t seq = hdr[3];
        last_client_seq_ = seq;
        if (state_ != state::ready) {
            // Login packets are small; anything large is not a login.
            if (len > 65536) return protocol_error(er::malformed_packet, "Bad handshake: packet too large");
            if (avail < header_size + len) return;
            std::string payload(len, '\0');
            evbuffer_drain(in, 4);
            evbuffer_remove(in, payload.data(), len);
            if (state_ == state::handshake) {
                if (seq != 1) return protocol_error(er::out_of_order, "Got packets out of order");
                handle_login_packet(payload, seq);
            } else {
                handle_auth_switch_answer(payload, seq);
            }
            continue;
        }
        if (!handle_command()) return;
    }
}

// Looks at the next whole (or large) command packet in the client's input.
bool client_session::handle_command()
{
    evbuffer* in = bufferevent_get_input(client_.get());
    std::size_t avail = evbuffer_get_length(in);
    unsigned char hdr[5];
    evbuffer_copyout(in, hdr, 4);
    std::uint32_t len = packet_length(hdr);
    if (hdr[3] != 0) {
        protocol_error(er::out_of_order, "Got packets out of order");
        return false;
    }
    if (len == 0) {
        protocol_error(er::malformed_packet, "Malformed communication packet (empty command)");
        return false;
    }
    bool whole = len < command_inspect_limit;
    if (whole ? avail < header_size + len : avail < header_size + 1) return false;
    evbuffer_copyout(in, hdr, 5);
    std::uint8_t cmd = hdr[4];
    if (close_when_idle_ && idle()) {
        destroy("worker is stopping");
        return false;
    }

    switch (command(cmd)) {
    case command::quit:
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
        if (!primary_) {
            // Nothing to check or reset on the server side yet: answer here
            // instead of opening a backend connection for it.
            evbuffer_drain(in, header_size + len);
            ok_packet ok;
            ok.status = server_status_;
            send_packet(build_ok(ok, login_.capabilities), 1);
            return true;
        }
        break;
    default:
        break;
    }
    if (!is_relayed(cmd)) {
        evbuffer_drain(in, header_size + len);
        send_error(er::unknown_com, "08S01", std::string("Unknown command: Causeway does not relay ") + command_name(cmd), 1);
        return true;
    }
    if (!ensure_backend()) return false;
    return forward_command(cmd, len, whole);
}

bool client_session::forward_command(std::uint8_t cmd, std::uint32_t length, bool whole)
{
    evbuffer* in = bufferevent_get_input(client_.get());
    shm::add(ctx_.counters->queries_forwarded);
    tracker_.begin(command(cmd), primary_->capabilities());
    response_started_ = false;
    if (whole) {
        evbuffer_remove_buffer(in, primary_->output(), header_size + length);
    } else {
        client_stream_left_ = header_size + std::uint64_t(length);
        client_continuation_ = length == max_payload;
    }
    if (tracker_.done() && !client_stream_left_) return true;   // no answer comes (STMT_CLOSE...)
    state_ = state::in_flight;
    relay_client_data();
    return false;
}

// Client-to-backend bytes while a command runs: the rest of a large command
// packet (and its continuation chunks), and LOAD DATA LOCAL file packets.
void client_session::relay_client_data()
{
    if (!primary_) return;
    evbuffer* in = bufferevent_get_input(client_.get());
    evbuffer* out = primary_->output();
    while (true) {
        if (client_stream_left_) {
            std::size_t n = std::min<std::uint64_t>(client_stream_left_, evbuffer_get_length(in));
            if (n == 0) break;
            evbuffer_remove_buffer(in, out, n);
            client_stream_left_ -= n;
            if (client_stream_left_) break;
            if (state_ == state::in_flight && tracker_.done() && !client_continuation_) {
                state_ = state::ready;   // a large command with no answer (SEND_LONG_DATA)
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

// ---- backend side ----------------------------------------------------------

bool client_session::ensure_backend()
{
    if (primary_ && primary_->ready()) return true;
    if (primary_) {   // still logging in
        state_ = state::waiting_backend;
        return false;
    }
    backend_events& events = *this;
    primary_.reset(new backend_conn(ctx_.base, ctx_.cfg->primary.name, ctx_.cfg->primary.addr, events));
    login_params p;
    p.user = login_.user;
    auto pw = ctx_.cfg->users.find(login_.user);
    if (pw != ctx_.cfg->users.end()) p.password = pw->second;
    p.database = login_.database;
    p.charset = login_.charset;
    p.client_capabilities = login_.capabilities;
    p.connect_attrs = login_.connect_attrs;
    state_ = state::waiting_backend;
    primary_->start(ctx_.primary_addr, p, ctx_.cfg->connect_timeout_ms);
    return false;
}

void client_session::backend_ready(backend_conn& b)
{
    CW_LOG(LOG_DEBUG, "%s: %s ready (server thread %u)", who(), b.describe().c_str(), b.server_connection_id());
    if (state_ == state::waiting_backend) state_ = state::ready;
    if (login_ok_seq_) {
        ok_packet ok;
        ok.status = server_status_;
        send_packet(build_ok(ok, login_.capabilities), std::exchange(login_ok_seq_, 0));
    }
    handle_client_input();
}

void client_session::backend_login_failed(backend_conn& b, const std::string& why, const std::string& server_error)
{
    shm::add(ctx_.counters->backend_connect_failures);
    static common::log_rate_limit limit;
    if (limit.allow()) CW_LOG(LOG_ERR, "%s: %s: %s", who(), b.describe().c_str(), why.c_str());
    retire_backend();
    if (state_ != state::waiting_backend) return;
    state_ = state::ready;
    if (login_ok_seq_) {   // the login itself failed: the client gets the error and goes, as from a server
        std::uint8_t seq = std::exchange(login_ok_seq_, 0);
        if (!server_error.empty()) send_packet(server_error, seq);
        else send_error(er::backend_unavailable, "HY000", "Can't connect to " + b.describe() + ": " + why, seq);
        return close_after_flush();
    }
    // The command that needed the backend gets the error; the client stays.
    evbuffer* in = bufferevent_get_input(client_.get());
    unsigned char hdr[4];
    if (evbuffer_copyout(in, hdr, 4) == 4) {
        std::uint32_t len = packet_length(hdr);
        if (len < command_inspect_limit) evbuffer_drain(in, header_size + len);
        else return close_after_flush();
    }
    if (!server_error.empty()) send_packet(server_error, 1);
    else send_error(er::backend_unavailable, "HY000", "Can't connect to " + b.describe() + ": " + why, 1);
    handle_client_input();
}

void client_session::backend_readable(backend_conn&) { relay_response(); }

void client_session::backend_writable(backend_conn&)
{
    if (client_paused_) {
        client_paused_ = false;
        bufferevent_enable(client_.get(), EV_READ);
        relay_client_data();
    }
}

void client_session::backend_closed(backend_conn& b, const std::string& why)
{
    bool mid_command = state_ == state::in_flight;
    CW_LOG(mid_command ? LOG_WARNING : LOG_INFO, "%s: %s %s%s", who(), b.describe().c_str(), why.c_str(),
           mid_command ? " during a command" : "");
    if (mid_command && !response_started_)
        send_error(er::backend_lost, "HY000", "Lost connection to " + b.describe() + " during query",
                   std::uint8_t(last_client_seq_ + 1));
    // The server-side session (variables, temporary tables, transaction) is
    // gone; carrying on silently would hide that, so the client is closed too.
    close_after_flush();
}

void client_session::relay_response()
{
    if (!primary_ || state_ == state::dead || state_ == state::closing) return;
    evbuffer* in = primary_->input();
    evbuffer* out = bufferevent_get_output(client_.get());
    while (!backend_paused_) {
        if (backend_stream_left_) {
            std::size_t n = std::min<std::uint64_t>(backend_stream_left_, evbuffer_get_length(in));
            if (n == 0) break;
            evbuffer_remove_buffer(in, out, n);
            backend_stream_left_ -= n;
            if (backend_stream_left_) break;
            if (!backend_continuation_ && tracker_.done()) {
                response_complete();
                if (state_ != state::ready) return;
            }
            continue;
        }
        std::size_t avail = evbuffer_get_length(in);
        if (avail < header_size) break;
        if (state_ != state::in_flight) {
            static common::log_rate_limit limit;
            if (limit.allow()) CW_LOG(LOG_WARNING, "%s: %s sent %zu unexpected bytes; closing", who(), primary_->describe().c_str(), avail);
            shm::add(ctx_.counters->protocol_errors);
            return close_after_flush();
        }
        unsigned char hdr[5];
        evbuffer_copyout(in, hdr, std::min<std::size_t>(avail, 5));
        std::uint32_t len = packet_length(hdr);
        if (backend_continuation_) {   // a later chunk of a packet already seen
            backend_continuation_ = len == max_payload;
            backend_stream_left_ = header_size + std::uint64_t(len);
            response_started_ = true;
            continue;
        }
        if (len == 0) {
            shm::add(ctx_.counters->protocol_errors);
            CW_LOG(LOG_ERR, "%s: %s sent an empty packet", who(), primary_->describe().c_str());
            return close_after_flush();
        }
        if (avail < header_size + 1) break;
        bool whole = len < response_inspect_limit && tracker_.needs_whole_packet(hdr[4], len);
        if (!whole) {
            if (tracker_.on_packet(std::string_view(reinterpret_cast<char*>(hdr + 4), 1), len) == packet_role::malformed)
                goto malformed;
            backend_continuation_ = len == max_payload;
            backend_stream_left_ = header_size + std::uint64_t(len);
            response_started_ = true;
            continue;
        }
        if (avail < header_size + len) break;
        {
            const char* p = reinterpret_cast<const char*>(evbuffer_pullup(in, header_size + len));
            std::string_view payload(p + header_size, len);
            packet_role role = tracker_.on_packet(payload, len);
            if (role == packet_role::malformed) goto malformed;
            bool rewrite = role == packet_role::ok && !(login_.capabilities & cap::session_track) &&
                           (tracker_.status() & server_status::session_state_changed);
            if (rewrite) {
                auto ok = parse_ok(payload, primary_->capabilities());
                std::string clean = build_ok(*ok, login_.capabilities);
                std::uint8_t seq = hdr[3];
                evbuffer_drain(in, header_size + len);
                send_packet(clean, seq);
            } else {
                evbuffer_remove_buffer(in, out, header_size + len);
            }
            response_started_ = true;
            if (tracker_.status_seen()) server_status_ = tracker_.status();
            if (role == packet_role::local_infile) {
                relay_client_data();
                continue;
            }
            if (tracker_.done()) {
                response_complete();
                if (state_ != state::ready) return;
            }
        }
    }
    update_flow_control();
    return;
malformed:
    shm::add(ctx_.counters->protocol_errors);
    CW_LOG(LOG_ERR, "%s: %s: unexpected packet in the answer; closing", who(), primary_->describe().c_str());
    close_after_flush();
}

void client_session::response_complete()
{
    state_ = state::ready;
    if (close_when_idle_ && idle()) return destroy("worker is stopping");
    update_flow_control();
    // Commands the client sent ahead (pipelining) wait in its input buffer.
    if (evbuffer_get_length(bufferevent_get_input(client_.get())) >= header_size) handle_client_input();
}

void client_session::update_flow_control()
{
    if (state_ == state::dead || state_ == state::closing) return;
    if (primary_ && !backend_paused_ && evbuffer_get_length(bufferevent_get_output(client_.get())) > output_high_water) {
        backend_paused_ = true;
        bufferevent_disable(primary_->bev(), EV_READ);
    }
    if (primary_ && !client_paused_ && evbuffer_get_length(primary_->output()) > output_high_water) {
        client_paused_ = true;
        bufferevent_disable(client_.get(), EV_READ);
        bufferevent_setwatermark(primary_->bev(), EV_WRITE, output_low_water, 0);
    }
}

}  // namespace causeway::worker
