// The accounts block in a real segment: nothing before the first load, a
// published set found through another mapping, a second set replacing the
// first, accounts past the capacity or too long counted (never silently
// dropped), and a damaged block read as unreadable rather than trusted.
#include <cppunit/extensions/HelperMacros.h>

#include "common/clock.hh"
#include "shm/accounts.hh"
#include "shm/segment.hh"
#include "t/unit/shm/scratch_segment.hh"

using namespace causeway::shm;
using causeway::shm::test::must;
using causeway::shm::test::scratch_segment;

namespace {
const std::string hash_a = "*14E65567ABDB5135D0CFD9A70B3032C179A49EE7";
const std::string hash_b = "*305D7BCA9D65D8D5C4677F05CD2EA2EBE350158F";
}   // namespace

class accounts_test : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(accounts_test);
    CPPUNIT_TEST(nothing_before_the_first_load);
    CPPUNIT_TEST(published_set_is_seen_by_another_mapping);
    CPPUNIT_TEST(a_new_set_replaces_the_old);
    CPPUNIT_TEST(past_capacity_is_counted);
    CPPUNIT_TEST(damage_is_not_trusted);
    CPPUNIT_TEST(failed_refresh_keeps_the_set);
    CPPUNIT_TEST(one_writer_at_a_time);
    CPPUNIT_TEST(refresh_requests_are_answered_in_order);
    CPPUNIT_TEST_SUITE_END();

