// result<T>: a value or an error (errno plus a message naming the failed call
// and its object), for the code paths that must not throw (protocol/, worker/).
// status is result<void>.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace causeway::common {

struct error {
    int code = 0;   // errno where a system call failed, else 0
    std::string message;   // "connect 127.0.0.1:3306: Connection refused"
};

template <typename T>
class [[nodiscard]] result {
public:
    result(T value) : v_(std::move(value)) {}
    result(error e) : v_(std::move(e)) {}
    bool ok() const noexcept { return v_.index() == 0; }
    explicit operator bool() const noexcept { return ok(); }
    T& value() { return std::get<0>(v_); }
    const T& value() const { return std::get<0>(v_); }
    T& operator*() { return value(); }
    T* operator->() { return &value(); }
    const error& err() const { return std::get<1>(v_); }

private:
    std::variant<T, error> v_;
};

template <>
class [[nodiscard]] result<void> {
public:
    result() = default;
    result(error e) : ok_(false), e_(std::move(e)) {}
    bool ok() const noexcept { return ok_; }
    explicit operator bool() const noexcept { return ok_; }
    const error& err() const { return e_; }

private:
    bool ok_ = true;
    error e_;
};

using status = result<void>;

// An error from a failed system call: "<what>: <strerror(errno)>".
error sys_error(const std::string& what, int errnum);

}   // namespace causeway::common
