// libFuzzer target for COM_STMT_BULK_EXECUTE as the worker reads and rewrites
// it for a backend (worker/session_state: parse_bulk_execute,
// rewrite_bulk_execute). The input is 2 bytes of parameter count (little
// endian), 1 byte saying whether to insert a types block, then the command's
// payload. Beyond no crash or sanitizer report: a rewrite carries the
// backend's id, keeps the payload parseable with the same flags (plus the
// types flag where types were inserted), inserts types only where the client
// sent none, and leaves the rows byte for byte.
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
    const std::size_t n = size - 3;
    const causeway::fuzz::exact_copy copy(data + 3, n);
    const std::string_view payload = copy.view();

    bulk_view v = parse_bulk_execute(payload, params);
    if (!v.ok) return 0;
    check(v.types_included == bool(v.flags & bulk_send_types));
    if (v.types_included) check(v.types.size() == 2u * params);
    const std::size_t rows_at = 7 + v.types.size();
    std::string types(insert ? 2u * params : 0u, '\x08');   // MYSQL_TYPE_LONGLONG each
    const std::uint32_t backend_id = 0x01020304;
    std::string out = rewrite_bulk_execute(payload, params, backend_id, types);
    bulk_view w = parse_bulk_execute(out, params);
    check(w.ok);
    check(w.statement_id == backend_id);
    check(out[0] == payload[0]);
    const bool inserted = !v.types_included && params && !types.empty();
    if (inserted) {
        check(w.flags == (v.flags | bulk_send_types) && w.types == types);
        check(out.size() == payload.size() + types.size());
        check(out.compare(7 + types.size(), std::string::npos, payload.substr(rows_at)) == 0);
    } else {
        check(w.flags == v.flags && w.types == v.types);
        check(out.size() == payload.size());
        check(out.compare(rows_at, std::string::npos, payload.substr(rows_at)) == 0);
    }
    return 0;
}
