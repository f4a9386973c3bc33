// TLS for the worker's channels, as owners of OpenSSL objects: a context per
// config generation (certificate, key, versions, ciphers; built by the
// supervisor so that a bad certificate fails the start or the reload, then
// inherited by the workers it forks), and a stream per connection that turns
// ciphertext into plaintext and back through memory BIOs. No I/O here: the
// channel moves the ciphertext, so want-read / want-write never block a loop.
#pragma once

#include <openssl/ssl.h>

#include <cstddef>
#include <memory>
#include <string>

#include "common/config.hh"
#include "common/result.hh"
#include "worker/libevent_raii.hh"

namespace causeway::worker {

struct ssl_ctx_deleter {
    void operator()(SSL_CTX* c) const noexcept { SSL_CTX_free(c); }
};
struct ssl_deleter {
    void operator()(SSL* s) const noexcept { SSL_free(s); }
};
using ssl_ctx_ptr = std::unique_ptr<SSL_CTX, ssl_ctx_deleter>;
using ssl_ptr = std::unique_ptr<SSL, ssl_deleter>;

// The server side of client TLS for one config generation. Empty (get() is
// null) when the config offers no TLS.
class tls_context {
public:
    tls_context() = default;
    SSL_CTX* get() const { return ctx_.get(); }
    explicit operator bool() const { return bool(ctx_); }

    // Loads tls_cert, tls_key and tls_ca; errors name the file and OpenSSL's reason.
    static common::result<tls_context> for_clients(const common::config& cfg);
    // A client-side context: tests, and the connections to the servers
    // (backend_tls), whose CA is `ca_file` (empty: nothing to verify against).
    static common::result<tls_context> for_servers(const std::string& ca_file);
    // The one for the config's backend_tls settings; empty when every server
    // is `off`. Built where for_clients() is, so a bad CA fails the start or reload.
    static common::result<tls_context> for_backends(const common::config& cfg);

private:
    explicit tls_context(ssl_ctx_ptr c) : ctx_(std::move(c)) {}
    ssl_ctx_ptr ctx_;
};

// One TLS connection over memory BIOs. The channel feeds what the socket
// read, takes out plaintext, puts in plaintext and takes out what the socket
// must send. Never throws; a failure is sticky and its reason kept.
class tls_stream {
public:
    enum class status {
        ok,   // progress made (or nothing to do); more input may be needed
        closed,   // the peer sent close_notify
        failed,   // a TLS error: reason() says which; the connection is over
    };

    // Server side when `server`, else client side (tests). Null on failure.
    static std::unique_ptr<tls_stream> create(SSL_CTX* ctx, bool server);

    // Client side only, before the handshake: `verify` checks the server's
    // certificate chain against the context's CA and that it names `host`
    // (an IP address against its IP subjectAltNames, a name against its DNS
    // names); otherwise the certificate is taken unchecked (encryption only).
    // A host name is also sent as SNI. False if OpenSSL refuses the name.
    bool expect_server(const std::string& host, bool verify);
    // Starts a client-side handshake (its ClientHello is then in the output).
    status begin_handshake();

    // Ciphertext from the peer.
    bool feed(const void* data, std::size_t n);
    // Runs the handshake and decrypts every whole record fed so far into `plain`.
    status read(evbuffer* plain);
    // Encrypts up to `max` bytes from the front of `plain` (drained as they
    // are taken). Only once the handshake is done; before, it takes nothing.
    status write(evbuffer* plain, std::size_t max);
    // Ciphertext for the peer (handshake, records, alerts): appended to `raw`.
    bool take_output(evbuffer* raw);
    std::size_t output_pending() const;
    // The close_notify alert, when the proxy closes first.
    void shutdown();

    bool handshake_done() const { return done_; }
    const std::string& reason() const { return reason_; }
    const char* version() const { return SSL_get_version(ssl_.get()); }
    const char* cipher() const { return SSL_get_cipher_name(ssl_.get()); }

private:
    tls_stream() = default;
    status fail(int ssl_error);

    ssl_ptr ssl_;
    BIO* rbio_ = nullptr;   // owned by ssl_
    BIO* wbio_ = nullptr;
    bool done_ = false;
    bool failed_ = false;
    std::string reason_;
};

}   // namespace causeway::worker
