// The poller's monitoring connection (see monitor_conn.hh).
#include "daemon/monitor_conn.hh"

#include <algorithm>

#include "common/clock.hh"
#include "common/log.hh"
#include "protocol/bytes.hh"
#include "protocol/constants.hh"
#include "protocol/ok_err.hh"
#include "worker/packet_reader.hh"

namespace causeway::daemon {

using namespace protocol;

namespace {
void free_backend_later(evutil_socket_t, short, void* arg)
{
    delete static_cast<worker::backend_conn*>(arg);
}
}   // namespace

monitor_conn::monitor_conn(event_base* base, int index, std::string name, const common::address& addr,
                           monitor_events& events)
    : base_(base),
      index_(index),
      name_(std::move(name)),
      addr_(addr),
      events_(events),
      timer_(evtimer_new(base, on_timeout, this))
{
}

monitor_conn::~monitor_conn() = default;

void monitor_conn::close()
{
    busy_ = false;
    evtimer_del(timer_.get());
    if (!conn_) return;
    conn_->quiesce();
    // We may be inside one of its callbacks: free it from the loop.
    timeval now{0, 0};
    event_base_once(base_, -1, EV_TIMEOUT, free_backend_later, conn_.release(), &now);
}

void monitor_conn::fail(const std::string& why)
{
    close();
    events_.monitor_down(*this, why);
}

void monitor_conn::connect(const std::string& user, const std::string& password, int timeout_ms)
{
    close();
    auto r = common::resolve(addr_);
    if (!r) return fail(r.err().message);
    resolved_ = *r;
    worker::login_params p;
    p.user = user;
    p.password = password;
    p.client_capabilities = cap::protocol_41 | cap::secure_connection | cap::plugin_auth | cap::transactions |
        cap::deprecate_eof | cap::long_password;
    p.connect_attrs = "";
    p.track_gtid = false;
    p.tls_ctx = tls_ctx_;
    p.tls_verify = tls_verify_;
    worker::backend_events& self = *this;
    conn_.reset(new worker::backend_conn(base_, index_, name_, addr_, self));
    if (!conn_->start(resolved_, p, timeout_ms)) fail("cannot open a socket");
}

bool monitor_conn::query(const std::string& sql, int late_ms, int timeout_ms)
{
    if (!ready()) return false;
    std::string payload(1, char(command::query));
    payload += sql;
    std::string pkt = frame_packet(payload, 0);
    tracker_.begin(command::query, conn_->capabilities());
    packets_.clear();
    answer_bytes_ = 0;
    busy_ = true;
    sent_ns_ = common::monotonic_ns();
    conn_->write(pkt);
    late_ = false;
    late_ms = std::min(late_ms, timeout_ms);
    hard_left_ms_ = timeout_ms - late_ms;
    timeval tv{late_ms / 1000, (late_ms % 1000) * 1000};
    evtimer_add(timer_.get(), &tv);
    return true;
}

void monitor_conn::on_timeout(evutil_socket_t, short, void* arg)
{
    auto& self = *static_cast<monitor_conn*>(arg);
    if (!self.late_ && self.hard_left_ms_ > 0) {
        self.late_ = true;
        timeval tv{self.hard_left_ms_ / 1000, (self.hard_left_ms_ % 1000) * 1000};
        evtimer_add(self.timer_.get(), &tv);
        self.events_.monitor_late(self);
        return;
    }
    self.fail("no answer in time");
}

void monitor_conn::backend_ready(worker::backend_conn&)
{
    events_.monitor_up(*this);
}

void monitor_conn::backend_login_failed(worker::backend_conn&, const std::string& why, const std::string& server_error)
{
    std::string what = why;
    if (!server_error.empty()) {
        auto e = parse_err(server_error);
        if (e) what += ": " + std::string(e->message);
    }
    fail(what);
}

void monitor_conn::backend_closed(worker::backend_conn&, const std::string& why)
{
    fail(why);
}

void monitor_conn::backend_readable(worker::backend_conn& b)
{
    evbuffer* in = b.input();
    while (busy_) {
        std::string payload;
        std::uint8_t seq;
        worker::take_result t = worker::take_packet(
            in, std::uint32_t(std::min<std::size_t>(max_answer_bytes_ - answer_bytes_, 0xffffffffu)), payload, seq);
        if (t == worker::take_result::need_more) return;
        if (t == worker::take_result::too_large || payload.empty()) return fail("answer too large or malformed");
        answer_bytes_ += payload.size();
        std::uint32_t len = std::uint32_t(payload.size());
        if (tracker_.on_packet(payload, len) == packet_role::malformed) return fail("malformed answer");
        packets_.push_back(std::move(payload));
        if (!tracker_.done()) continue;
        std::uint64_t rtt = common::monotonic_ns() - sent_ns_;
        busy_ = false;
        evtimer_del(timer_.get());
        auto answer = decode_small_result(packets_, b.capabilities());
        if (!answer) return fail(answer.err().message);
        events_.monitor_answer(*this, *answer, rtt);
        return;
    }
    if (evbuffer_get_length(in)) fail("unexpected bytes");
}

}   // namespace causeway::daemon
