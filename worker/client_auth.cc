// The client side of the connection phase: greeting, the SSLRequest upgrade
// to TLS, HandshakeResponse41, mysql_native_password check against the
// configured users (with an auth switch for clients that start with another
// plugin), COM_CHANGE_USER, and the limits of a login: handshake_timeout_ms
// and the delay of logins from an address that keeps failing; after the
// login's OK, the switch to the compressed protocol when the client asked.
#include <string.h>

#include <algorithm>

#include "common/clock.hh"
#include "common/log.hh"
#include "protocol/auth.hh"
#include "protocol/bytes.hh"
#include "protocol/compress.hh"
#include "protocol/constants.hh"
#include "protocol/ok_err.hh"
#include "shm/counters.hh"
#include "worker/client_session.hh"
#include "worker/credentials.hh"
#include "worker/topology_view.hh"

namespace causeway::worker {

using namespace protocol;

namespace {
// utf8mb4_general_ci: what a MariaDB 10.11 server announces by default.
constexpr std::uint8_t default_charset = 45;
// MySQL's ER_SECURE_TRANSPORT_REQUIRED (MariaDB has no code of its own for it).
constexpr std::uint16_t secure_transport_required = 3159;
}   // namespace

void client_session::start()
{
    scramble_ = random_scramble();
    server_greeting g;
    std::uint8_t primary_charset = 0;
    std::string primary_version = ctx_.progress.primary_version(&primary_charset);
    g.server_version = ctx_.cfg->server_version.empty() ? primary_version : ctx_.cfg->server_version;
    // Before the poller's first login to the primary: a version every client accepts.
    if (g.server_version.empty()) g.server_version = "5.5.5-10.11.0-MariaDB";
    g.connection_id = id_;
    g.scramble = scramble_;
    g.capabilities = (cap::proxy_offers & ~cap::long_password) | (ctx_.tls ? cap::ssl : 0) |
        (ctx_.cfg->client_compression ? cap::compress : 0);
    g.mariadb_capabilities = mariadb_cap::proxy_offers;
    // The primary's default collation: drivers choose whether to send SET NAMES by it.
    g.charset = primary_charset ? primary_charset : default_charset;
    g.status = server_status::autocommit;
    g.auth_plugin = native_password_plugin;
    send_packet(build_greeting(g), 0);
    client_->enable_read();
    // Cancelled by a successful login; a silent or stalled client (TCP, TLS
    // or MySQL handshake) holds its slot no longer than this.
    client_->set_timeout(ctx_.cfg->handshake_timeout_ms);
}

std::string client_session::client_host() const
{
    std::string host = peer_.substr(0, peer_.rfind(':'));
    if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
    return host;
}

bool client_session::start_client_tls()
{
    if (!client_->start_tls(ctx_.tls)) {
        CW_LOG(LOG_ERR, "%s: cannot start TLS (SSL_new failed: out of memory?)", who());
        destroy("TLS not started");
        return false;
    }
    shm::add(ctx_.counters->tls_connections);
    // The HandshakeResponse follows inside TLS, numbered after the SSLRequest.
    login_seq_ = 2;
    return true;
}

void client_session::client_tls_failed()
{
    shm::add(ctx_.counters->tls_failures);
    if (state_ == state::handshake || state_ == state::auth_switch)
        shm::count_refused(*ctx_.stats, shm::refuse_reason::tls_failure);
    if (ctx_.noise.allow("TLS failed", client_host()))
        CW_LOG(LOG_NOTICE, "%s: TLS failed: %s", who(), client_->tls_description().c_str());
}

namespace {

// A login the loaded accounts refuse waits this long at most for the load it
// asked for (never past handshake_timeout_ms), checking every poll.
constexpr int accounts_wait_ms = 2000;
constexpr int accounts_poll_ms = 5;

}   // namespace

void client_session::hold_login(std::string_view token, std::uint8_t seq, int ms)
{
    login_delayed_ = true;
    delayed_token_ = std::string(token);
    delayed_seq_ = seq;
    client_->disable_read();
    client_->set_timeout(ms);   // replaces the handshake or idle timeout: login_timer_fired
}

void client_session::login_timer_fired()
{
    if (login_delayed_) {
        bool loaded = ctx_.accounts.refresh_answered(accounts_ticket_) ||
            (accounts_wait_first_load_ && ctx_.accounts.stats().loads > 0);
        if (accounts_ticket_ && !loaded && common::monotonic_ms() < accounts_wait_until_ms_) {
            client_->set_timeout(accounts_poll_ms);
            return;
        }
        accounts_ticket_ = 0;
        login_delayed_ = false;
        login_delay_done_ = true;
        client_->enable_read();
        std::string token = std::move(delayed_token_);
        return finish_login(token, delayed_seq_);
    }
    if (state_ != state::handshake && state_ != state::auth_switch) return;
    shm::add(ctx_.counters->handshake_timeouts);
    shm::count_refused(*ctx_.stats, shm::refuse_reason::handshake_timeout);
    if (ctx_.noise.allow("handshake timeout", client_host()))
        CW_LOG(LOG_NOTICE, "%s: not logged in within handshake_timeout_ms (%d ms); closed", who(),
               ctx_.cfg->handshake_timeout_ms);
    destroy("handshake timeout");
}

void client_session::handle_login_packet(std::string_view payload, std::uint8_t seq)
{
    auto r = parse_handshake_response(payload);
    if (!r) return protocol_error(er::malformed_packet, "Bad handshake: " + r.err().message);
    if (r->ssl_request) {
        if (!ctx_.tls || client_->tls_active())
            return protocol_error(er::malformed_packet, "SSL is not offered by this proxy");
        start_client_tls();
        return;
    }
    if (!client_->tls_active() && ctx_.cfg->tls() == common::tls_mode_kind::required) {
        shm::add(ctx_.counters->auth_failures);
        shm::count_refused(*ctx_.stats, shm::refuse_reason::tls_required);
        if (ctx_.noise.allow("TLS required", client_host()))
            CW_LOG(LOG_NOTICE, "%s: refused: tls_mode = required and the client did not ask for TLS", who());
        send_error(secure_transport_required, "08004",
                   "Connections using insecure transport are prohibited while --require_secure_transport=ON.",
                   std::uint8_t(seq + 1));
        return close_after_flush();
    }
    login_ = std::move(*r);
    if (login_.auth_plugin.empty() || login_.auth_plugin == native_password_plugin)
        return finish_login(login_.auth_response, seq);
    // Another plugin (caching_sha2_password, client_ed25519...): ask for ours.
    state_ = state::auth_switch;
    send_packet(build_auth_switch(native_password_plugin, scramble_), std::uint8_t(seq + 1));
}

void client_session::handle_auth_switch_answer(std::string_view token, std::uint8_t seq)
{
    finish_login(token, seq);
}

void client_session::finish_login(std::string_view token, std::uint8_t seq)
{
    std::string host = client_host();
    if (!changing_user_from_ && !login_delay_done_) {
        // An address that failed too often waits for every answer, right or wrong.
        int delay = ctx_.throttle.delay_for(host, common::monotonic_ms(), ctx_.cfg->auth_failures_before_delay,
                                            ctx_.cfg->auth_failure_delay_ms);
        if (delay > 0) {
            shm::add(ctx_.counters->auth_delays);
            return hold_login(token, seq, delay);
        }
    }
    auto check = check_credentials(*ctx_.cfg, ctx_.accounts, login_.user, host, token, scramble_);
    bool may_load = check.from_loaded_accounts || check.outcome == credential_outcome::not_loaded;
    if (check.outcome != credential_outcome::ok && may_load && !accounts_reloaded_) {
        // A user created, unlocked or given a new password a moment ago (a
        // test's CREATE USER, then its login), or a login just after start,
        // before the first load: ask for a load now and answer after it,
        // instead of refusing until the next users_refresh_s.
        accounts_reloaded_ = true;
        accounts_wait_first_load_ = check.outcome == credential_outcome::not_loaded;
        accounts_ticket_ = ctx_.accounts.request_refresh();
        int wait_ms = std::min(accounts_wait_ms, ctx_.cfg->handshake_timeout_ms);
        accounts_wait_until_ms_ = common::monotonic_ms() + std::uint64_t(wait_ms);
        return hold_login(token, seq, accounts_poll_ms);
    }
    if (check.outcome != credential_outcome::ok) {
        // Not the client's fault: neither counted nor slowed as a failure.
        if (check.outcome == credential_outcome::not_loaded) {
            if (ctx_.noise.allow("accounts not loaded", host))
                CW_LOG(LOG_NOTICE, "%s: login of user '%s' refused for now: %s", who(), login_.user.c_str(), check.why);
        } else {
            shm::add(ctx_.counters->auth_failures);
            ctx_.throttle.failed(host, common::monotonic_ms());
            if (ctx_.noise.allow("authentication failed", host))
                CW_LOG(LOG_NOTICE, "%s: authentication failed for user '%s': %s", who(), login_.user.c_str(),
                       check.why);
        }
        auto e = credential_error(check.outcome, login_.user, host, !token.empty());
        send_error(e.code, e.sql_state, e.message, std::uint8_t(seq + 1));
        if (!changing_user_from_) {
            shm::count_refused(*ctx_.stats,
                               check.outcome == credential_outcome::not_loaded ? shm::refuse_reason::accounts_not_loaded
                                                                               : shm::refuse_reason::auth_failure);
            return close_after_flush();
        }
        // A failed COM_CHANGE_USER leaves the connection to its previous user,
        // as the server does (its session state is reset all the same).
        login_.user = changing_user_from_->user;
        login_.database = changing_user_from_->database;
        identity_ = std::move(changing_user_from_->identity);
        changing_user_from_.reset();
        set_who(login_.user);
        state_ = state::ready;
        start_idle_timer();   // a wait for the accounts replaced it
        return;
    }
    changing_user_from_.reset();
    start_lexing_as_new_session();
    password_sha1_ = std::move(check.password_sha1);
    client_->cancel_timeout();   // logged in: handshake_timeout_ms no longer applies
    start_idle_timer();   // client_idle_timeout_s does
    set_who(login_.user);
    identity_.user = login_.user;
    identity_.database = login_.database;
    if (ctx_.cfg->session() == common::session_id_kind::provided_in_dbname) {
        auto parts = split_session_id(login_.database);
        if (!parts) {
            send_error(1102, "42000", parts.err().message, std::uint8_t(seq + 1));
            shm::count_refused(*ctx_.stats, shm::refuse_reason::bad_session_id);
            return close_after_flush();
        }
        identity_.database = parts->database;
        identity_.provided = parts->session_id;
        if (identity_.provided.empty()) {
            auto attr = session_id_from_attributes(login_.connect_attrs);
            if (!attr) {
                send_error(1102, "42000", attr.err().message + " in connection attribute causeway_session_id",
                           std::uint8_t(seq + 1));
                shm::count_refused(*ctx_.stats, shm::refuse_reason::bad_session_id);
                return close_after_flush();
            }
            identity_.provided = *attr;
        }
    }
    CW_LOG(LOG_DEBUG, "%s: logged in%s%s (%s)", who(), login_.database.empty() ? "" : " to ", login_.database.c_str(),
           client_->tls_description().c_str());
    state_ = state::ready;
    if ((!identity_.database.empty() || check.from_loaded_accounts) && current_primary(ctx_).available) {
        // A server refuses an unknown database at login, not at the first
        // query, and an account loaded from the primary may have been dropped
        // or changed since the last load: log in to the primary now and answer
        // the client after it. (With no primary, during a failover, the first
        // command's server checks it instead: reads still work.)
        login_ok_seq_ = std::uint8_t(seq + 1);
        plan_ = command_plan{};
        state_ = state::waiting_backend;
        backend_conn* primary = open_backend(0);
        if (primary && primary->ready()) {   // from the pool: logged in already
            backend_ready(*primary);
            return;
        }
        if (!primary && limited_ >= 0) {   // the primary is at max_backend_connections_per_server
            wait_for_connection();
            return;
        }
        if (!primary) {
            send_error(er::backend_unavailable, "HY000", "Can't connect to the primary: out of resources",
                       login_ok_seq_);
            shm::count_refused(*ctx_.stats, shm::refuse_reason::no_primary);
            close_after_flush();
        }
        return;
    }
    send_login_ok(std::uint8_t(seq + 1));   // status: autocommit, as a fresh server session
}

void client_session::send_login_ok(std::uint8_t seq)
{
    send_ok(seq);
    // A COM_CHANGE_USER's OK: the connection compresses already, or never will.
    if (!(login_.capabilities & cap::compress) || !ctx_.cfg->client_compression || client_->compressing()) return;
    // One codec per worker, made by its first compressing client (its
    // deflate state alone is ~256 KiB).
    if (!ctx_.zlib) ctx_.zlib = std::make_unique<zlib_codec>();
    if (!ctx_.zlib->ok() || !client_->start_compression(ctx_.zlib.get(), max_frame_length)) {
        CW_LOG(LOG_ERR, "%s: cannot start the compressed protocol (zlib or evbuffer: out of memory?)", who());
        return destroy("compression not started");
    }
    shm::add(ctx_.counters->compressed_connections);
}

void client_session::handle_change_user(std::string_view payload)
{
    auto c = parse_change_user(payload, login_.capabilities);
    if (!c) return protocol_error(er::malformed_packet, "Bad COM_CHANGE_USER: " + c.err().message);
    // The new identity logs in afresh: the old backend session (its temporary
    // tables, variables, transaction) ends, exactly as a server's change-user does.
    retire_all_backends();
    reset_session_state();
    unrecorded_keys_.clear();
    changing_user_from_ = previous_login{login_.user, login_.database, identity_};
    accounts_reloaded_ = false;
    identity_.provided.clear();
    login_.user = c->user;
    login_.database = c->database;
    if (c->charset) login_.charset = std::uint8_t(c->charset);
    if (!c->connect_attrs.empty()) login_.connect_attrs = c->connect_attrs;
    set_who("?");
    primary_status_ = last_status_ = server_status::autocommit;
    if (c->auth_plugin.empty() || c->auth_plugin == native_password_plugin) {
        // The token answers the scramble of the original greeting.
        login_.auth_plugin = native_password_plugin;
        return finish_login(c->auth_response, 0);
    }
    scramble_ = random_scramble();
    state_ = state::auth_switch;
    send_packet(build_auth_switch(native_password_plugin, scramble_), 1);
}

}   // namespace causeway::worker
