// Which account a MariaDB server would pick for a client: user name and
// client address against the (user, host pattern) pairs of mysql.global_priv.
// Pure functions, no I/O; the accounts themselves (loading, storing) are not
// here: see daemon/users_loader.hh and shm/accounts.hh.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace causeway::protocol {

// Whether `pattern` (an account's Host) admits a client at `ip` (its address
// as text, "10.1.2.3" or "::1"), as a 10.11 server with skip_name_resolve
// matches: `%` (any run) and `_` (one character) wildcards, `\` escaping the
// next character, an empty pattern meaning `%`, "a.b.c.d/m.m.m.m" comparing
// the address masked with m to a.b.c.d. One exception, for the clients a
// proxy on the same host sees: "localhost" also admits 127.0.0.1 and ::1 (a
// server that resolves names calls a loopback client "localhost").
bool host_matches(std::string_view pattern, std::string_view ip);

// How specific a host pattern is, as the server orders accounts (larger: more
// specific; an exact address above any wildcard, '%' last). `anonymous`: the
// account's user name is empty, which ranks it below a named account with
// the same host.
std::uint64_t account_rank(std::string_view host, bool anonymous);

struct account_key {
    std::string_view user;   // "" for an anonymous account
    std::string_view host;
};

// The index in `accounts` of the account the server would authenticate
// `user` from `ip` as, or -1 when none admits the client. The server's rule:
// the most specific matching account of that user name; an anonymous
// account ('') matching the address wins only if it is strictly more
// specific than that one (or there is none). Among equally specific ones,
// the greater host string first ("localhost" before "127.0.0.1").
long pick_account(std::span<const account_key> accounts, std::string_view user, std::string_view ip);

}   // namespace causeway::protocol
