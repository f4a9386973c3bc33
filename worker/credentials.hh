// Whose password a login is checked against and what a refusal looks like:
// a name in [users] (or users_file) first, then, with users_from_primary, the
// account the primary's server would pick (shm/accounts.hh). No I/O: the
// session sends what this decides (worker/client_auth.cc).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/config.hh"
#include "shm/accounts.hh"

namespace causeway::worker {

enum class credential_outcome : std::uint8_t {
    ok,
    // ERR 1045: unknown user, no account for this host, wrong password, or an
    // account Causeway cannot check. (A server answers some unknown names
    // 1698 instead: it fakes an account for them, taken by a hash of the
    // name, and fails in that account's plugin. Not reproduced: 1045 is the
    // documented answer, and it tells no one which names exist.)
    denied,
    locked,   // ERR 4151 (only after a right password, as the server)
    expired,   // ERR 1862
    not_loaded,   // users_from_primary has no accounts yet: a temporary error
};

struct credential_check {
    credential_outcome outcome = credential_outcome::denied;
    std::string password_sha1;   // ok: SHA1(password) for the backend logins (empty: no password)
    const char* why = "";   // for the log line: which rule refused
    // The loaded accounts refused it: a load made after a CREATE USER, ALTER
    // USER or SET PASSWORD a moment ago may answer otherwise.
    bool from_loaded_accounts = false;
};

credential_check check_credentials(const common::config& cfg, const shm::account_store& accounts, std::string_view user,
                                   std::string_view ip, std::string_view token, std::string_view scramble);

// The error a refusal is answered with: code, SQLSTATE and the server's text.
struct login_error {
    std::uint16_t code;
    const char* sql_state;
    std::string message;
};
login_error credential_error(credential_outcome outcome, std::string_view user, std::string_view host,
                             bool with_password);

}   // namespace causeway::worker
