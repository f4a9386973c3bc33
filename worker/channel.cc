// See channel.hh.
#include "worker/channel.hh"

#include <errno.h>
#include <fcntl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "protocol/compress.hh"
#include "worker/tls.hh"

namespace causeway::worker {

namespace {
// Bytes read per readiness event (libevent's bufferevents read 16 KiB too).
constexpr std::size_t read_chunk = 16384;
// TLS: plaintext encrypted ahead of what the socket took, at most. Keeps the
// output() length (what the session's flow control watches) meaningful.
constexpr std::size_t tls_batch = 65536;
// Compression: plain output deflated per frame, at most. One frame per round
// for a short answer; a long result goes in frames of this size.
constexpr std::size_t compress_batch = 65536;
}   // namespace

// The compressed protocol's state of one connection.
struct channel::compression {
    compression(protocol::zlib_codec* c, std::uint32_t max) : codec(c), max_frame(max) {}
    protocol::zlib_codec* codec;
    std::uint32_t max_frame;
    evbuffer_ptr in{evbuffer_new()};   // frames read, not yet inflated (at most one partial)
    evbuffer_ptr out{evbuffer_new()};   // frames made, not yet on the wire (or in TLS)
    // The compressed sequence id: the client numbers a command's first frame
    // 0 and every frame of either side adds one, so an answer's first frame
    // is one past the last frame of what it answers. Each frame read is
    // marked with where its bytes start in input(); when output is deflated,
    // the last frame the session has started to consume gives the number.
    struct mark {
        std::uint64_t start;
        std::uint8_t seq;
    };
    std::vector<mark> marks;
    protocol::packet_renumberer renumber;
    std::uint64_t inflated = 0;   // bytes ever added to input()
    std::uint8_t seq = 0;   // of our next frame
    std::string error;
};

channel::channel(event_base* base, int fd) : base_(base), fd_(fd), in_(evbuffer_new()), out_(evbuffer_new())
{
    flush_ev_.reset(event_new(base, -1, 0, on_flush, this));
    if (fd_ >= 0) make_socket_events();
}

void channel::make_socket_events()
{
    read_ev_.reset(event_new(base_, fd_, EV_READ | EV_PERSIST, on_readable, this));
    write_ev_.reset(event_new(base_, fd_, EV_WRITE | EV_PERSIST, on_writable, this));
}

channel::~channel()
{
    // Events first: they refer to the fd.
    read_ev_.reset();
    write_ev_.reset();
    flush_ev_.reset();
    timer_ev_.reset();
    if (tls_ && fd_ >= 0 && !failed_) {
        // close_notify, if the socket takes it now: the peer sees a clean end.
        tls_->shutdown();
        if (tls_->take_output(tls_out_.get())) (void)evbuffer_write(tls_out_.get(), fd_);
    }
    if (fd_ >= 0) ::close(fd_);
}

void channel::set_callbacks(data_cb on_read, data_cb on_drained, event_cb on_event, void* arg)
{
    on_read_ = on_read;
    on_drained_ = on_drained;
    on_event_ = on_event;
    arg_ = arg;
}

void channel::quiesce()
{
    disable_read();
    if (write_armed_) event_del(write_ev_.get());
    write_armed_ = false;
    event_del(flush_ev_.get());
    flush_pending_ = false;
    cancel_timeout();
    on_read_ = on_drained_ = nullptr;
    on_event_ = nullptr;
}

bool channel::connect(const sockaddr* addr, socklen_t len)
{
    if (fd_ < 0) {
        fd_ = ::socket(addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd_ < 0) return false;
        make_socket_events();
    }
    if (::connect(fd_, addr, len) != 0 && errno != EINPROGRESS) return false;
    // Writable means connected (or failed: SO_ERROR tells).
    connecting_ = true;
    write_armed_ = true;
    event_add(write_ev_.get(), nullptr);
    return true;
}

void channel::set_timeout(int ms)
{
    if (!timer_ev_) timer_ev_.reset(evtimer_new(base_, on_timer, this));
    timeval tv{ms / 1000, (ms % 1000) * 1000};
    evtimer_add(timer_ev_.get(), &tv);
}

void channel::cancel_timeout()
{
    if (timer_ev_) evtimer_del(timer_ev_.get());
}

void channel::enable_read()
{
    if (reading_ || failed_) return;
    reading_ = true;
    event_add(read_ev_.get(), nullptr);
}

void channel::disable_read()
{
    if (!reading_) return;
    reading_ = false;
    event_del(read_ev_.get());
}

void channel::write(const void* data, std::size_t n)
{
    evbuffer_add(out_.get(), data, n);
    output_changed();
}

void channel::output_changed()
{
    // Sent after the callbacks of this round (libevent runs an event made
    // active now before it polls again), so several packets go in one writev.
    if (flush_pending_ || write_armed_ || failed_) return;
    flush_pending_ = true;
    event_active(flush_ev_.get(), EV_TIMEOUT, 0);
}

void channel::watch_drain(std::size_t low)
{
    drain_low_ = low;
    drain_watch_ = true;
    if (output_pending() <= low && !write_armed_) {
        flush_pending_ = true;   // report it from the loop, not from inside the caller
        event_active(flush_ev_.get(), EV_TIMEOUT, 0);
    }
}

void channel::report(short what, int err)
{
    if (what & (eof | error)) {
        failed_ = true;
        disable_read();
        if (write_armed_) event_del(write_ev_.get());
        write_armed_ = false;
    }
    last_error_ = err;
    if (on_event_) on_event_(*this, what, arg_);
}

void channel::flush()
{
    bool blocked = false;
    while (true) {
        if (z_ && !fill_compressed_output()) return report(error, ENOMEM);
        if (tls_ && !fill_tls_output()) return fail_tls();
        evbuffer* wire = tls_ ? tls_out_.get() : plain_output();
        if (evbuffer_get_length(wire) == 0) break;
        int n = evbuffer_write(wire, fd_);
        if (n > 0) continue;
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            blocked = true;
            break;
        }
        return report(error, n < 0 ? errno : EPIPE);
    }
    if (blocked != write_armed_) {
        write_armed_ = blocked;
        if (blocked)
            event_add(write_ev_.get(), nullptr);
        else
            event_del(write_ev_.get());
    }
    if (drain_watch_ && on_drained_ && output_pending() <= drain_low_) {
        drain_watch_ = false;
        on_drained_(*this, arg_);
    }
}

