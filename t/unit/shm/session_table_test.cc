// Session table semantics on small tables: the floor (unset, init once),
// insert and CAS-max, two domains per entry and overflow on a third, reclaim
// raising the floor, a full table spilling and recovering, inline reclaim,
// colliding keys sharing the higher position, the limit that answers
// unknown (seqno >= 2^58), and the read-only listing of entries
// (copy_entries, spilled_buckets) that causewayctl pages through. More GTID
// domains than max_gtid_domains are in session_table_domains_test.cc.
#include <cppunit/extensions/HelperMacros.h>

#include <algorithm>
#include <map>
#include <vector>

#include "shm/segment.hh"
#include "shm/session_table.hh"
#include "t/unit/shm/scratch_segment.hh"

using namespace causeway;
using namespace causeway::shm;
using causeway::shm::test::must;
using causeway::shm::test::scratch_segment;

namespace {
protocol::gtid_position pos(const char* text)
{
    auto p = protocol::parse_gtid_position(text);
    CPPUNIT_ASSERT_MESSAGE(text, p.ok());
    return *p;
}

std::string known(const session_table& t, std::uint64_t key)
{
    lookup_result r = t.lookup(key);
    CPPUNIT_ASSERT_MESSAGE("status " + std::to_string(int(r.status)), r.known());
    return r.position.to_string();
}

// Raw keys with distinct tags (high 32 bits); in a 2-bucket table every key
// uses both buckets (the same first one: bucket 0), so `tiny` of them fill it.
std::uint64_t raw_key(std::uint32_t tag, std::uint32_t low = 7)
{
    return std::uint64_t(tag) << 32 | low;
}
constexpr std::uint32_t tiny = 2 * bucket_entries;
}   // namespace

class session_table_test : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(session_table_test);
    CPPUNIT_TEST(floor_until_first_primary_poll);
    CPPUNIT_TEST(insert_and_max);
    CPPUNIT_TEST(overflow_on_third_domain);
    CPPUNIT_TEST(reclaim_raises_floor);
    CPPUNIT_TEST(full_table_spills_and_recovers);
    CPPUNIT_TEST(spill_marks);
    CPPUNIT_TEST(inline_reclaim_when_full);
    CPPUNIT_TEST(colliding_keys_share_the_higher);
    CPPUNIT_TEST(seqno_too_large);
    CPPUNIT_TEST(session_keys);
    CPPUNIT_TEST(copy_entries_lists_what_entries_hold);
    CPPUNIT_TEST(copy_entries_skips_entries_without_a_position);
    CPPUNIT_TEST(spilled_buckets_counted);
    CPPUNIT_TEST_SUITE_END();

