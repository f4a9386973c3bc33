// worker::tls_context and tls_stream without sockets: a server and a client
// stream hand each other their ciphertext in memory. A certificate is made
// here (EC P-256, self-signed) and written to a temporary directory.
#include <cppunit/extensions/HelperMacros.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "worker/tls.hh"

using namespace causeway;
using namespace causeway::worker;
using buffer = causeway::worker::evbuffer_ptr;   // libevent has a struct of that name

namespace {

struct scratch_cert {
    std::string dir, cert, key;
    scratch_cert()
    {
        char tmpl[] = "/tmp/causeway-tls-test-XXXXXX";
        dir = mkdtemp(tmpl);
        cert = dir + "/cert.pem";
        key = dir + "/key.pem";
        EVP_PKEY* pkey = EVP_EC_gen("P-256");
        X509* x = X509_new();
        ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
        X509_gmtime_adj(X509_getm_notBefore(x), 0);
        X509_gmtime_adj(X509_getm_notAfter(x), 3600);
        X509_set_pubkey(x, pkey);
        X509_NAME* name = X509_get_subject_name(x);
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("127.0.0.1"), -1,
                                   -1, 0);
        X509_set_issuer_name(x, name);
        X509_sign(x, pkey, EVP_sha256());
        FILE* f = fopen(cert.c_str(), "w");
        PEM_write_X509(f, x);
        fclose(f);
        f = fopen(key.c_str(), "w");
        PEM_write_PrivateKey(f, pkey, nullptr, nullptr, 0, nullptr, nullptr);
        fclose(f);
        X509_free(x);
        EVP_PKEY_free(pkey);
    }
    ~scratch_cert()
    {
        unlink(cert.c_str());
        unlink(key.c_str());
        rmdir(dir.c_str());
    }
};

std::string drain(evbuffer* b)
{
    std::string s(evbuffer_get_length(b), '\0');
    evbuffer_remove(b, s.data(), s.size());
    return s;
}

// Moves ciphertext both ways until neither side has any left.
void pump(tls_stream& a, evbuffer* a_plain, tls_stream& b, evbuffer* b_plain)
{
    buffer wire(evbuffer_new());
    for (int round = 0; round < 20; ++round) {
        bool moved = false;
        for (auto [from, to, plain] : {std::tuple{&a, &b, b_plain}, std::tuple{&b, &a, a_plain}}) {
            from->take_output(wire.get());
            if (evbuffer_get_length(wire.get()) == 0) continue;
            std::string bytes = drain(wire.get());
            to->feed(bytes.data(), bytes.size());
            to->read(plain);
            moved = true;
        }
        if (!moved) return;
    }
}

common::config tls_config(const scratch_cert& c)
{
    common::config cfg;
    cfg.tls_cert = c.cert;
    cfg.tls_key = c.key;
    return cfg;
}

}   // namespace

class tls_test : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(tls_test);
    CPPUNIT_TEST(no_certificate_no_context);
    CPPUNIT_TEST(bad_files_are_named);
    CPPUNIT_TEST(handshake_and_records_both_ways);
    CPPUNIT_TEST(garbage_fails_cleanly);
    CPPUNIT_TEST(backend_verification);
    CPPUNIT_TEST(backend_context_only_when_used);
    CPPUNIT_TEST_SUITE_END();