std::size_t channel::output_pending() const
{
    return evbuffer_get_length(out_.get()) + (tls_out_ ? evbuffer_get_length(tls_out_.get()) : 0) +
        (z_ ? evbuffer_get_length(z_->out.get()) : 0);
}

// Where the socket's (or TLS's) plaintext goes, and what it sends.
evbuffer* channel::raw_input() const
{
    return z_ ? z_->in.get() : in_.get();
}

evbuffer* channel::plain_output() const
{
    return z_ ? z_->out.get() : out_.get();
}

// ---- compression -----------------------------------------------------------

bool channel::start_compression(protocol::zlib_codec* codec, std::uint32_t max_frame)
{
    z_.reset(new (std::nothrow) compression(codec, max_frame));
    if (!z_ || !z_->in || !z_->out) {
        z_.reset();
        return false;
    }
    // The login's OK goes out as it is: compression starts after it.
    evbuffer_add_buffer(z_->out.get(), out_.get());
    if (evbuffer_get_length(in_.get())) {
        // A client that sent its first command right behind the login
        // (pipelined): those bytes are frames already. Inflated from the
        // loop (on_readable finds the socket empty and goes on with them),
        // not inside the caller's callback.
        evbuffer_add_buffer(z_->in.get(), in_.get());
        event_active(read_ev_.get(), EV_READ, 0);
    }
    output_changed();
    return true;
}

const std::string& channel::compression_error() const
{
    static const std::string none;
    return z_ ? z_->error : none;
}