public:
    void nothing_before_the_first_load()
    {
        scratch_segment s;
        segment seg = must(segment::create(s.cfg));
        auto r = seg.accounts().lookup("app", "127.0.0.1");
        CPPUNIT_ASSERT(r.status == account_lookup_status::not_loaded);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(1024), seg.accounts().capacity());
    }

    void published_set_is_seen_by_another_mapping()
    {
        scratch_segment s;
        s.cfg.users_capacity = 64;
        segment seg = must(segment::create(s.cfg));
        auto res = seg.accounts().publish({{"app", "%", hash_a, 0},
                                           {"app", "127.0.0.1", hash_b, 0},
                                           {"", "10.%", "", 0},
                                           {"locked", "%", hash_a, account_locked}},
                                          42);
        CPPUNIT_ASSERT_EQUAL(std::size_t(4), res.stored);
        CPPUNIT_ASSERT_EQUAL(std::size_t(0), res.not_stored);

        segment other = must(segment::attach(s.name(), true));
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(64), other.accounts().capacity());
        auto r = other.accounts().lookup("app", "127.0.0.1");
        CPPUNIT_ASSERT(r.status == account_lookup_status::found);
        CPPUNIT_ASSERT_EQUAL(std::string("127.0.0.1"), r.found.host);
        CPPUNIT_ASSERT_EQUAL(hash_b, r.found.hash);
        r = other.accounts().lookup("app", "192.168.0.1");
        CPPUNIT_ASSERT_EQUAL(std::string("%"), r.found.host);
        CPPUNIT_ASSERT_EQUAL(hash_a, r.found.hash);
        // An unknown user from 10.x is the anonymous account.
        r = other.accounts().lookup("zed", "10.0.0.1");
        CPPUNIT_ASSERT(r.status == account_lookup_status::found);
        CPPUNIT_ASSERT_EQUAL(std::string(""), r.found.user);
        CPPUNIT_ASSERT(other.accounts().lookup("zed", "127.0.0.1").status == account_lookup_status::no_account);
        r = other.accounts().lookup("locked", "127.0.0.1");
        CPPUNIT_ASSERT(r.found.flags & account_locked);
        auto st = other.accounts().stats();
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(4), st.loaded);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(1), st.loads);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(42), st.last_refresh_realtime_ns);
        CPPUNIT_ASSERT(st.last_refresh_ok);
    }

    void a_new_set_replaces_the_old()
    {
        scratch_segment s;
        segment seg = must(segment::create(s.cfg));
        seg.accounts().publish({{"app", "%", hash_a, 0}, {"gone", "%", hash_a, 0}}, 1);
        seg.accounts().publish({{"app", "%", hash_b, 0}, {"new", "10.%", hash_a, 0}}, 2);
        CPPUNIT_ASSERT_EQUAL(hash_b, seg.accounts().lookup("app", "127.0.0.1").found.hash);
        CPPUNIT_ASSERT(seg.accounts().lookup("gone", "127.0.0.1").status == account_lookup_status::no_account);
        // The user exists, not for this host.
        CPPUNIT_ASSERT(seg.accounts().lookup("new", "127.0.0.1").status == account_lookup_status::user_elsewhere);
        // A third set goes back into the first buffer.
        seg.accounts().publish({{"third", "%", "", 0}}, 3);
        CPPUNIT_ASSERT(seg.accounts().lookup("third", "127.0.0.1").status == account_lookup_status::found);
        CPPUNIT_ASSERT(seg.accounts().lookup("app", "127.0.0.1").status == account_lookup_status::no_account);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(3), seg.accounts().stats().loads);
    }

    void past_capacity_is_counted()
    {
        scratch_segment s;
        s.cfg.users_capacity = 16;
        segment seg = must(segment::create(s.cfg));
        std::vector<account> many;
        for (int i = 0; i < 20; ++i) many.push_back({"u" + std::to_string(i), "%", hash_a, 0});
        many.insert(many.begin(), account{std::string(129, 'x'), "%", hash_a, 0});   // too long a name
        auto r = seg.accounts().publish(many, 1);
        CPPUNIT_ASSERT_EQUAL(std::size_t(16), r.stored);
        CPPUNIT_ASSERT_EQUAL(std::size_t(5), r.not_stored);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(5), seg.accounts().stats().not_loaded);
        CPPUNIT_ASSERT(seg.accounts().lookup("u15", "1.2.3.4").status == account_lookup_status::found);
        CPPUNIT_ASSERT(seg.accounts().lookup("u16", "1.2.3.4").status == account_lookup_status::no_account);
        std::string longest_host(256, '1');
        r = seg.accounts().publish({{std::string(128, 'y'), longest_host, hash_a, 0}}, 2);
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), r.stored);
        auto found = seg.accounts().lookup(std::string(128, 'y'), longest_host);
        CPPUNIT_ASSERT(found.status == account_lookup_status::found);
        CPPUNIT_ASSERT_EQUAL(longest_host, found.found.host);
    }

    void damage_is_not_trusted()
    {
        scratch_segment s;
        segment seg = must(segment::create(s.cfg));
        seg.accounts().publish({{"app", "%", hash_a, 0}}, 1);
        accounts_block& b = seg.header().accounts;
        std::uint64_t active = b.active.load();
        // A count past the capacity.
        b.count[active].store(1u << 30);
        CPPUNIT_ASSERT(seg.accounts().lookup("app", "1.2.3.4").status == account_lookup_status::unreadable);
        b.count[active].store(1);
        // A length past its field.
        auto* entries = reinterpret_cast<account_entry*>(
            reinterpret_cast<std::byte*>(&seg.header()) +
            plan_segment(seg.header().table[0].entries, seg.header().accounts_capacity).accounts_offset);
        account_entry& e = entries[active * seg.accounts().capacity()];
        std::uint64_t meta = e.meta.load();
        e.meta.store(meta | 0x1ffull << account_host_len_shift);
        CPPUNIT_ASSERT(seg.accounts().lookup("app", "1.2.3.4").status == account_lookup_status::unreadable);
        e.meta.store(meta);
        // An `active` that names no buffer.
        b.active.store(7);
        CPPUNIT_ASSERT(seg.accounts().lookup("app", "1.2.3.4").status == account_lookup_status::unreadable);
        b.active.store(active);
        // A seqlock stuck odd (a writer died mid-write): torn every time.
        b.seq[active].store(b.seq[active].load() | 1);
        CPPUNIT_ASSERT(seg.accounts().lookup("app", "1.2.3.4").status == account_lookup_status::unreadable);
        b.seq[active].store(b.seq[active].load() + 1);
        CPPUNIT_ASSERT(seg.accounts().lookup("app", "1.2.3.4").status == account_lookup_status::found);
        // A header whose capacity was changed is refused by the header check.
        seg.header().accounts_capacity = 5;
        CPPUNIT_ASSERT(!seg.check_header().ok());
    }

    void failed_refresh_keeps_the_set()
    {
        scratch_segment s;
        segment seg = must(segment::create(s.cfg));
        seg.accounts().publish({{"app", "%", hash_a, 0}}, 1);
        seg.accounts().refresh_failed(2);
        auto st = seg.accounts().stats();
        CPPUNIT_ASSERT(!st.last_refresh_ok);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(1), st.refresh_failures);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(2), st.last_refresh_realtime_ns);
        CPPUNIT_ASSERT(seg.accounts().lookup("app", "1.2.3.4").status == account_lookup_status::found);
    }

    void refresh_requests_are_answered_in_order()
    {
        scratch_segment s;
        segment seg = must(segment::create(s.cfg));
        account_store a = seg.accounts();
        std::uint64_t first = a.request_refresh(), second = a.request_refresh();
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(2), second);
        CPPUNIT_ASSERT(!a.refresh_answered(first));
        // An attempt that started after the first request only.
        a.answer_requests(first, true);
        CPPUNIT_ASSERT(a.refresh_answered(first) && !a.refresh_answered(second));
        // The overlapping old poller of a reload answers less: nothing goes back.
        a.answer_requests(0, false);
        CPPUNIT_ASSERT(a.refresh_answered(first));
        a.answer_requests(a.refresh_requests(), true);
        CPPUNIT_ASSERT(a.refresh_answered(second));
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(2), a.stats().forced_refreshes);
    }

    void one_writer_at_a_time()
    {
        scratch_segment s;
        segment seg = must(segment::create(s.cfg));
        accounts_block& b = seg.header().accounts;
        // Another poller is publishing (a reload's overlap): this one backs off.
        b.writer.store(causeway::common::monotonic_ns() | 1);
        auto r = seg.accounts().publish({{"app", "%", hash_a, 0}}, 1);
        CPPUNIT_ASSERT(r.busy);
        CPPUNIT_ASSERT(seg.accounts().lookup("app", "1.2.3.4").status == account_lookup_status::not_loaded);
        // A claim seconds old is a writer that died mid-publish: taken over.
        b.writer.store((causeway::common::monotonic_ns() - 5000000000ull) | 1);
        r = seg.accounts().publish({{"app", "%", hash_a, 0}}, 2);
        CPPUNIT_ASSERT(!r.busy);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(0), b.writer.load());
        CPPUNIT_ASSERT(seg.accounts().lookup("app", "1.2.3.4").status == account_lookup_status::found);
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(accounts_test);
