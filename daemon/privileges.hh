// `user = NAME`: causewayd started as root binds its ports, creates the
// shared memory and writes its pid file, then runs (and forks every child) as
// that user. Looking the user up is separate from switching, so that an
// unknown name fails the start before anything is bound.
#pragma once

#include <sys/types.h>

#include <initializer_list>
#include <string>

#include "common/result.hh"

namespace causeway::daemon {

struct run_as {
    std::string name;
    uid_t uid = 0;
    gid_t gid = 0;
};

// The account, or an error; refuses a user other than the current one when
// not root (there is nothing to drop then, and no way to become another).
common::result<run_as> lookup_user(const std::string& name);

// Gives `paths` (the segment, the pid file) to the user, so that it can
// remove and recreate them later, then sets the groups, gid and uid, and
// checks that root cannot be regained.
common::status become(const run_as& who, std::initializer_list<std::string> paths);

}   // namespace causeway::daemon
