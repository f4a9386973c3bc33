// Backend connect and login (see backend_conn.hh): greeting, handshake
// response with mysql_native_password, an optional auth switch, then OK/ERR.
#include "worker/backend_conn.hh"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <cstdlib>

#include "common/log.hh"
#include "protocol/auth.hh"
#include "protocol/bytes.hh"
#include "protocol/constants.hh"
#include "protocol/ok_err.hh"
#include "worker/packet_reader.hh"

namespace causeway::worker {

namespace {
std::string login_token(const login_params& p, std::string_view scramble)
{
    if (!p.password_sha1.empty()) return protocol::native_password_token_from_sha1(p.password_sha1, scramble);
    return protocol::native_password_token(p.password, scramble);
}
}   // namespace

using namespace protocol;

void use_backend_tls(login_params& p, const common::config& cfg, const std::string& server, SSL_CTX* ctx)
{
    auto mode = cfg.backend_tls_for(server);
    if (mode != common::backend_tls_mode::off && !ctx) {
        // tls_context::for_backends() makes one whenever a server needs it:
        // going on in clear would be the silent fallback backend_tls forbids.
        CW_LOG(LOG_CRIT, "backend_tls is set for '%s' but no TLS context was made", server.c_str());
        std::abort();
    }
    p.tls_ctx = mode == common::backend_tls_mode::off ? nullptr : ctx;
    p.tls_verify = mode == common::backend_tls_mode::verify;
}

backend_conn::backend_conn(event_base* base, int index, std::string name, const common::address& addr,
                           backend_events& events)
    : base_(base), index_(index), name_(std::move(name)), addr_(addr), events_(&events)
{
}

std::string backend_conn::describe() const
{
    return "backend '" + name_ + "' (" + addr_.to_string() + ")";
}

bool backend_conn::start(const common::resolved_address& addr, const login_params& params, int timeout_ms)
{
    params_ = params;
    chan_ = std::make_unique<channel>(base_, -1);
    chan_->set_callbacks(on_read, on_drained, on_event, this);
    state_ = state::connecting;
    if (!chan_->connect(addr.get(), addr.length)) {
        int err = errno;
        static common::log_rate_limit limit;
        if (limit.allow()) CW_LOG(LOG_ERR, "%s: connect: %s", describe().c_str(), strerror(err));
        state_ = state::failed;
        return false;
    }
    chan_->set_timeout(timeout_ms);
    chan_->enable_read();
    return true;
}

void backend_conn::fail(const std::string& why, const std::string& server_error)
{
    bool was_ready = state_ == state::ready;
    state_ = state::failed;
    if (chan_) chan_->quiesce();
    if (was_ready)
        events_->backend_closed(*this, why);
    else
        events_->backend_login_failed(*this, why, server_error);
}

void backend_conn::on_event(channel& c, short what, void* arg)
{
    auto& self = *static_cast<backend_conn*>(arg);
    if (what & channel::connected) {
        int one = 1;
        setsockopt(c.fd(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (self.state_ == state::connecting) self.state_ = state::greeting;
        return;
    }
    std::string why;
    if ((what & channel::error) && c.tls_failed()) {
        self.tls_failed_ = true;
        why = "TLS: " + c.tls_description();
    } else if (what & channel::timeout) {
        why = timeout_reason;
    } else if ((what & channel::eof) && c.tls_handshaking()) {
        self.tls_failed_ = true;   // it refused our TLS (a wrong version or cipher, ...)
        why = "closed the connection during TLS (" + c.tls_description() + ")";
    } else if (what & channel::eof) {
        why = "closed the connection";
    } else {
        why = strerror(c.last_error() ? c.last_error() : EVUTIL_SOCKET_ERROR());
    }
    if (self.state_ == state::connecting) why = "connect: " + why;
    self.fail(why);
}

void backend_conn::on_read(channel&, void* arg)
{
    auto& self = *static_cast<backend_conn*>(arg);
    // The greeting can be read before the connect event is delivered.
    if (self.state_ == state::connecting) self.state_ = state::greeting;
    if (self.state_ == state::ready)
        self.events_->backend_readable(self);
    else if (self.state_ == state::greeting || self.state_ == state::auth_sent)
        self.login_step();
    else if (self.state_ == state::checking)
        self.check_step();
}

void backend_conn::on_drained(channel&, void* arg)
{
    auto& self = *static_cast<backend_conn*>(arg);
    if (self.state_ == state::ready) self.events_->backend_writable(self);
}

void backend_conn::answer_greeting(const server_greeting& g)
{
    server_connection_id_ = g.connection_id;
    server_version_ = g.server_version;
    server_charset_ = g.charset;
    scramble_ = g.scramble;
    // What the client negotiated with us, minus what we cannot relay, plus what
    // the proxy needs itself (session tracking carries each write's GTID).
    std::uint32_t want = (params_.client_capabilities & cap::proxy_offers) | cap::protocol_41 | cap::secure_connection |
        cap::plugin_auth | (params_.track_gtid ? cap::session_track : 0) | cap::long_password;
    want &= ~(cap::connect_with_db | cap::ssl | cap::compress);
    if (params_.tls_ctx) want |= cap::ssl;
    if (!params_.database.empty()) want |= cap::connect_with_db;
    std::uint32_t extended = params_.client_mariadb_capabilities & g.mariadb_capabilities & mariadb_cap::proxy_offers;
    if (extended) want &= ~cap::long_password;   // the response then carries the extended word
    capabilities_ = want & (g.capabilities | cap::long_password);

    handshake_response r;
    r.capabilities = capabilities_;
    r.mariadb_capabilities = extended;
    r.max_packet = 1u << 30;
    r.charset = params_.charset ? params_.charset : g.charset;
    if (params_.tls_ctx && !upgrade_to_tls(r)) return;
    r.user = params_.user;
    r.auth_response = login_token(params_, g.scramble);
    r.database = params_.database;
    r.auth_plugin = native_password_plugin;
    r.connect_attrs = params_.connect_attrs;
    std::string pkt = frame_packet(build_handshake_response(r), next_seq_++);
    chan_->write(pkt.data(), pkt.size());
    state_ = state::auth_sent;
}

// SSLRequest, then the TLS handshake; the handshake response written next
// waits in the channel until the handshake is done, so the password token
// never crosses the wire in clear.
bool backend_conn::upgrade_to_tls(const handshake_response& r)
{
    if (!(capabilities_ & cap::ssl)) {
        tls_failed_ = true;
        fail(
            "the server does not offer TLS (no SSL capability in its greeting) and backend_tls requires it; "
            "not logging in without it");
        return false;
    }
    handshake_response req = r;
    req.ssl_request = true;
    std::string pkt = frame_packet(build_handshake_response(req), next_seq_++);
    chan_->write(pkt.data(), pkt.size());
    if (!chan_->start_tls_client(params_.tls_ctx, addr_.host, params_.tls_verify)) {
        tls_failed_ = true;
        fail("TLS: cannot start the handshake (out of memory, or a host name OpenSSL refuses)");
        return false;
    }
    return true;
}

void backend_conn::login_step()
{
    evbuffer* in = input();
    std::string payload;
    while (state_ == state::greeting || state_ == state::auth_sent) {
        std::uint8_t seq = 0;
        take_result t = take_packet(in, 65536, payload, seq);
        if (t == take_result::too_large) return fail("login: packet too large");
        if (t == take_result::need_more) return;
        next_seq_ = std::uint8_t(seq + 1);
        if (payload.empty()) return fail("login: empty packet");
        std::uint8_t first = std::uint8_t(payload[0]);
        if (first == err_marker) return fail("login refused", payload);
        if (state_ == state::greeting) {
            auto g = parse_greeting(payload);
            if (!g) return fail("bad greeting: " + g.err().message);
            answer_greeting(*g);
            continue;
        }
        if (first == ok_marker) return become_ready();
        if (first == auth_switch_marker) {
            auto sw = parse_auth_switch(payload);
            if (!sw) return fail(sw.err().message);
            if (sw->plugin != native_password_plugin)
                return fail("backend asks for auth plugin '" + sw->plugin +
                            "'; only mysql_native_password is supported");
            std::string token = login_token(params_, sw->data);
            std::string pkt = frame_packet(token, next_seq_++);
            chan_->write(pkt.data(), pkt.size());
            continue;
        }
        return fail("unexpected login packet 0x" + std::to_string(first));
    }
}

// Logged in, or a pooled connection answered its check: what was queued meanwhile goes out.
void backend_conn::become_ready()
{
    // The server must not have kept bytes we would misread later.
    chan_->cancel_timeout();
    state_ = state::ready;
    checking_ = false;
    if (!after_login_.empty()) {
        chan_->write(after_login_.data(), after_login_.size());
        after_login_.clear();
        after_login_.shrink_to_fit();
    }
    events_->backend_ready(*this);
}

void backend_conn::start_check(int timeout_ms)
{
    static const char ping[] = {1, 0, 0, 0, char(command::ping)};
    state_ = state::checking;
    checking_ = true;
    chan_->write(ping, sizeof ping);
    chan_->set_timeout(timeout_ms);
}

// The answer to the check: one OK. Anything else (an ERR, the server's
// goodbye to a killed connection) means the connection is not usable.
void backend_conn::check_step()
{
    std::string payload;
    std::uint8_t seq = 0;
    take_result t = take_packet(input(), 65536, payload, seq);
    if (t == take_result::need_more) return;
    if (t == take_result::taken && !payload.empty() && std::uint8_t(payload[0]) == ok_marker &&
        evbuffer_get_length(input()) == 0)
        return become_ready();
    fail(payload.size() > 1 && std::uint8_t(payload[0]) == err_marker ? "pooled connection: COM_PING refused"
                                                                      : "pooled connection: bad answer to COM_PING");
}

}   // namespace causeway::worker

namespace causeway::worker {

void backend_conn::send_internal(std::string_view payload, std::uint64_t tag)
{
    internal_.push_back({command(std::uint8_t(payload[0])), tag});
    std::string pkt = frame_packet(payload, 0);
    // Before the login completes the bytes would be read as part of it.
    if (state_ != state::ready)
        after_login_ += pkt;
    else
        chan_->write(pkt.data(), pkt.size());
}

void backend_conn::change_user(const login_params& p, int timeout_ms)
{
    params_.user = p.user;
    params_.password = p.password;
    params_.password_sha1 = p.password_sha1;
    params_.database = p.database;
    std::string token = login_token(params_, scramble_);
    std::string payload;
    byte_writer w(payload);
    w.u8(std::uint8_t(command::change_user));
    w.null_terminated(p.user);
    w.u8(std::uint8_t(token.size()));   // CLIENT_SECURE_CONNECTION: a length byte
    w.bytes(token);
    w.null_terminated(p.database);
    w.u16(params_.charset ? params_.charset : server_charset_);
    if (capabilities_ & cap::plugin_auth) w.null_terminated(native_password_plugin);
    if (capabilities_ & cap::connect_attrs) w.lenenc_bytes(params_.connect_attrs);
    state_ = state::auth_sent;
    next_seq_ = 1;
    std::string pkt = frame_packet(payload, 0);
    chan_->write(pkt.data(), pkt.size());
    chan_->set_timeout(timeout_ms);
}

void backend_conn::send_no_answer(std::string_view payload)
{
    std::string pkt = frame_packet(payload, 0);
    chan_->write(pkt.data(), pkt.size());
}

bool backend_conn::next_internal_answer(internal_answer& out, bool& broken)
{
    broken = false;
    evbuffer* in = input();
    while (!internal_.empty()) {
        if (!internal_started_) {
            internal_tracker_.begin(internal_.front().cmd, capabilities_);
            internal_partial_ = internal_answer{};
            internal_partial_.tag = internal_.front().tag;
            internal_partial_.ok = true;
            internal_data_packets_ = internal_columns_ = 0;
            internal_digest_.reset();
            internal_started_ = true;
        }
        std::string payload;
        std::uint8_t seq;
        take_result t = take_packet(in, max_payload - 1, payload, seq);
        if (t == take_result::need_more) return false;
        if (t == take_result::too_large || payload.empty()) {
            broken = true;
            return false;
        }
        std::uint32_t len = std::uint32_t(payload.size());
        packet_role role = internal_tracker_.on_packet(payload, len);
        if (role == packet_role::malformed || role == packet_role::local_infile) {
            broken = true;
            return false;
        }
        internal_digest_.packet(role, payload, capabilities_);
        if (role == packet_role::err) {
            internal_partial_.ok = false;
            auto e = parse_err(payload);
            if (e) internal_partial_.error = std::to_string(e->code) + " " + std::string(e->message);
        }
        if (role == packet_role::prepare_ok) internal_partial_.statement_id = internal_tracker_.statement_id();
        if (role == packet_role::data && internal_.front().cmd == command::query) {
            // Packet 0 is the column count, then that many definitions, then rows.
            byte_reader r(payload);
            if (internal_data_packets_ == 0) {
                internal_columns_ = r.lenenc();
            } else if (internal_data_packets_ == internal_columns_ + 1) {
                internal_partial_.has_value = true;
                if (!payload.empty() && std::uint8_t(payload[0]) == 0xfb)
                    internal_partial_.value_null = true;
                else
                    internal_partial_.value = std::string(r.lenenc_bytes());
            }
            ++internal_data_packets_;
        }
        if (internal_tracker_.done()) {
            internal_partial_.digest = internal_digest_.value();
            internal_partial_.status = internal_tracker_.status();
            internal_partial_.status_seen = internal_tracker_.status_seen();
            out = std::move(internal_partial_);
            internal_.pop_front();
            internal_started_ = false;
            return true;
        }
    }
    return false;
}

}   // namespace causeway::worker
