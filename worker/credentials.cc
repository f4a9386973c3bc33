// Credential checks for logins and COM_CHANGE_USER (see credentials.hh).
#include "worker/credentials.hh"

#include "protocol/auth.hh"
#include "protocol/ok_err.hh"

namespace causeway::worker {

credential_check check_credentials(const common::config& cfg, const shm::account_store& accounts, std::string_view user,
                                   std::string_view ip, std::string_view token, std::string_view scramble)
{
    credential_check c;
    // [users] wins: the monitor account, accounts that need a clear
    // password, and a deliberate override all keep working.
    if (auto it = cfg.users.find(std::string(user)); it != cfg.users.end()) {
        bool ok = protocol::native_password_verify(token, it->second, scramble, c.password_sha1);
        c.outcome = ok ? credential_outcome::ok : credential_outcome::denied;
        c.why = ok ? "" : "wrong password ([users])";
        return c;
    }
    if (!cfg.users_from_primary) {
        c.why = "not in [users]";
        return c;
    }
    auto found = accounts.lookup(user, ip);
    c.from_loaded_accounts = found.status != shm::account_lookup_status::not_loaded &&
        found.status != shm::account_lookup_status::unreadable;
    switch (found.status) {
        case shm::account_lookup_status::not_loaded:
        case shm::account_lookup_status::unreadable:
            c.outcome = credential_outcome::not_loaded;
            c.why = "accounts not loaded from the primary yet";
            return c;
        case shm::account_lookup_status::no_account: c.why = "no such account"; return c;
        case shm::account_lookup_status::user_elsewhere: c.why = "no account of this user for this host"; return c;
        case shm::account_lookup_status::found: break;
    }
    const shm::account& a = found.found;
    // Never verified against the emptied hash of these: an empty password
    // would pass.
    if (a.flags & (shm::account_other_plugin | shm::account_bad_hash)) {
        c.why = a.flags & shm::account_other_plugin ? "the account uses another authentication plugin"
                                                    : "the account has no usable mysql_native_password hash";
        return c;
    }
    if (!protocol::native_password_verify(token, a.hash, scramble, c.password_sha1)) {
        c.password_sha1.clear();
        c.why = "wrong password";
        return c;
    }
    // The server checks the password first: a wrong one gets 1045 even for
    // a locked account.
    if (a.flags & shm::account_locked) {
        c.password_sha1.clear();
        c.outcome = credential_outcome::locked;
        c.why = "account locked";
        return c;
    }
    if (a.flags & shm::account_expired) {
        c.password_sha1.clear();
        c.outcome = credential_outcome::expired;
        c.why = "password expired";
        return c;
    }
    c.outcome = credential_outcome::ok;
    return c;
}

login_error credential_error(credential_outcome outcome, std::string_view user, std::string_view host,
                             bool with_password)
{
    std::string who = "'" + std::string(user) + "'@'" + std::string(host) + "'";
    switch (outcome) {
        case credential_outcome::locked:
            return {protocol::er::account_has_been_locked, "HY000", "Access denied, this account is locked"};
        case credential_outcome::expired:
            return {protocol::er::must_change_password_login, "HY000",
                    "Your password has expired. To log in you must change it using a client that supports "
                    "expired passwords."};
        case credential_outcome::not_loaded:
            return {protocol::er::backend_unavailable, "08004",
                    "Causeway has not loaded the accounts from the primary yet (users_from_primary): try again"};
        case credential_outcome::ok:
        case credential_outcome::denied: break;
    }
    return {protocol::er::access_denied, "28000",
            "Access denied for user " + who + " (using password: " + (with_password ? "YES" : "NO") + ")"};
}

}   // namespace causeway::worker