public:
    void no_certificate_no_context()
    {
        common::config cfg;
        auto t = tls_context::for_clients(cfg);
        CPPUNIT_ASSERT(t.ok() && !*t);
    }

    void bad_files_are_named()
    {
        scratch_cert c;
        common::config cfg = tls_config(c);
        cfg.tls_cert = c.dir + "/missing.pem";
        auto t = tls_context::for_clients(cfg);
        CPPUNIT_ASSERT(!t.ok());
        CPPUNIT_ASSERT(t.err().message.find("tls_cert " + cfg.tls_cert) == 0);
        cfg = tls_config(c);
        cfg.tls_key = c.cert;   // a certificate is no key
        CPPUNIT_ASSERT(!tls_context::for_clients(cfg).ok());
        cfg = tls_config(c);
        cfg.tls_ciphers = "NO-SUCH-CIPHER";
        auto t2 = tls_context::for_clients(cfg);
        CPPUNIT_ASSERT(!t2.ok() && t2.err().message.find("tls_ciphers") == 0);
    }

    void handshake_and_records_both_ways()
    {
        scratch_cert c;
        auto server_ctx = tls_context::for_clients(tls_config(c));
        CPPUNIT_ASSERT_MESSAGE(server_ctx ? "" : server_ctx.err().message, server_ctx.ok() && *server_ctx);
        auto client_ctx = tls_context::for_servers(c.cert);   // the self-signed cert is its own CA
        CPPUNIT_ASSERT(client_ctx.ok());
        auto server = tls_stream::create(server_ctx->get(), true);
        auto client = tls_stream::create(client_ctx->get(), false);
        buffer server_plain(evbuffer_new()), client_plain(evbuffer_new());
        client->read(client_plain.get());   // starts the handshake: ClientHello
        pump(*client, client_plain.get(), *server, server_plain.get());
        CPPUNIT_ASSERT(server->handshake_done() && client->handshake_done());
        CPPUNIT_ASSERT_EQUAL(std::string("TLSv1.3"), std::string(server->version()));

        // 100 KiB from the server in several records; a small answer back.
        std::string big(100000, 'x');
        for (std::size_t i = 0; i < big.size(); ++i) big[i] = char('a' + i % 26);
        buffer out(evbuffer_new());
        evbuffer_add(out.get(), big.data(), big.size());
        while (evbuffer_get_length(out.get())) server->write(out.get(), 65536);
        pump(*server, server_plain.get(), *client, client_plain.get());
        CPPUNIT_ASSERT(drain(client_plain.get()) == big);
        evbuffer_add(out.get(), "pong", 4);
        client->write(out.get(), 65536);
        pump(*client, client_plain.get(), *server, server_plain.get());
        CPPUNIT_ASSERT_EQUAL(std::string("pong"), drain(server_plain.get()));

        // close_notify reads as closed, not as an error.
        client->shutdown();
        buffer wire(evbuffer_new());
        client->take_output(wire.get());
        std::string bytes = drain(wire.get());
        server->feed(bytes.data(), bytes.size());
        CPPUNIT_ASSERT(server->read(server_plain.get()) == tls_stream::status::closed);
    }

    // The client side as backend_conn uses it: `on` takes any certificate;
    // `verify` wants the address as an IP subjectAltName (this certificate has
    // only CN=127.0.0.1, which must not count) and says why it refused.
    void backend_verification()
    {
        scratch_cert c;
        auto server_ctx = tls_context::for_clients(tls_config(c));
        auto client_ctx = tls_context::for_servers(c.cert);
        for (bool verify : {false, true}) {
            auto server = tls_stream::create(server_ctx->get(), true);
            auto client = tls_stream::create(client_ctx->get(), false);
            CPPUNIT_ASSERT(client->expect_server("127.0.0.1", verify));
            buffer server_plain(evbuffer_new()), client_plain(evbuffer_new());
            CPPUNIT_ASSERT(client->begin_handshake() == tls_stream::status::ok);
            pump(*client, client_plain.get(), *server, server_plain.get());
            CPPUNIT_ASSERT_EQUAL(!verify, client->handshake_done());
            if (verify)
                CPPUNIT_ASSERT_MESSAGE(client->reason(),
                                       client->reason().find("IP address mismatch") != std::string::npos);
        }
        // A name is checked against the certificate's names (CN here, no DNS SAN).
        auto server = tls_stream::create(server_ctx->get(), true);
        auto client = tls_stream::create(client_ctx->get(), false);
        CPPUNIT_ASSERT(client->expect_server("db.example", true));
        buffer server_plain(evbuffer_new()), client_plain(evbuffer_new());
        client->begin_handshake();
        pump(*client, client_plain.get(), *server, server_plain.get());
        CPPUNIT_ASSERT(!client->handshake_done());
        CPPUNIT_ASSERT_MESSAGE(client->reason(), client->reason().find("ostname mismatch") != std::string::npos);
    }

    void backend_context_only_when_used()
    {
        scratch_cert c;
        common::config cfg;
        auto none = tls_context::for_backends(cfg);
        CPPUNIT_ASSERT(none.ok() && !*none);
        cfg.backend_tls_by_server["r1"] = int(common::backend_tls_mode::on);
        auto one = tls_context::for_backends(cfg);
        CPPUNIT_ASSERT(one.ok() && *one);
        cfg.backend_tls_ca = c.dir + "/missing.pem";
        auto bad = tls_context::for_backends(cfg);
        CPPUNIT_ASSERT(!bad.ok());
        CPPUNIT_ASSERT_MESSAGE(bad.err().message, bad.err().message.find("backend_tls_ca") != std::string::npos);
    }

    void garbage_fails_cleanly()
    {
        scratch_cert c;
        auto server_ctx = tls_context::for_clients(tls_config(c));
        auto server = tls_stream::create(server_ctx->get(), true);
        buffer plain(evbuffer_new());
        const char garbage[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
        server->feed(garbage, sizeof garbage - 1);
        CPPUNIT_ASSERT(server->read(plain.get()) == tls_stream::status::failed);
        CPPUNIT_ASSERT(!server->reason().empty());
        CPPUNIT_ASSERT_EQUAL(std::size_t(0), evbuffer_get_length(plain.get()));
        // Sticky: nothing more is read or written.
        CPPUNIT_ASSERT(server->read(plain.get()) == tls_stream::status::failed);
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(tls_test);
