// libFuzzer target for the users file (common/config: users_file, read by
// parse_users_text exactly as load_config reads the file) and the
// credentials it holds (protocol/auth). Any text is either a set of users or
// an error naming the file; never a crash or a sanitizer report. Each loaded
// credential, clear or "*" + 40 hex digits, then goes through the login check:
// a clear password accepts its own token and gives SHA1(password).
#include <cstddef>
#include <cstdint>
#include <string>

#include "common/config.hh"
#include "protocol/auth.hh"
#include "t/fuzz/fuzz_check.hh"

using causeway::fuzz::check;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    using namespace causeway;
    if (size > 65536) return 0;   // users files are small; inih reads line by line
    std::string text(reinterpret_cast<const char*>(data), size);
    auto users = common::parse_users_text(text, "users.fuzz");
    if (!users) {
        check(users.err().message.find("users.fuzz") != std::string::npos);
        return 0;
    }
    auto again = common::parse_users_text(text, "users.fuzz");
    check(again.ok() && *again == *users);
    const std::string scramble = "0123456789abcdefghij";
    for (const auto& [user, stored] : *users) {
        std::string sha1_out;
        (void)protocol::native_password_verify(user, stored, scramble, sha1_out);
        if (protocol::is_native_password_hash(stored)) continue;   // its password is unknown here
        std::string token = protocol::native_password_token(stored, scramble);
        check(protocol::native_password_verify(token, stored, scramble, sha1_out));
        auto digest = protocol::sha1(stored);
        check(stored.empty() ? sha1_out.empty() : sha1_out == std::string(digest.begin(), digest.end()));
    }
    return 0;
}
