// libFuzzer target for the packet parsers: the input is 4 bytes of negotiated
// capabilities (little endian) and one payload, given to every parser of the
// connection phase and of OK/ERR/EOF. Beyond no crash or sanitizer report:
// whatever parses must rebuild to something that parses back the same, and
// the session-tracking rewrite must leave no tracking behind.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "protocol/bytes.hh"
#include "protocol/constants.hh"
#include "protocol/handshake.hh"
#include "protocol/ok_err.hh"
#include "t/fuzz/fuzz_check.hh"

namespace {

using namespace causeway::protocol;

using causeway::fuzz::check;

void handshake_response_round_trip(std::string_view payload)
{
    auto h = parse_handshake_response(payload);
    if (!h || h->ssl_request) return;
    // A one-byte length cannot carry more than 255 bytes of auth data.
    if (!(h->capabilities & cap::plugin_auth_lenenc_data) && h->auth_response.size() > 255) return;
    auto back = parse_handshake_response(build_handshake_response(*h));
    check(back.ok());
    check(back->capabilities == h->capabilities && back->max_packet == h->max_packet && back->charset == h->charset);
    check(back->mariadb_capabilities == h->mariadb_capabilities);
    check(back->user == h->user && back->auth_response == h->auth_response);
    check(back->database == h->database && back->auth_plugin == h->auth_plugin);
    check(back->connect_attrs == h->connect_attrs);
}

void greeting_round_trip(std::string_view payload)
{
    auto g = parse_greeting(payload);
    if (!g) return;
    check(g->protocol_version == 10);
    // build_greeting writes the proxy's own greetings: a 4.1 one with a
    // scramble that fits its one-byte length and no NUL inside.
    const std::uint32_t needed = cap::protocol_41 | cap::secure_connection | cap::plugin_auth;
    if ((g->capabilities & needed) != needed || g->scramble.size() < 20 || g->scramble.size() > 250) return;
    if (g->scramble.find('\0') != std::string::npos || g->auth_plugin.find('\0') != std::string::npos) return;
    auto back = parse_greeting(build_greeting(*g));
    check(back.ok());
    check(back->server_version == g->server_version && back->connection_id == g->connection_id);
    check(back->scramble == g->scramble && back->capabilities == g->capabilities);
    check(back->charset == g->charset && back->status == g->status);
    check(back->mariadb_capabilities == g->mariadb_capabilities && back->auth_plugin == g->auth_plugin);
}

void ok_round_trip(std::string_view payload, std::uint32_t caps)
{
    auto ok = parse_ok(payload, caps);
    if (!ok) return;
    (void)tracked_variable(ok->session_state, "last_gtid");
    // The rewrite for a client without session tracking.
    const std::uint32_t plain = caps & ~cap::session_track;
    std::string stripped = build_ok(*ok, plain);
    auto back = parse_ok(stripped, plain);
    check(back.ok());
    check(!(back->status & server_status::session_state_changed) && back->session_state.empty());
    check(back->status == (ok->status & ~server_status::session_state_changed));
    check(back->affected_rows == ok->affected_rows && back->last_insert_id == ok->last_insert_id);
    check(back->warnings == ok->warnings && back->marker == ok->marker && back->info == ok->info);
    // For a tracking client the packet keeps its meaning.
    if (caps & cap::session_track) {
        std::string rebuilt = build_ok(*ok, caps);   // `same` views into it
        auto same = parse_ok(rebuilt, caps);
        check(same.ok());
        check(same->status == ok->status && same->info == ok->info);
        if (ok->status & server_status::session_state_changed) check(same->session_state == ok->session_state);
    }
}

void err_round_trip(std::string_view payload)
{
    auto e = parse_err(payload);
    if (!e) return;
    if (e->sql_state.empty() || e->message.size() > 512) return;
    std::string rebuilt = build_err(e->code, e->sql_state, e->message);   // `back` views into it
    auto back = parse_err(rebuilt);
    check(back.ok());
    check(back->code == e->code && back->sql_state == e->sql_state && back->message == e->message);
}

void auth_switch_round_trip(std::string_view payload)
{
    auto s = parse_auth_switch(payload);
    if (!s || s->data.find('\0') != std::string::npos) return;
    auto back = parse_auth_switch(build_auth_switch(s->plugin, s->data));
    check(back.ok() && back->plugin == s->plugin && back->data == s->data);
}

}   // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    if (size < 4) return 0;
    const std::uint32_t caps = std::uint32_t(data[0]) | std::uint32_t(data[1]) << 8 | std::uint32_t(data[2]) << 16 |
        std::uint32_t(data[3]) << 24;
    const std::size_t n = size - 4;
    const causeway::fuzz::exact_copy copy(data + 4, n);
    const std::string_view payload = copy.view();

    handshake_response_round_trip(payload);
    greeting_round_trip(payload);
    ok_round_trip(payload, caps);
    err_round_trip(payload);
    auth_switch_round_trip(payload);
    (void)parse_change_user(payload, caps);
    (void)tracked_variable(payload, "last_gtid");
    if (is_eof(payload)) (void)parse_eof(payload);
    return 0;
}
