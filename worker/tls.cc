// See tls.hh. Memory BIOs on both sides: the SSL object never touches the
// socket, so the channel keeps its own readv/writev, bytes already read
// before the TLS upgrade (a ClientHello sent right behind the SSLRequest) are
// simply fed in, and a write never wants a read (renegotiation is off).
#include "worker/tls.hh"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include <algorithm>

namespace causeway::worker {

namespace {
// One TLS record holds at most 16 KiB of plaintext.
constexpr std::size_t record_max = 16384;
// A TLS record's header: type, version, length.
constexpr std::size_t record_header = 5;

// OpenSSL's reasons for the last failure, oldest first; clears the queue.
std::string openssl_errors()
{
    std::string out;
    while (unsigned long e = ERR_get_error()) {
        char buf[256];
        ERR_error_string_n(e, buf, sizeof buf);
        if (!out.empty()) out += "; ";
        out += buf;
    }
    return out.empty() ? "unknown OpenSSL error" : out;
}

// SSL_get_error() needs an empty error queue before each call. It is empty
// but for a failure (fail() drains it), and ERR_clear_error() walks all its
// slots: per query it was the costliest libcrypto call on the TLS path.
void clear_errors()
{
    if (ERR_peek_error() != 0) ERR_clear_error();
}

common::error ctx_error(const std::string& what)
{
    return common::error{0, what + ": " + openssl_errors()};
}
}   // namespace

common::result<tls_context> tls_context::for_clients(const common::config& cfg)
{
    if (!cfg.tls_offered()) return tls_context{};
    ERR_clear_error();
    ssl_ctx_ptr c(SSL_CTX_new(TLS_server_method()));
    if (!c) return ctx_error("SSL_CTX_new");
    SSL_CTX* x = c.get();
    SSL_CTX_set_min_proto_version(x, cfg.tls_min_version == 1 ? TLS1_3_VERSION : TLS1_2_VERSION);
    SSL_CTX_set_options(x, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_COMPRESSION);
    // Partial writes: the channel encrypts from an evbuffer chunk by chunk.
    // Release buffers: an idle TLS client holds no 16 KiB record buffers.
    SSL_CTX_set_mode(x, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
    // Resumption works across workers: the ticket keys were made here, before fork.
    static const unsigned char sid_ctx[] = "causeway";
    SSL_CTX_set_session_id_context(x, sid_ctx, sizeof sid_ctx - 1);
    if (SSL_CTX_use_certificate_chain_file(x, cfg.tls_cert.c_str()) != 1) return ctx_error("tls_cert " + cfg.tls_cert);
    if (SSL_CTX_use_PrivateKey_file(x, cfg.tls_key.c_str(), SSL_FILETYPE_PEM) != 1)
        return ctx_error("tls_key " + cfg.tls_key);
    if (SSL_CTX_check_private_key(x) != 1) return ctx_error("tls_key " + cfg.tls_key + " does not match tls_cert");
    if (!cfg.tls_ciphers.empty() && SSL_CTX_set_cipher_list(x, cfg.tls_ciphers.c_str()) != 1)
        return ctx_error("tls_ciphers '" + cfg.tls_ciphers + "'");
    if (!cfg.tls_ciphersuites.empty() && SSL_CTX_set_ciphersuites(x, cfg.tls_ciphersuites.c_str()) != 1)
        return ctx_error("tls_ciphersuites '" + cfg.tls_ciphersuites + "'");
    if (!cfg.tls_ca.empty()) {
        if (SSL_CTX_load_verify_locations(x, cfg.tls_ca.c_str(), nullptr) != 1)
            return ctx_error("tls_ca " + cfg.tls_ca);
        STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(cfg.tls_ca.c_str());
        if (!names) return ctx_error("tls_ca " + cfg.tls_ca);
        SSL_CTX_set_client_CA_list(x, names);   // takes ownership
        // Ask for a certificate; one that is presented must verify.
        SSL_CTX_set_verify(x, SSL_VERIFY_PEER, nullptr);
    }
    return tls_context(std::move(c));
}

common::result<tls_context> tls_context::for_servers(const std::string& ca_file)
{
    ERR_clear_error();
    ssl_ctx_ptr c(SSL_CTX_new(TLS_client_method()));
    if (!c) return ctx_error("SSL_CTX_new");
    SSL_CTX_set_min_proto_version(c.get(), TLS1_2_VERSION);
    SSL_CTX_set_mode(c.get(), SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    if (!ca_file.empty()) {
        if (SSL_CTX_load_verify_locations(c.get(), ca_file.c_str(), nullptr) != 1) return ctx_error("CA " + ca_file);
        SSL_CTX_set_verify(c.get(), SSL_VERIFY_PEER, nullptr);
    }
    return tls_context(std::move(c));
}

common::result<tls_context> tls_context::for_backends(const common::config& cfg)
{
    bool any = cfg.backend_tls != int(common::backend_tls_mode::off);
    for (const auto& [name, mode] : cfg.backend_tls_by_server) any = any || mode != int(common::backend_tls_mode::off);
    if (!any) return tls_context{};
    auto c = for_servers(cfg.backend_tls_ca);
    if (!c) return common::error{0, "backend_tls_ca: " + c.err().message};
    return c;
}

std::unique_ptr<tls_stream> tls_stream::create(SSL_CTX* ctx, bool server)
{
    ERR_clear_error();
    std::unique_ptr<tls_stream> s(new tls_stream);
    s->ssl_.reset(SSL_new(ctx));
    if (!s->ssl_) return nullptr;
    s->rbio_ = BIO_new(BIO_s_mem());
    s->wbio_ = BIO_new(BIO_s_mem());
    if (!s->rbio_ || !s->wbio_) {
        BIO_free(s->rbio_);
        BIO_free(s->wbio_);
        return nullptr;
    }
    // An empty input BIO means "wait for more", not end of stream.
    BIO_set_mem_eof_return(s->rbio_, -1);
    SSL_set_bio(s->ssl_.get(), s->rbio_, s->wbio_);
    if (server)
        SSL_set_accept_state(s->ssl_.get());
    else
        SSL_set_connect_state(s->ssl_.get());
    return s;
}

bool tls_stream::feed(const void* data, std::size_t n)
{
    while (n > 0) {
        int w = BIO_write(rbio_, data, int(std::min<std::size_t>(n, 1u << 30)));
        if (w <= 0) return false;
        data = static_cast<const char*>(data) + w;
        n -= std::size_t(w);
    }
    return true;
}

bool tls_stream::expect_server(const std::string& host, bool verify)
{
    SSL* s = ssl_.get();
    unsigned char bin[16];
    bool ip = inet_pton(AF_INET, host.c_str(), bin) == 1 || inet_pton(AF_INET6, host.c_str(), bin) == 1;
    // SNI carries names only (RFC 6066).
    if (!ip && SSL_set_tlsext_host_name(s, host.c_str()) != 1) return false;
    if (!verify) {
        SSL_set_verify(s, SSL_VERIFY_NONE, nullptr);
        return true;
    }
    SSL_set_verify(s, SSL_VERIFY_PEER, nullptr);
    // An address is matched against IP subjectAltNames only: a certificate
    // whose CN or DNS name reads "127.0.0.1" does not name it.
    if (ip) return X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(s), host.c_str()) == 1;
    return SSL_set1_host(s, host.c_str()) == 1;
}

tls_stream::status tls_stream::begin_handshake()
{
    ERR_clear_error();
    int r = SSL_do_handshake(ssl_.get());
    if (r == 1) {
        done_ = true;
        return status::ok;
    }
    int e = SSL_get_error(ssl_.get(), r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return status::ok;
    return fail(e);
}

tls_stream::status tls_stream::fail(int ssl_error)
{
    failed_ = true;
    if (ssl_error == SSL_ERROR_SSL)
        reason_ = openssl_errors();
    else
        reason_ = "SSL error " + std::to_string(ssl_error) + " (" + openssl_errors() + ")";
    // "certificate verify failed" alone does not say what to fix.
    long v = SSL_get_verify_result(ssl_.get());
    if (v != X509_V_OK) reason_ += std::string(" (") + X509_verify_cert_error_string(v) + ")";
    return status::failed;
}

tls_stream::status tls_stream::read(evbuffer* plain)
{
    if (failed_) return status::failed;
    clear_errors();
    if (!done_) {
        int r = SSL_do_handshake(ssl_.get());
        if (r != 1) {
            int e = SSL_get_error(ssl_.get(), r);
            if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return status::ok;
            return fail(e);
        }
        done_ = true;
    }
    while (true) {
        evbuffer_iovec v;
        if (evbuffer_reserve_space(plain, record_max, &v, 1) < 1) {
            failed_ = true;
            reason_ = "out of memory";
            return status::failed;
        }
        int n = SSL_read(ssl_.get(), v.iov_base, int(std::min<std::size_t>(v.iov_len, 1u << 30)));
        if (n > 0) {
            v.iov_len = std::size_t(n);
            evbuffer_commit_space(plain, &v, 1);
            // Nothing decrypted is left and not even a record header has
            // arrived: done, without the SSL_read that would only say
            // WANT_READ (one per query saved, with its buffer reservation).
            if (SSL_pending(ssl_.get()) == 0 && BIO_ctrl_pending(rbio_) < record_header) return status::ok;
            continue;
        }
        evbuffer_commit_space(plain, &v, 0);
        int e = SSL_get_error(ssl_.get(), n);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return status::ok;
        if (e == SSL_ERROR_ZERO_RETURN) return status::closed;
        return fail(e);
    }
}

tls_stream::status tls_stream::write(evbuffer* plain, std::size_t max)
{
    if (failed_) return status::failed;
    if (!done_) return status::ok;
    clear_errors();
    std::size_t taken = 0;
    while (taken < max) {
        std::size_t n = std::min({evbuffer_get_length(plain), max - taken, record_max});
        if (n == 0) break;
        // Whole records where the data allows: one AEAD pass and one header
        // per 16 KiB, not per evbuffer chunk (a copy only across chunks).
        const unsigned char* p = evbuffer_pullup(plain, ssize_t(n));
        if (!p) {
            failed_ = true;
            reason_ = "out of memory";
            return status::failed;
        }
        int w = SSL_write(ssl_.get(), p, int(n));
        if (w <= 0) {
            int e = SSL_get_error(ssl_.get(), w);
            if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) break;
            return fail(e);
        }
        evbuffer_drain(plain, std::size_t(w));
        taken += std::size_t(w);
    }
    return status::ok;
}

std::size_t tls_stream::output_pending() const
{
    return BIO_ctrl_pending(wbio_);
}

bool tls_stream::take_output(evbuffer* raw)
{
    while (std::size_t pending = BIO_ctrl_pending(wbio_)) {
        evbuffer_iovec v;
        if (evbuffer_reserve_space(raw, ssize_t(pending), &v, 1) < 1) return false;
        int n = BIO_read(wbio_, v.iov_base, int(std::min(v.iov_len, pending)));
        if (n <= 0) {
            evbuffer_commit_space(raw, &v, 0);
            return false;
        }
        v.iov_len = std::size_t(n);
        evbuffer_commit_space(raw, &v, 1);
    }
    return true;
}

void tls_stream::shutdown()
{
    if (!done_ || failed_) return;
    ERR_clear_error();
    SSL_shutdown(ssl_.get());
    ERR_clear_error();
}

}   // namespace causeway::worker
