// libFuzzer target for COM_STMT_EXECUTE parameter blocks as the worker reads
// and rewrites them (worker/session_state: parse_execute, rewrite_execute).
// The input is 2 bytes of parameter count (little endian), 1 byte saying
// whether to insert a types block, then the command's payload. Beyond no
// crash or sanitizer report: a rewrite carries the backend's id, keeps the
// payload parseable, and inserts types only where the client sent none.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "t/fuzz/fuzz_check.hh"
#include "worker/session_state.hh"

using causeway::fuzz::check;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    using namespace causeway::worker;
    if (size < 3) return 0;
    std::uint16_t params = std::uint16_t(data[0] | data[1] << 8);
    bool insert = data[2] & 1;
    std::string_view payload(reinterpret_cast<const char*>(data + 3), size - 3);
    execute_view v = parse_execute(payload, params);
    if (!v.ok) return 0;
    if (v.types_included) check(v.types.size() == 2u * params);
    std::string types(insert ? 2u * params : 0u, '\x08');   // MYSQL_TYPE_LONGLONG each
    const std::uint32_t backend_id = 0x01020304;
    std::string out = rewrite_execute(payload, params, backend_id, types);
    execute_view w = parse_execute(out, params);
    check(w.ok);
    check(w.statement_id == backend_id);
    check(w.flags == v.flags);
    if (v.types_included) {
        check(w.types_included && w.types == v.types);
        check(out.size() == payload.size());
    } else if (params && !types.empty()) {
        check(w.types_included && w.types == types);
        check(out.size() == payload.size() + types.size());
    } else {
        check(out.size() == payload.size());
    }
    return 0;
}
