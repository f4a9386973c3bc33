// The admin endpoint apart from HTTP: routing by method and path, 401 before
// anything else when authentication fails, /status as one valid JSON object
// of causewayctl's reports; basic-auth decoding and crypt(3) checks; and the
// /proc parsing behind the per-role process metrics.
#include <cppunit/extensions/HelperMacros.h>
#include <unistd.h>

#include "daemon/admin.hh"
#include "daemon/admin_auth.hh"
#include "daemon/proc_usage.hh"
#include "t/unit/daemon/ctl_test_support.hh"
#include "t/unit/shm/scratch_segment.hh"

using namespace causeway;
using namespace causeway::daemon;
using causeway::daemon::test::json_check;
using causeway::shm::test::must;
using causeway::shm::test::scratch_segment;

namespace {
// openssl passwd -6 -salt abc secret
const std::string sha512_secret =
    "$6$abc$IdWKNKTJEb8LxY7CGg8YBXlvtfZzFw7Mp/r6niK9YB2mdvgY..TKjv1T..8RadRt2qvUHYRLr/TsVArtr91iR1";
}   // namespace

class admin_test : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(admin_test);
    CPPUNIT_TEST(routes_by_method_and_path);
    CPPUNIT_TEST(status_is_one_json_object);
    CPPUNIT_TEST(base64_decodes_strictly);
    CPPUNIT_TEST(basic_auth_checks_user_and_hash);
    CPPUNIT_TEST(proc_usage_parses);
    CPPUNIT_TEST_SUITE_END();

public:
    void routes_by_method_and_path()
    {
        scratch_segment s;
        shm::segment seg = must(shm::segment::create(s.cfg));
        CPPUNIT_ASSERT_EQUAL(401, admin_route(s.cfg, seg, true, "/metrics", false).code);
        CPPUNIT_ASSERT_EQUAL(401, admin_route(s.cfg, seg, false, "/nope", false).code);
        CPPUNIT_ASSERT_EQUAL(405, admin_route(s.cfg, seg, false, "/metrics", true).code);
        CPPUNIT_ASSERT_EQUAL(404, admin_route(s.cfg, seg, true, "/metrics/", true).code);
        CPPUNIT_ASSERT_EQUAL(200, admin_route(s.cfg, seg, true, "/", true).code);
        admin_response m = admin_route(s.cfg, seg, true, "/metrics", true);
        CPPUNIT_ASSERT_EQUAL(200, m.code);
        CPPUNIT_ASSERT_EQUAL(std::string("text/plain; version=0.0.4; charset=utf-8"), m.content_type);
        CPPUNIT_ASSERT(m.body.find("\ncauseway_processes{role=\"admin\"} 1\n") != std::string::npos);
    }

    void status_is_one_json_object()
    {
        scratch_segment s;
        shm::segment seg = must(shm::segment::create(s.cfg));
        admin_response r = admin_route(s.cfg, seg, true, "/status", true);
        CPPUNIT_ASSERT_EQUAL(std::string("application/json"), r.content_type);
        std::string why;
        CPPUNIT_ASSERT_MESSAGE(why + "\n" + r.body, json_check::valid(r.body, &why));
        for (const char* key : {"{\"status\":{\"instance\":", ",\"replicas\":{", ",\"counters\":{\"workers\":"})
            CPPUNIT_ASSERT_MESSAGE(std::string(key) + " missing in " + r.body, r.body.find(key) != std::string::npos);
    }

    void base64_decodes_strictly()
    {
        CPPUNIT_ASSERT_EQUAL(std::string("app:secret"), *base64_decode("YXBwOnNlY3JldA=="));
        CPPUNIT_ASSERT_EQUAL(std::string("ab"), *base64_decode("YWI="));
        CPPUNIT_ASSERT_EQUAL(std::string("abc"), *base64_decode("YWJj"));
        CPPUNIT_ASSERT_EQUAL(std::string(""), *base64_decode(""));
        CPPUNIT_ASSERT(!base64_decode("YWI"));   // length
        CPPUNIT_ASSERT(!base64_decode("YW=j"));   // data after padding
        CPPUNIT_ASSERT(!base64_decode("YW!j"));
    }

    void basic_auth_checks_user_and_hash()
    {
        // "admin:secret", "admin:wrong", "root:secret"
        CPPUNIT_ASSERT(basic_auth_ok("Basic YWRtaW46c2VjcmV0", "admin", sha512_secret));
        CPPUNIT_ASSERT(basic_auth_ok("basic YWRtaW46c2VjcmV0", "admin", sha512_secret));
        CPPUNIT_ASSERT(!basic_auth_ok("Basic YWRtaW46d3Jvbmc=", "admin", sha512_secret));
        CPPUNIT_ASSERT(!basic_auth_ok("Basic cm9vdDpzZWNyZXQ=", "admin", sha512_secret));
        CPPUNIT_ASSERT(!basic_auth_ok("Bearer YWRtaW46c2VjcmV0", "admin", sha512_secret));
        CPPUNIT_ASSERT(!basic_auth_ok("Basic YWRtaW46c2VjcmV0", "admin", ""));
        CPPUNIT_ASSERT(!basic_auth_ok("Basic YWRtaW46c2VjcmV0", "admin", "secret"));   // not a hash
    }

    void proc_usage_parses()
    {
        // A command name with a space and a parenthesis; utime 250, stime 50.
        std::string stat = "42 (a b) c) S 1 42 42 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 1 0 12345 1000 77";
        auto u = parse_proc_usage(stat, "1000 77 50 1 0 60 0\n", 100, 4096);
        CPPUNIT_ASSERT(u);
        CPPUNIT_ASSERT_DOUBLES_EQUAL(3.0, u->cpu_seconds, 1e-9);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(77 * 4096), u->resident_bytes);
        CPPUNIT_ASSERT(!parse_proc_usage("garbage", "1 2", 100, 4096));
        CPPUNIT_ASSERT(!parse_proc_usage(stat, "", 100, 4096));
        auto self = read_proc_usage(getpid());
        CPPUNIT_ASSERT(self && self->resident_bytes > 0);
        CPPUNIT_ASSERT(!read_proc_usage(0));
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(admin_test);