public:
    void floor_until_first_primary_poll()
    {
        scratch_segment s;
        segment seg = must(segment::create(s.cfg));
        session_table t = seg.sessions();
        const std::uint64_t k = t.key(session_kind::user, "app");
        CPPUNIT_ASSERT(!t.floor_set());
        CPPUNIT_ASSERT(t.lookup(k).status == lookup_status::no_floor);
        // Writes before the floor is known are kept.
        CPPUNIT_ASSERT(t.update(k, pos("0-1-120")) == update_status::stored);
        CPPUNIT_ASSERT(t.lookup(k).status == lookup_status::no_floor);
        CPPUNIT_ASSERT(t.init_floor(pos("0-1-100,1-1-50")));
        CPPUNIT_ASSERT(t.floor_set());
        CPPUNIT_ASSERT(!t.init_floor(pos("0-1-999")));   // once only
        CPPUNIT_ASSERT_EQUAL(std::string("0-0-100,1-0-50"), t.floor().to_string());
        CPPUNIT_ASSERT_EQUAL(std::string("0-0-120,1-0-50"), known(t, k));
        // A session that never wrote must still wait for the floor.
        CPPUNIT_ASSERT_EQUAL(std::string("0-0-100,1-0-50"), known(t, t.key(session_kind::user, "other")));
    }

    void insert_and_max()
    {
        scratch_segment s;
        segment seg = must(segment::create(s.cfg));
        session_table t = seg.sessions();
        CPPUNIT_ASSERT(t.init_floor(pos("0-1-100")));
        const std::uint64_t k = t.key(session_kind::connection, 1);
        CPPUNIT_ASSERT(t.update(k, pos("0-1-150")) == update_status::stored);
        t.prefetch(k);   // a hint only
        CPPUNIT_ASSERT_EQUAL(std::string("0-0-150"), known(t, k));
        CPPUNIT_ASSERT(t.update(k, pos("0-1-120")) == update_status::stored);   // lower: no change
        CPPUNIT_ASSERT_EQUAL(std::string("0-0-150"), known(t, k));
        CPPUNIT_ASSERT(t.update(k, pos("5-2-60")) == update_status::stored);   // second domain
        CPPUNIT_ASSERT_EQUAL(std::string("0-0-150,5-0-60"), known(t, k));
        CPPUNIT_ASSERT(t.update(k, pos("0-1-151,5-2-61")) == update_status::stored);
        CPPUNIT_ASSERT_EQUAL(std::string("0-0-151,5-0-61"), known(t, k));
        CPPUNIT_ASSERT(t.update(k, pos("")) == update_status::stored);
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), t.occupied());
        // The position is per session.
        CPPUNIT_ASSERT_EQUAL(std::string("0-0-100"), known(t, t.key(session_kind::connection, 2)));
        CPPUNIT_ASSERT_EQUAL(std::string("0-0-100"), known(t, t.key(session_kind::user, "1")));
    }

    void overflow_on_third_domain()
    {
        scratch_segment s;
        segment seg = must(segment::create(s.cfg));
        session_table t = seg.sessions();
        CPPUNIT_ASSERT(t.init_floor(pos("0-1-1")));
        const std::uint64_t k = t.key(session_kind::database, "db1");
        const std::uint64_t other = t.key(session_kind::database, "db2");
        CPPUNIT_ASSERT(t.update(k, pos("0-1-10,1-1-10")) == update_status::stored);
        CPPUNIT_ASSERT(t.update(other, pos("0-1-5")) == update_status::stored);
        CPPUNIT_ASSERT(t.update(k, pos("2-1-30")) == update_status::overflow);
        CPPUNIT_ASSERT(t.lookup(k).status == lookup_status::overflow);
        CPPUNIT_ASSERT(t.update(k, pos("0-1-11")) == update_status::stored);   // still recorded...
        CPPUNIT_ASSERT(t.lookup(k).status == lookup_status::overflow);   // ...but unknown
        CPPUNIT_ASSERT_EQUAL(std::string("0-0-5"), known(t, other));
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(1), t.stats().updates_overflow.load());

        // The slots are applied everywhere but the third domain is not: kept.
        t.publish_watermark(pos("0-1-11,1-1-10"));
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), t.reclaim(0, t.buckets()).reclaimed);   // only other
        CPPUNIT_ASSERT(t.lookup(k).status == lookup_status::overflow);
        t.publish_watermark(pos("0-1-11,1-1-10,2-1-30"));
        reclaim_result r = t.reclaim(0, t.buckets());
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), r.reclaimed);
        CPPUNIT_ASSERT_EQUAL(std::string("0-0-11,1-0-10,2-0-30"), known(t, k));
    }

    void reclaim_raises_floor()
    {
        scratch_segment s;
        segment seg = must(segment::create(s.cfg));
        session_table t = seg.sessions();
        CPPUNIT_ASSERT(t.init_floor(pos("0-1-100")));
        const std::uint64_t k1 = t.key(session_kind::user, "a"), k2 = t.key(session_kind::user, "b");
        CPPUNIT_ASSERT(t.update(k1, pos("0-1-200")) == update_status::stored);
        CPPUNIT_ASSERT(t.update(k2, pos("0-1-300")) == update_status::stored);
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), t.occupied());

        CPPUNIT_ASSERT_EQUAL(std::size_t(0), t.reclaim(0, t.buckets()).reclaimed);   // no watermark yet
        t.publish_watermark(pos("0-1-250"));
        t.publish_watermark(pos("0-1-240"));   // a lagging round does not lower it
        CPPUNIT_ASSERT_EQUAL(std::string("0-0-250"), t.watermark().to_string());
        reclaim_result r = t.reclaim(0, t.buckets());
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), r.reclaimed);
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), r.scanned);
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), t.occupied());
        CPPUNIT_ASSERT_EQUAL(std::string("0-0-200"), t.floor().to_string());   // raised first
        CPPUNIT_ASSERT_EQUAL(std::string("0-0-200"), known(t, k1));
        CPPUNIT_ASSERT_EQUAL(std::string("0-0-300"), known(t, k2));
        // A session that never wrote now waits for the raised floor.
        CPPUNIT_ASSERT_EQUAL(std::string("0-0-200"), known(t, t.key(session_kind::user, "c")));

        // A cursor over part of the table, wrapping, reaches the rest.
        t.publish_watermark(pos("0-1-300"));
        std::size_t freed = 0;
        for (std::size_t c = 0; c < t.buckets() + 10; c += 10) freed += t.reclaim(c, 10).reclaimed;
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), freed);
        CPPUNIT_ASSERT_EQUAL(std::size_t(0), t.occupied());
        CPPUNIT_ASSERT_EQUAL(std::string("0-0-300"), known(t, k2));
        // A write after the reclaim starts a fresh entry.
        CPPUNIT_ASSERT(t.update(k1, pos("0-1-400")) == update_status::stored);
        CPPUNIT_ASSERT_EQUAL(std::string("0-0-400"), known(t, k1));
    }

    void full_table_spills_and_recovers()
    {
        scratch_segment s(tiny);   // 2 buckets
        segment seg = must(segment::create(s.cfg));
        session_table t = seg.sessions();
        CPPUNIT_ASSERT_EQUAL(std::size_t(tiny), t.capacity());
        CPPUNIT_ASSERT(t.init_floor(pos("0-1-1")));
        for (std::uint32_t i = 1; i <= tiny; ++i)
            CPPUNIT_ASSERT(t.update(raw_key(i), pos(("0-1-" + std::to_string(10 + i)).c_str())) ==
                           update_status::stored);
        CPPUNIT_ASSERT_EQUAL(std::size_t(tiny), t.occupied());
        const std::uint64_t extra = raw_key(99);
        CPPUNIT_ASSERT(t.update(extra, pos("0-1-500")) == update_status::full);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(1), t.stats().updates_full.load());
        CPPUNIT_ASSERT(t.lookup(extra).status == lookup_status::spilled);
        // Existing sessions still update in place.
        CPPUNIT_ASSERT(t.update(raw_key(3), pos("0-1-600")) == update_status::stored);

        // Entries up to 20 are applied everywhere, the spilled write is not.
        t.publish_watermark(pos(("0-1-" + std::to_string(10 + tiny)).c_str()));
        reclaim_result r = t.reclaim(0, t.buckets());
        CPPUNIT_ASSERT_EQUAL(std::size_t(tiny - 1), r.reclaimed);   // all but key 3 (now 600)
        CPPUNIT_ASSERT_EQUAL(std::size_t(0), r.spills);
        CPPUNIT_ASSERT(t.lookup(extra).status == lookup_status::spilled);
        t.publish_watermark(pos("0-1-500"));
        r = t.reclaim(0, t.buckets());
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), r.spills);
        CPPUNIT_ASSERT_EQUAL(std::string("0-0-500"), known(t, extra));   // via the floor
        CPPUNIT_ASSERT_EQUAL(std::string("0-0-600"), known(t, raw_key(3)));
        CPPUNIT_ASSERT(t.update(extra, pos("0-1-700")) == update_status::stored);
        CPPUNIT_ASSERT_EQUAL(std::string("0-0-700"), known(t, extra));
    }

    void spill_marks()
    {
        scratch_segment s(tiny);
        segment seg = must(segment::create(s.cfg));
        session_table t = seg.sessions();
        CPPUNIT_ASSERT(t.init_floor(pos("0-1-1")));
        for (std::uint32_t i = 1; i <= tiny; ++i)
            CPPUNIT_ASSERT(t.update(raw_key(i), pos("0-1-50,1-1-50")) == update_status::stored);
        // An overflow elsewhere puts 2-1-900 in the global spill position.
        CPPUNIT_ASSERT(t.update(raw_key(1), pos("2-1-900")) == update_status::overflow);
        // A one-domain spill is recorded in the bucket itself (same first bucket for all raw keys)...
        CPPUNIT_ASSERT(t.update(raw_key(90), pos("0-1-500")) == update_status::full);
        CPPUNIT_ASSERT(t.update(raw_key(91), pos("0-1-400")) == update_status::full);
        CPPUNIT_ASSERT(t.lookup(raw_key(90)).status == lookup_status::spilled);
        // ...so it clears once 500 is applied, whatever the global position holds.
        t.publish_watermark(pos("0-1-499,1-1-10"));
        CPPUNIT_ASSERT_EQUAL(std::size_t(0), t.reclaim(0, t.buckets()).spills);
        t.publish_watermark(pos("0-1-500,1-1-10"));
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), t.reclaim(0, t.buckets()).spills);
        CPPUNIT_ASSERT_EQUAL(std::string("0-0-500"), known(t, raw_key(90)));
        CPPUNIT_ASSERT_EQUAL(std::string("0-0-500"), known(t, raw_key(91)));

        // Two domains do not fit the meta word: a global mark, cleared only
        // when the global spill position (including 2-1-900) is applied.
        CPPUNIT_ASSERT(t.update(raw_key(92), pos("0-1-600,1-1-600")) == update_status::full);
        CPPUNIT_ASSERT(t.lookup(raw_key(92)).status == lookup_status::spilled);
        t.publish_watermark(pos("0-1-600,1-1-600"));
        CPPUNIT_ASSERT_EQUAL(std::size_t(0), t.reclaim(0, t.buckets()).spills);
        CPPUNIT_ASSERT(t.lookup(raw_key(92)).status == lookup_status::spilled);
        t.publish_watermark(pos("2-1-900"));
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), t.reclaim(0, t.buckets()).spills);
        CPPUNIT_ASSERT_EQUAL(std::string("0-0-600,1-0-600,2-0-900"), known(t, raw_key(92)));
        // A one-domain spill on top of a mark for another domain turns it global.
        for (std::uint32_t i = 1; i <= tiny; ++i)
            CPPUNIT_ASSERT(t.update(raw_key(i), pos("0-1-950")) == update_status::stored);
        CPPUNIT_ASSERT(t.update(raw_key(93), pos("0-1-960")) == update_status::full);
        CPPUNIT_ASSERT(t.update(raw_key(94), pos("1-1-970")) == update_status::full);
        t.publish_watermark(pos("0-1-960"));
        t.reclaim(0, t.buckets());
        CPPUNIT_ASSERT(t.lookup(raw_key(93)).status == lookup_status::spilled);   // 1-1-970 not applied
        t.publish_watermark(pos("0-1-960,1-1-970"));
        t.reclaim(0, t.buckets());
        CPPUNIT_ASSERT_EQUAL(std::string("0-0-960,1-0-970,2-0-900"), known(t, raw_key(94)));
    }

    void inline_reclaim_when_full()
    {
        scratch_segment s(tiny);
        segment seg = must(segment::create(s.cfg));
        session_table t = seg.sessions();
        CPPUNIT_ASSERT(t.init_floor(pos("0-1-1")));
        for (std::uint32_t i = 1; i <= tiny; ++i)
            CPPUNIT_ASSERT(t.update(raw_key(i), pos("0-1-50")) == update_status::stored);
        t.publish_watermark(pos("0-1-50"));   // all applied, but no sweep has run
        CPPUNIT_ASSERT(t.update(raw_key(99), pos("0-1-60")) == update_status::stored);
        CPPUNIT_ASSERT(t.stats().inline_reclaims.load() > 0);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(0), t.stats().updates_full.load());
        CPPUNIT_ASSERT_EQUAL(std::string("0-0-60"), known(t, raw_key(99)));
        CPPUNIT_ASSERT_EQUAL(std::string("0-0-50"), known(t, raw_key(1)));   // evicted: floor
    }

    void colliding_keys_share_the_higher()
    {
        scratch_segment s(tiny);
        segment seg = must(segment::create(s.cfg));
        session_table t = seg.sessions();
        CPPUNIT_ASSERT(t.init_floor(pos("0-1-1")));
        const std::uint64_t a = raw_key(5, 1), b = raw_key(5, 2);   // same tag, same buckets
        CPPUNIT_ASSERT(t.update(a, pos("0-1-10")) == update_status::stored);
        CPPUNIT_ASSERT_EQUAL(std::string("0-0-10"), known(t, b));   // slower, never stale
        CPPUNIT_ASSERT(t.update(b, pos("0-1-20")) == update_status::stored);
        CPPUNIT_ASSERT_EQUAL(std::string("0-0-20"), known(t, a));
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), t.occupied());
        // A key whose tag would be 0 still gets a real entry.
        CPPUNIT_ASSERT(t.update(raw_key(0, 3), pos("0-1-30")) == update_status::stored);
        CPPUNIT_ASSERT_EQUAL(std::string("0-0-30"), known(t, raw_key(0, 3)));
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), t.occupied());
    }

    void seqno_too_large()
    {
        scratch_segment s;
        segment seg = must(segment::create(s.cfg));
        session_table t = seg.sessions();
        CPPUNIT_ASSERT(t.init_floor(pos("0-1-1")));
        const std::uint64_t k = t.key(session_kind::provided, "x");
        CPPUNIT_ASSERT(t.update(k, pos("0-1-1152921504606846976")) == update_status::overflow);   // 2^60
        CPPUNIT_ASSERT(t.lookup(k).status == lookup_status::overflow);
        t.publish_watermark(pos("0-1-1152921504606846976"));
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), t.reclaim(0, t.buckets()).reclaimed);
        CPPUNIT_ASSERT_EQUAL(std::string("0-0-1152921504606846976"), known(t, k));
    }

    void session_keys()
    {
        scratch_segment s1, s2;
        segment g1 = must(segment::create(s1.cfg)), g2 = must(segment::create(s2.cfg));
        session_table t = g1.sessions();
        CPPUNIT_ASSERT_EQUAL(t.key(session_kind::user, "app"), t.key(session_kind::user, "app"));
        CPPUNIT_ASSERT(t.key(session_kind::user, "app") != t.key(session_kind::database, "app"));
        CPPUNIT_ASSERT(t.key(session_kind::user, "app") != t.key(session_kind::user, "apq"));
        CPPUNIT_ASSERT(t.key(session_kind::connection, 1) != t.key(session_kind::connection, 2));
        CPPUNIT_ASSERT(t.key(session_kind::user, "") != t.key(session_kind::database, ""));
        // Seeded per segment: the same id gives another key in another instance.
        CPPUNIT_ASSERT(t.key(session_kind::user, "app") != g2.sessions().key(session_kind::user, "app"));
        // Long ids hash every byte.
        std::string a(100, 'x'), b = a;
        b[99] = 'y';
        CPPUNIT_ASSERT(t.key(session_kind::provided, a) != t.key(session_kind::provided, b));
    }

    // Entries by tag, copied from a read-only mapping in chunks of `chunk` buckets.
    static std::map<std::uint32_t, session_entry> listed(const session_table& t, std::size_t chunk)
    {
        std::vector<session_entry> out;
        for (std::size_t first = 0; first < t.buckets(); first += chunk)
            t.copy_entries(first, std::min(chunk, t.buckets() - first), out);   // the last chunk must not wrap
        std::map<std::uint32_t, session_entry> by_tag;
        for (auto& e : out) CPPUNIT_ASSERT_MESSAGE("listed twice", by_tag.emplace(e.tag, e).second);
        return by_tag;
    }

    void copy_entries_lists_what_entries_hold()
    {
        scratch_segment s;
        segment seg = must(segment::create(s.cfg));
        session_table t = seg.sessions();
        CPPUNIT_ASSERT(t.init_floor(pos("0-1-100")));
        const std::uint64_t one = t.key(session_kind::connection, 1), two = t.key(session_kind::connection, 2),
                            three = t.key(session_kind::user, "three");
        CPPUNIT_ASSERT(t.update(one, pos("0-1-150")) == update_status::stored);
        CPPUNIT_ASSERT(t.update(two, pos("0-1-120,5-2-60")) == update_status::stored);   // directory index 1
        CPPUNIT_ASSERT(t.update(three, pos("0-1-10,1-1-10")) == update_status::stored);
        CPPUNIT_ASSERT(t.update(three, pos("2-1-30")) == update_status::overflow);
        CPPUNIT_ASSERT(t.update(raw_key(0, 3), pos("5-1-7")) == update_status::stored);   // tag 0 stored as 1
        CPPUNIT_ASSERT(t.update(raw_key(0xffffffff, 3), pos("0-1-99")) == update_status::stored);   // below the floor

        segment ro = must(segment::attach(s.name(), true));   // loads only: a write would fault
        session_table r = ro.sessions();
        auto all = listed(r, r.buckets());
        CPPUNIT_ASSERT_EQUAL(std::size_t(5), all.size());
        CPPUNIT_ASSERT_EQUAL(t.occupied(), all.size());
        auto at = [&](std::uint64_t key) {
            auto it = all.find(std::uint32_t(key >> 32 ? key >> 32 : 1));
            CPPUNIT_ASSERT_MESSAGE("key not listed", it != all.end());
            return it->second;
        };
        // The entry's own seqnos, server id 0, no floor mixed in.
        CPPUNIT_ASSERT_EQUAL(std::string("0-0-150"), at(one).position.to_string());
        CPPUNIT_ASSERT(!at(one).overflow);
        CPPUNIT_ASSERT_EQUAL(std::string("0-0-120,5-0-60"), at(two).position.to_string());
        CPPUNIT_ASSERT_EQUAL(std::string("0-0-10,1-0-10"), at(three).position.to_string());   // 2-1-30 spilled
        CPPUNIT_ASSERT(at(three).overflow);
        CPPUNIT_ASSERT_EQUAL(std::string("5-0-7"), at(raw_key(0, 3)).position.to_string());
        CPPUNIT_ASSERT_EQUAL(std::string("0-0-99"), at(raw_key(0xffffffff, 3)).position.to_string());

        // Small chunks, a wrapping range, and a count past the table give the same, once each.
        CPPUNIT_ASSERT_EQUAL(all.size(), listed(r, 1).size());
        CPPUNIT_ASSERT_EQUAL(all.size(), listed(r, 7).size());
        std::vector<session_entry> out;
        r.copy_entries(r.buckets() - 3, r.buckets(), out);
        CPPUNIT_ASSERT_EQUAL(all.size(), out.size());
        out.clear();
        r.copy_entries(5, 10 * r.buckets(), out);
        CPPUNIT_ASSERT_EQUAL(all.size(), out.size());
        out.clear();
        r.copy_entries(0, 0, out);
        CPPUNIT_ASSERT(out.empty());

        // A reclaimed entry is no longer listed; an update shows at once.
        t.publish_watermark(pos("0-1-150,5-1-7"));
        CPPUNIT_ASSERT_EQUAL(std::size_t(3), t.reclaim(0, t.buckets()).reclaimed);
        CPPUNIT_ASSERT(t.update(two, pos("0-1-200")) == update_status::stored);
        all = listed(r, 16);
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), all.size());
        CPPUNIT_ASSERT_EQUAL(std::string("0-0-200,5-0-60"), at(two).position.to_string());
        CPPUNIT_ASSERT(at(three).overflow);

        // A seqno past 2^60 leaves an entry with no slot, only the overflow flag: listed.
        const std::uint64_t big = t.key(session_kind::provided, "big");
        CPPUNIT_ASSERT(t.update(big, pos("0-1-1152921504606846976")) == update_status::overflow);
        all = listed(r, 16);
        CPPUNIT_ASSERT(at(big).overflow);
        CPPUNIT_ASSERT(at(big).position.empty());
    }

    void copy_entries_skips_entries_without_a_position()
    {
        scratch_segment s(tiny);   // 2 buckets
        segment seg = must(segment::create(s.cfg));
        session_table t = seg.sessions();
        CPPUNIT_ASSERT(t.init_floor(pos("0-1-1")));
        CPPUNIT_ASSERT(t.update(raw_key(1), pos("0-1-10")) == update_status::stored);
        auto* buckets =
            reinterpret_cast<table_bucket*>(reinterpret_cast<std::byte*>(&seg.header()) + seg.header().table[0].offset);
        // Claimed but not written yet (or a reclaim that has cleared the slots
        // but not yet the key): a tag and no slot.
        buckets[1].entry[4].key.store(std::uint64_t(0x77) << key_tag_shift | 1);
        // A free key word with a leftover slot (an update that restarted).
        buckets[1].entry[3].slot[0].store(std::uint64_t(1) << slot_domain_shift | 55);
        std::vector<session_entry> out;
        t.copy_entries(0, t.buckets(), out);
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), out.size());
        CPPUNIT_ASSERT_EQUAL(std::uint32_t(1), out[0].tag);
        CPPUNIT_ASSERT_EQUAL(std::string("0-0-10"), out[0].position.to_string());
        // Written: listed (the leftover slot is no entry's).
        buckets[1].entry[4].slot[1].store(std::uint64_t(2) << slot_domain_shift |
                                          12);   // index 1: domain 0 (0 is the epoch)
        out.clear();
        t.copy_entries(0, t.buckets(), out);
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), out.size());
        const session_entry& e = out[0].tag == 0x77 ? out[0] : out[1];
        CPPUNIT_ASSERT_EQUAL(std::uint32_t(0x77), e.tag);
        CPPUNIT_ASSERT_EQUAL(std::string("0-0-12"), e.position.to_string());
    }

    void spilled_buckets_counted()
    {
        scratch_segment s(tiny);
        segment seg = must(segment::create(s.cfg));
        session_table t = seg.sessions();
        CPPUNIT_ASSERT(t.init_floor(pos("0-1-1")));
        CPPUNIT_ASSERT_EQUAL(std::size_t(0), t.spilled_buckets());
        for (std::uint32_t i = 1; i <= tiny; ++i)
            CPPUNIT_ASSERT(t.update(raw_key(i), pos("0-1-20")) == update_status::stored);
        CPPUNIT_ASSERT(t.update(raw_key(90), pos("0-1-30")) == update_status::full);
        CPPUNIT_ASSERT(t.update(raw_key(91), pos("0-1-40")) == update_status::full);   // same first bucket
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), t.spilled_buckets());
        std::vector<session_entry> out;
        t.copy_entries(0, t.buckets(), out);
        CPPUNIT_ASSERT_EQUAL(std::size_t(tiny), out.size());   // spilled sessions have no entry
        t.publish_watermark(pos("0-1-40"));
        t.reclaim(0, t.buckets());
        CPPUNIT_ASSERT_EQUAL(std::size_t(0), t.spilled_buckets());
        out.clear();
        t.copy_entries(0, t.buckets(), out);
        CPPUNIT_ASSERT(out.empty());
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(session_table_test);