// Inflates every whole frame read into input(). False (and `error`
// reported) for a frame that is too large or does not inflate.
bool channel::inflate_input()
{
    compression& z = *z_;
    std::string plain;
    while (true) {
        std::size_t avail = evbuffer_get_length(z.in.get());
        unsigned char hdr[protocol::compressed_header_size];
        if (avail < sizeof hdr) break;
        evbuffer_copyout(z.in.get(), hdr, sizeof hdr);
        auto h = protocol::parse_compressed_header(hdr);
        // Refused before the frame is buffered whole; and a declared length
        // is never allocated ahead of the bytes that back it (inflate_frame).
        std::uint32_t declared = h.uncompressed_length ? h.uncompressed_length : h.length;
        if (declared > z.max_frame) {
            z.error = "a compressed frame declares " + std::to_string(declared) + " bytes, more than " +
                std::to_string(z.max_frame);
            report(error, compression_failure);
            return false;
        }
        std::size_t whole = sizeof hdr + h.length;
        if (avail < whole) break;
        std::size_t done = 0, at = plain.size();
        auto st = protocol::take_frame(*z.codec, evbuffer_pullup(z.in.get(), ssize_t(whole)), whole, z.max_frame, plain,
                                       h, done, z.error);
        if (st != protocol::frame_status::frame) {
            report(error, compression_failure);
            return false;
        }
        evbuffer_drain(z.in.get(), done);
        z.renumber.rewrite_input(reinterpret_cast<std::uint8_t*>(plain.data()) + at, plain.size() - at, h.seq);
        z.marks.push_back({z.inflated + at, h.seq});
        z.inflated += plain.size() - at;
    }
    if (!plain.empty() && evbuffer_add(in_.get(), plain.data(), plain.size()) != 0) {
        report(error, ENOMEM);
        return false;
    }
    return true;
}

// Deflates the next part of the output when what was deflated before is out.
bool channel::fill_compressed_output()
{
    compression& z = *z_;
    if (evbuffer_get_length(z.out.get()) >= compress_batch) return true;
    std::size_t n = evbuffer_get_length(out_.get());
    if (n == 0) return true;
    // The answer's numbering: one past the last frame the session has
    // started to consume (see compression::marks).
    std::uint64_t consumed = z.inflated - evbuffer_get_length(in_.get());
    std::size_t used = 0;
    while (used < z.marks.size() && z.marks[used].start < consumed) z.seq = std::uint8_t(z.marks[used++].seq + 1);
    z.marks.erase(z.marks.begin(), z.marks.begin() + std::ptrdiff_t(used));
    std::size_t take = n < compress_batch ? n : compress_batch;
    std::string frames;
    auto* p = evbuffer_pullup(out_.get(), ssize_t(take));
    if (p) z.renumber.saw_output(p, take);
    if (!p || !protocol::append_frames(*z.codec, p, take, compress_batch, z.seq, frames)) return false;
    if (evbuffer_add(z.out.get(), frames.data(), frames.size()) != 0) return false;
    evbuffer_drain(out_.get(), take);
    return true;
}

// ---- TLS -------------------------------------------------------------------

bool channel::start_tls(SSL_CTX* ctx)
{
    tls_ = tls_stream::create(ctx, true);
    tls_out_.reset(evbuffer_new());
    if (!tls_ || !tls_out_) {
        tls_.reset();
        return false;
    }
    if (std::size_t n = evbuffer_get_length(in_.get())) {
        // A client sends its ClientHello right behind the SSLRequest, often
        // in the same segment: those bytes were read as plaintext.
        tls_->feed(evbuffer_pullup(in_.get(), -1), n);
        evbuffer_drain(in_.get(), n);
        // Handled from the loop (read_tls finds the socket empty and goes
        // on with what was fed), not inside the caller's callback.
        event_active(read_ev_.get(), EV_READ, 0);
    }
    return true;
}

bool channel::start_tls_client(SSL_CTX* ctx, const std::string& host, bool verify)
{
    tls_ = tls_stream::create(ctx, false);
    tls_out_.reset(evbuffer_new());
    if (!tls_ || !tls_out_ || !tls_->expect_server(host, verify) ||
        tls_->begin_handshake() == tls_stream::status::failed) {
        tls_.reset();
        return false;
    }
    // What was written before (the SSLRequest) goes out in clear, ahead of
    // the ClientHello; output() holds plaintext for TLS from here on.
    evbuffer_add_buffer(tls_out_.get(), out_.get());
    output_changed();
    return true;
}

bool channel::tls_handshaking() const
{
    return tls_ && !tls_->handshake_done();
}

std::string channel::tls_description() const
{
    if (!tls_) return "no TLS";
    if (!tls_->reason().empty()) return tls_->reason();
    if (!tls_->handshake_done()) return "TLS handshake not finished";
    return std::string(tls_->version()) + " " + tls_->cipher();
}

// Encrypts the next part of the output when the socket took the last one.
bool channel::fill_tls_output()
{
    if (evbuffer_get_length(tls_out_.get()) >= tls_batch) return true;
    auto st = tls_->write(plain_output(), tls_batch);
    if (!tls_->take_output(tls_out_.get())) return false;
    return st != tls_stream::status::failed;
}

