// Helpers for result.hh.
#include "common/result.hh"

#include <string.h>

namespace causeway::common {

error sys_error(const std::string& what, int errnum)
{
    char buf[128];
    const char* text = strerror_r(errnum, buf, sizeof buf);   // GNU variant
    return error{errnum, what + ": " + text};
}

}   // namespace causeway::common
