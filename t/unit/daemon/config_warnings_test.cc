// daemon::config_warnings and the loader's users_file checks: a file that
// holds passwords and that every local user can read, or that anyone can
// change, is warned about; a users_file another user owns is refused.
#include <cppunit/extensions/HelperMacros.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "common/config.hh"
#include "daemon/config_warnings.hh"

using namespace causeway;

namespace {
// A file under a fresh directory, removed with it.
struct scratch_file {
    std::string dir, path;
    scratch_file(const std::string& name, const std::string& text, mode_t mode)
    {
        char tmpl[] = "/tmp/cw-config-XXXXXX";
        dir = mkdtemp(tmpl);
        path = dir + "/" + name;
        std::ofstream(path) << text;
        chmod(path.c_str(), mode);
    }
    ~scratch_file()
    {
        unlink(path.c_str());
        rmdir(dir.c_str());
    }
};

bool any_contains(const std::vector<std::string>& v, const std::string& part)
{
    for (const auto& s : v)
        if (s.find(part) != std::string::npos) return true;
    return false;
}

// A monitor without a password: not a secret of the file.
const char* servers = "[monitor]\nuser = m\n[primary]\naddress = 127.0.0.1:3306\n";
const char* hashed_user = "[users]\napp = *2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19\n";
}   // namespace

class config_warnings_test : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(config_warnings_test);
    CPPUNIT_TEST(clear_passwords);
    CPPUNIT_TEST(file_modes);
    CPPUNIT_TEST(users_file_owner);
    CPPUNIT_TEST_SUITE_END();

    static std::vector<std::string> warnings_for(const std::string& text, mode_t mode)
    {
        scratch_file f("causeway.ini", text, mode);
        auto c = common::load_config(f.path);
        CPPUNIT_ASSERT_MESSAGE(c ? "" : c.err().message, c.ok());
        return daemon::config_warnings(*c);
    }

public:
    void clear_passwords()
    {
        auto w = warnings_for(
            std::string(servers) + "[users]\napp = secret\nother = *2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19\n", 0600);
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), w.size());
        CPPUNIT_ASSERT(any_contains(w, "clear-text passwords for: app;"));
        CPPUNIT_ASSERT(!any_contains(w, "other"));
        CPPUNIT_ASSERT(warnings_for(std::string(servers) + hashed_user, 0600).empty());
    }

    void file_modes()
    {
        // Hashes are secrets too: they log in to the backends.
        auto w = warnings_for(std::string(servers) + hashed_user, 0644);
        CPPUNIT_ASSERT(any_contains(w, "holds passwords and every local user may read it (mode 0644)"));
        CPPUNIT_ASSERT(warnings_for(std::string(servers) + hashed_user, 0640).empty());
        w = warnings_for(std::string(servers) + hashed_user, 0602);
        CPPUNIT_ASSERT(any_contains(w, "every local user may change it (mode 0602)"));
        CPPUNIT_ASSERT(!any_contains(w, "may read"));
        // The monitor's password alone is enough to warn.
        w = warnings_for(std::string(servers) + "[monitor]\npassword = pw\n" + hashed_user, 0604);
        CPPUNIT_ASSERT(any_contains(w, "holds passwords"));
    }

    void users_file_owner()
    {
        scratch_file users("users", "app = *2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19\n", 0600);
        std::string text = "[causeway]\nusers_file = " + users.path + "\n" + servers;
        auto ok = common::parse_config_text(text, "u.ini");
        CPPUNIT_ASSERT_MESSAGE(ok ? "" : ok.err().message, ok.ok());
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), ok->users.size());
        // Giving the file away takes root; the tests run as root in CI.
        if (geteuid() != 0) return;
        CPPUNIT_ASSERT_EQUAL(0, chown(users.path.c_str(), 65534, 65534));
        auto refused = common::parse_config_text(text, "u.ini");
        CPPUNIT_ASSERT(!refused.ok());
        CPPUNIT_ASSERT(refused.err().message.find("owned by uid 65534, not by root or the user causewayd runs as") !=
                       std::string::npos);
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(config_warnings_test);