// A TLS error: the alert OpenSSL made is sent if the socket takes it at
// once (a clean close for the peer), then the owner hears `error`.
void channel::fail_tls()
{
    if (tls_->take_output(tls_out_.get()) && evbuffer_get_length(tls_out_.get()))
        (void)evbuffer_write(tls_out_.get(), fd_);
    report(error, tls_failure);
}

void channel::read_tls()
{
    char buf[read_chunk];
    ssize_t n = ::read(fd_, buf, sizeof buf);
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) return report(error, errno);
    if (n == 0) return report(eof, 0);
    if (n > 0 && !tls_->feed(buf, std::size_t(n))) return report(error, ENOMEM);
    std::size_t before = evbuffer_get_length(in_.get());
    bool was_done = tls_->handshake_done();
    auto st = tls_->read(raw_input());
    if (st == tls_stream::status::failed) return fail_tls();
    if (z_ && !inflate_input()) return;
    // Handshake messages, session tickets, alerts: out now; and on the client
    // side, the plaintext that waited for the handshake to end.
    bool unblocked = !was_done && tls_->handshake_done() && evbuffer_get_length(out_.get());
    if ((tls_->output_pending() || unblocked) && !write_armed_) flush();
    if (failed_) return;
    if (evbuffer_get_length(in_.get()) > before && on_read_) on_read_(*this, arg_);
    if (st == tls_stream::status::closed && !failed_) report(eof, 0);
}

void channel::on_flush(evutil_socket_t, short, void* arg)
{
    auto& self = *static_cast<channel*>(arg);
    self.flush_pending_ = false;
    if (self.failed_ || self.connecting_) return;
    self.flush();
}

void channel::on_writable(evutil_socket_t, short, void* arg)
{
    auto& self = *static_cast<channel*>(arg);
    if (self.connecting_) {
        self.connecting_ = false;
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(self.fd_, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err) return self.report(error, err);
        self.write_armed_ = false;
        event_del(self.write_ev_.get());
        self.report(connected, 0);
        if (!self.failed_ && evbuffer_get_length(self.out_.get())) self.flush();
        return;
    }
    // Past the low water mark, reported by flush() itself.
    self.flush();
}

void channel::on_readable(evutil_socket_t, short, void* arg)
{
    auto& self = *static_cast<channel*>(arg);
    if (self.connecting_) return;   // the greeting beat the connect event: wait for it
    if (self.tls_) return self.read_tls();
    evbuffer* raw = self.raw_input();
    evbuffer_iovec v[2];
    int nv = evbuffer_reserve_space(raw, read_chunk, v, 2);
    if (nv <= 0) return self.report(error, ENOMEM);
    iovec io[2];
    for (int i = 0; i < nv; ++i) io[i] = {v[i].iov_base, v[i].iov_len};
    ssize_t n = ::readv(self.fd_, io, nv);
    if (n < 0) {
        int err = errno;
        evbuffer_commit_space(raw, v, 0);
        if (err != EAGAIN && err != EWOULDBLOCK && err != EINTR) return self.report(error, err);
        // Nothing new; frames moved in by start_compression() may wait.
        if (self.z_ && evbuffer_get_length(raw)) self.raw_input_added();
        return;
    }
    if (n == 0) {
        evbuffer_commit_space(raw, v, 0);
        return self.report(eof, 0);
    }
    std::size_t left = std::size_t(n);
    int used = 0;
    for (int i = 0; i < nv && left; ++i, ++used) {
        if (v[i].iov_len > left) v[i].iov_len = left;
        left -= v[i].iov_len;
    }
    evbuffer_commit_space(raw, v, used);
    self.raw_input_added();
}

// New bytes in raw_input(): with compression, inflated first; the owner
// hears of them once input() grew.
void channel::raw_input_added()
{
    if (z_) {
        std::size_t before = evbuffer_get_length(in_.get());
        if (!inflate_input()) return;
        if (evbuffer_get_length(in_.get()) == before) return;   // a frame still arriving
    }
    if (on_read_) on_read_(*this, arg_);
}

void channel::on_timer(evutil_socket_t, short, void* arg)
{
    auto& self = *static_cast<channel*>(arg);
    self.report(timeout, ETIMEDOUT);
}

}   // namespace causeway::worker
