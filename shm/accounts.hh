// The accounts users_from_primary loaded, in the segment: the poller
// publishes a whole set at once (into the buffer readers are not using),
// workers look an account up without a lock. Everything read from the
// segment is checked (counts, lengths) before use: a damaged block gives "no
// account", never a crash. Not here: where the accounts come from
// (daemon/users_loader.hh) or which one the server would pick
// (protocol/account_match.hh).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "shm/layout.hh"

namespace causeway::shm {

// One account as loaded: the hash is "*" + 40 hex digits, or empty for an
// account without a password.
struct account {
    std::string user;
    std::string host;
    std::string hash;
    std::uint64_t flags = 0;   // account_locked, account_expired, account_other_plugin, account_bad_hash
};

enum class account_lookup_status : std::uint8_t {
    found,
    no_account,   // no account admits this user from this address
    user_elsewhere,   // accounts of that user exist, none for this address
    not_loaded,   // no load has succeeded yet
    unreadable,   // torn or damaged: the caller treats it like not_loaded
};

struct account_lookup {
    account_lookup_status status = account_lookup_status::not_loaded;
    account found;   // status == found
};

struct account_publish_result {
    std::size_t stored = 0;
    std::size_t not_stored = 0;   // past the capacity or too long to store
    bool busy = false;   // another live process was publishing: nothing done, try again
};

struct accounts_stats {
    std::uint64_t loads = 0;
    std::uint64_t loaded = 0;
    std::uint64_t last_refresh_realtime_ns = 0;
    bool last_refresh_ok = false;
    std::uint64_t refresh_failures = 0;
    std::uint64_t not_loaded = 0;
    std::uint64_t forced_refreshes = 0;   // loads started early for a refused login
};

class account_store {
public:
    account_store() = default;
    account_store(accounts_block* block, account_entry* entries, std::uint64_t capacity)
        : block_(block), entries_(entries), capacity_(capacity)
    {
    }

    // Poller: replaces the whole set. Accounts past the capacity or with a
    // user or host too long for an entry are not stored (counted in the
    // result and in not_loaded), never silently.
    account_publish_result publish(const std::vector<account>& accounts, std::uint64_t now_realtime_ns) noexcept;
    // Poller: a refresh attempt failed; the previous set stays in use.
    void refresh_failed(std::uint64_t now_realtime_ns) noexcept;

    // Workers: the account the server would authenticate `user` from `ip` as.
    account_lookup lookup(std::string_view user, std::string_view ip) const;

    // Workers: a login the loaded set refuses asks for a fresh load; the
    // ticket is answered once an attempt that started after it has ended.
    std::uint64_t request_refresh() noexcept;
    bool refresh_answered(std::uint64_t ticket) const noexcept;
    // Poller: the requests taken so far (read when an attempt starts), and
    // an attempt's end, which answers the requests seen at its start.
    std::uint64_t refresh_requests() const noexcept;
    void answer_requests(std::uint64_t seen_at_start, bool forced) noexcept;

    accounts_stats stats() const noexcept;
    std::uint64_t capacity() const noexcept { return capacity_; }

private:
    account_entry* buffer(std::uint64_t which) const noexcept { return entries_ + which * capacity_; }

    accounts_block* block_ = nullptr;
    account_entry* entries_ = nullptr;
    std::uint64_t capacity_ = 0;
};

}   // namespace causeway::shm
