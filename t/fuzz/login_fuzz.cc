// libFuzzer target for what the worker does with a client's login
// (worker/client_auth.cc) past the parsers packet_fuzz covers: the token of a
// HandshakeResponse41, of a COM_CHANGE_USER or of the answer to our auth
// switch checked against a stored credential, and the session id read from
// the database name and the connection attributes. The input is 1 byte of
// kind (0: HandshakeResponse41, 1: COM_CHANGE_USER, 2: auth switch answer),
// 4 bytes of capabilities (little endian), the 20-byte scramble, 1 byte of
// password length, the password, then the payload. Beyond no crash or
// sanitizer report: a token is accepted only when it is the password's own,
// and the stored hash of a password ("*" + hex SHA1(SHA1)) accepts exactly
// what the clear password accepts, giving the same SHA1(password).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "protocol/auth.hh"
#include "protocol/handshake.hh"
#include "t/fuzz/fuzz_check.hh"
#include "worker/session_state.hh"

namespace {

using namespace causeway;

using causeway::fuzz::check;

std::string bytes(const protocol::sha1_digest& d)
{
    return std::string(d.begin(), d.end());
}

// PASSWORD('...') as a server stores it.
std::string stored_hash(std::string_view password)
{
    static const char hex[] = "0123456789ABCDEF";
    std::string stage2 = bytes(protocol::sha1(bytes(protocol::sha1(password))));
    std::string out = "*";
    for (unsigned char c : stage2) {
        out += hex[c >> 4];
        out += hex[c & 15];
    }
    return out;
}

void check_token(std::string_view token, std::string_view password, std::string_view scramble)
{
    std::string clear_sha1, hashed_sha1;
    bool clear = protocol::native_password_verify(token, password, scramble, clear_sha1);
    // A password that looks like a hash is taken as one (users_file and
    // [users] may hold either): which token it accepts is unknown here.
    if (protocol::is_native_password_hash(password)) return;
    if (clear) check(token == protocol::native_password_token(password, scramble));
    if (password.empty()) return;
    bool hashed = protocol::native_password_verify(token, stored_hash(password), scramble, hashed_sha1);
    check(hashed == clear);
    if (clear) check(hashed_sha1 == clear_sha1 && clear_sha1 == bytes(protocol::sha1(password)));
}

void check_session_id(std::string_view database, std::string_view connect_attrs)
{
    auto parts = worker::split_session_id(database);
    if (database.find('?') == std::string_view::npos)
        check(parts.ok() && parts->database == database && parts->session_id.empty());
    (void)worker::session_id_from_attributes(connect_attrs);
}

}   // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    if (size < 26) return 0;
    const int kind = data[0] % 3;
    const std::uint32_t caps = std::uint32_t(data[1]) | std::uint32_t(data[2]) << 8 | std::uint32_t(data[3]) << 16 |
        std::uint32_t(data[4]) << 24;
    const std::string scramble(reinterpret_cast<const char*>(data + 5), protocol::scramble_size);
    std::size_t password_size = data[25];
    if (size < 26 + password_size) return 0;
    const std::string password(reinterpret_cast<const char*>(data + 26), password_size);
    const std::size_t n = size - 26 - password_size;
    const causeway::fuzz::exact_copy copy(data + 26 + password_size, n);
    const std::string_view payload = copy.view();

    // Whatever the token, the password's own is accepted.
    check_token(protocol::native_password_token(password, scramble), password, scramble);
    if (kind == 0) {
        auto r = protocol::parse_handshake_response(payload);
        if (!r || r->ssl_request) return 0;
        check_token(r->auth_response, password, scramble);
        check_session_id(r->database, r->connect_attrs);
    } else if (kind == 1) {
        auto c = protocol::parse_change_user(payload, caps);
        if (!c) return 0;
        check_token(c->auth_response, password, scramble);
        check_session_id(c->database, c->connect_attrs);
    } else {
        check_token(payload, password, scramble);
    }
    return 0;
}
