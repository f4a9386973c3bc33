// A socket with an input and an output evbuffer: what the worker's sessions
// use instead of libevent bufferevents, to spend fewer system calls per query.
// Reads go straight into the input with readv (no FIONREAD ioctl per read);
// writes are sent at the end of the current round of callbacks with one
// writev, and EV_WRITE is armed only when the socket did not take it all
// (a bufferevent arms and disarms it for every reply: two epoll_ctl each).
// With start_tls() the socket carries TLS: input() and output() still hold
// plaintext, and nothing above the channel sees the difference. Likewise
// with start_compression() (the compressed protocol, inside TLS when both are
// used): input() and output() hold the plain protocol's packets.
// Move-only owner of the fd and its events; never throws.
#pragma once

#include <errno.h>
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "worker/libevent_raii.hh"

typedef struct ssl_ctx_st SSL_CTX;

namespace causeway::protocol {
class zlib_codec;
}

namespace causeway::worker {

class tls_stream;

class channel {
public:
    enum event_bits : short {
        connected = 0x01,
        eof = 0x02,
        error = 0x04,   // errno in last_error()
        timeout = 0x08,
    };
    // last_error() after an `error` event when TLS failed; tls_error() says why.
    static constexpr int tls_failure = EPROTO;
    // last_error() after an `error` event for a bad compressed frame; compression_error() says why.
    static constexpr int compression_failure = EBADMSG;
    using data_cb = void (*)(channel&, void* arg);
    using event_cb = void (*)(channel&, short what, void* arg);

    // Takes `fd` (a connected non-blocking socket), or -1 for one that
    // connect() opens.
    channel(event_base* base, int fd);
    channel(const channel&) = delete;
    channel& operator=(const channel&) = delete;
    ~channel();

    int fd() const { return fd_; }
    evbuffer* input() const { return in_.get(); }
    evbuffer* output() const { return out_.get(); }
    int last_error() const { return last_error_; }

    // on_read: new bytes in input(). on_drained: the output fell to the low
    // water mark set by watch_drain(). on_event: connected / eof / error / timeout.
    void set_callbacks(data_cb on_read, data_cb on_drained, event_cb on_event, void* arg);

    // Non-blocking connect of a new socket; on_event(connected) or (error) follows.
    bool connect(const sockaddr* addr, socklen_t len);
    // on_event(timeout) unless cancel_timeout() first.
    void set_timeout(int ms);
    void cancel_timeout();

    void enable_read();
    void disable_read();

    // Appends to the output; it is sent once the current callbacks return.
    void write(const void* data, std::size_t n);
    // After a move into output() with evbuffer_* calls: schedule the send.
    void output_changed();
    // Calls on_drained once the output holds at most `low` bytes.
    void watch_drain(std::size_t low);

    // Stops all callbacks (the owner is going away); the fd closes with the object.
    void quiesce();

    // Server side of TLS from here on: the bytes already in input() are the
    // start of the client's handshake. False if OpenSSL cannot make the
    // connection's object (out of memory).
    bool start_tls(SSL_CTX* ctx);
    // Client side of TLS from here on (a backend after its SSLRequest): what
    // output() holds now is still sent in clear, then the ClientHello;
    // plaintext written meanwhile
    // waits in output() until the handshake is done. The server's
    // certificate is checked when `verify` (see tls_stream::expect_server).
    // False if OpenSSL cannot make the object or refuses `host`.
    bool start_tls_client(SSL_CTX* ctx, const std::string& host, bool verify);
    bool tls_active() const { return bool(tls_); }
    bool tls_handshaking() const;   // TLS started, its handshake not done yet
    bool tls_failed() const { return last_error_ == tls_failure && tls_; }
    std::string tls_description() const;   // "TLSv1.3 TLS_AES_256_GCM_SHA384", or the failure
    // Plaintext not yet on the wire: output() plus what compression and TLS hold.
    std::size_t output_pending() const;

    // The compressed protocol from here on, in both directions: what output()
    // holds now (the login's OK) still goes out as it is; bytes read from now
    // on are frames, inflated into input(), and output() is sent deflated in
    // frames. A frame declaring more than `max_frame` plain bytes, or whose
    // deflate data is bad, ends the connection with `error`
    // (compression_failure). `codec` is the worker's and outlives the channel.
    // False if out of memory.
    bool start_compression(protocol::zlib_codec* codec, std::uint32_t max_frame);
    bool compressing() const { return bool(z_); }
    const std::string& compression_error() const;

private:
    static void on_readable(evutil_socket_t, short, void* arg);
    static void on_writable(evutil_socket_t, short, void* arg);
    static void on_flush(evutil_socket_t, short, void* arg);
    static void on_timer(evutil_socket_t, short, void* arg);
    void flush();
    void report(short what, int err);
    void make_socket_events();
    void read_tls();
    bool fill_tls_output();
    void fail_tls();
    evbuffer* raw_input() const;
    evbuffer* plain_output() const;
    bool inflate_input();
    void raw_input_added();
    bool fill_compressed_output();

    event_base* base_;
    int fd_;
    evbuffer_ptr in_, out_;
    event_ptr read_ev_, write_ev_, flush_ev_, timer_ev_;
    data_cb on_read_ = nullptr, on_drained_ = nullptr;
    event_cb on_event_ = nullptr;
    void* arg_ = nullptr;
    std::size_t drain_low_ = 0;
    bool drain_watch_ = false;
    bool reading_ = false;
    bool write_armed_ = false;
    bool flush_pending_ = false;
    bool connecting_ = false;
    bool failed_ = false;
    int last_error_ = 0;
    std::unique_ptr<tls_stream> tls_;
    evbuffer_ptr tls_out_;   // ciphertext the socket has not taken yet
    struct compression;
    std::unique_ptr<compression> z_;   // only for a compressing client: idle ones pay one pointer
};

}   // namespace causeway::worker
