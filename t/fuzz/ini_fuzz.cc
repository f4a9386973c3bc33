// libFuzzer target for the INI loader (common/config): any text, valid or
// not, is either a configuration that passes its own checks or an error
// that names a line of the input; never a crash, a hang or a sanitizer
// report. A configuration that loads must load again from the same text.
#include <cstddef>
#include <cstdint>
#include <string>

#include "common/config.hh"
#include "t/fuzz/fuzz_check.hh"

using causeway::fuzz::check;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    if (size > 65536) return 0;   // configuration files are small; inih reads line by line
    std::string text(reinterpret_cast<const char*>(data), size);
    auto cfg = causeway::common::parse_config_text(text, "fuzz.ini");
    if (!cfg) {
        // Errors say where: "fuzz.ini:LINE: ..." or at least the file; those
        // about the users_file it names (a path of the fuzzer's working
        // directory: "t" is a directory of mode 0755) name that file.
        const std::string& message = cfg.err().message;
        check(message.find("fuzz.ini") != std::string::npos || text.find("users_file") != std::string::npos);
        return 0;
    }
    check(cfg->max_connections >= 1 && cfg->workers >= 1);
    auto again = causeway::common::parse_config_text(text, "fuzz.ini");
    check(again.ok() && again->max_connections == cfg->max_connections && again->users == cfg->users);
    return 0;
}
