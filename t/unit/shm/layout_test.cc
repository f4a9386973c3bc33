// The shared-memory layout: struct sizes, offsets and alignment are what
// layout.hh promises (a change must bump layout_version), regions do not
// overlap, and a 1 M-entry table fits the 64 MiB budget.
#include <cppunit/extensions/HelperMacros.h>

#include <cstddef>
#include <set>
#include <string>

#include "shm/counters.hh"
#include "shm/layout.hh"

using namespace causeway::shm;

class layout_test : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(layout_test);
    CPPUNIT_TEST(struct_sizes);
    CPPUNIT_TEST(header_offsets);
    CPPUNIT_TEST(plan_regions);
    CPPUNIT_TEST(one_million_sessions_budget);
    CPPUNIT_TEST(route_reason_names);
    CPPUNIT_TEST_SUITE_END();

public:
    void struct_sizes()
    {
        CPPUNIT_ASSERT(word::is_always_lock_free);
        CPPUNIT_ASSERT_EQUAL(std::size_t(640), sizeof(progress_entry));   // 32 tracked domains and the epoch
        CPPUNIT_ASSERT_EQUAL(std::size_t(64), alignof(progress_entry));
        CPPUNIT_ASSERT_EQUAL(std::size_t(448), sizeof(worker_counters));
        CPPUNIT_ASSERT_EQUAL(std::size_t(64), alignof(worker_counters));
        CPPUNIT_ASSERT_EQUAL(std::size_t(128), sizeof(poller_counters));
        CPPUNIT_ASSERT_EQUAL(std::size_t(128), sizeof(table_bucket));
        CPPUNIT_ASSERT_EQUAL(std::size_t(128), alignof(table_bucket));
        CPPUNIT_ASSERT_EQUAL(std::size_t(24), sizeof(table_entry));
        CPPUNIT_ASSERT_EQUAL(std::size_t(5), bucket_entries);
        CPPUNIT_ASSERT(max_tracked_domains >= 32 && max_domains == max_tracked_domains + 1);
        CPPUNIT_ASSERT(max_backends >= 64);
        CPPUNIT_ASSERT(max_worker_slots >= 256);
    }

    void header_offsets()
    {
        // Fields read before the header is validated sit where every version put them.
        CPPUNIT_ASSERT_EQUAL(std::size_t(0), offsetof(segment_header, magic));
        CPPUNIT_ASSERT_EQUAL(std::size_t(8), offsetof(segment_header, layout_version));
        CPPUNIT_ASSERT_EQUAL(std::size_t(16), offsetof(segment_header, creator_pid));
        CPPUNIT_ASSERT_EQUAL(std::size_t(24), offsetof(segment_header, creator_start_ticks));
        // Hot words written by one process do not share a line with others'.
        CPPUNIT_ASSERT_EQUAL(std::size_t(0), offsetof(segment_header, poller_heartbeat_ns) % 64);
        CPPUNIT_ASSERT_EQUAL(std::size_t(0), offsetof(segment_header, sessions) % 64);
        CPPUNIT_ASSERT_EQUAL(std::size_t(0), offsetof(session_state, floor) % 64);
        CPPUNIT_ASSERT_EQUAL(std::size_t(0), offsetof(session_state, spill) % 64);
        CPPUNIT_ASSERT(sizeof(segment_header) <= 4096);
    }

    void plan_regions()
    {
        for (std::uint64_t entries : {1ull, 10ull, 1024ull, 1048576ull, 1ull << 26}) {
            segment_plan p = plan_segment(entries);
            CPPUNIT_ASSERT(p.table.entries >= entries);
            CPPUNIT_ASSERT(p.table.buckets >= 2);
            CPPUNIT_ASSERT_EQUAL(p.table.buckets * bucket_entries, p.table.entries);
            // In order, aligned, not overlapping.
            CPPUNIT_ASSERT(p.progress_offset >= sizeof(segment_header));
            CPPUNIT_ASSERT(p.labels_offset >= p.progress_offset + max_backends * sizeof(progress_entry));
            CPPUNIT_ASSERT(p.workers_offset >= p.labels_offset + sizeof(backend_labels));
            CPPUNIT_ASSERT(p.poller_offset >= p.workers_offset + max_worker_slots * sizeof(worker_counters));
            CPPUNIT_ASSERT(p.boards_offset >= p.poller_offset + sizeof(poller_counters));
            CPPUNIT_ASSERT(p.stats_offset >= p.boards_offset + max_worker_slots * sizeof(statement_board));
            CPPUNIT_ASSERT(p.usage_offset >= p.stats_offset + max_worker_slots * sizeof(worker_stats));
            CPPUNIT_ASSERT(p.logins_offset >= p.usage_offset + max_worker_slots * sizeof(backend_usage));
            CPPUNIT_ASSERT(p.accounts_offset >= p.logins_offset + sizeof(login_table));
            CPPUNIT_ASSERT(p.table.offset >= p.accounts_offset + 2 * p.accounts_capacity * sizeof(account_entry));
            CPPUNIT_ASSERT(p.total_size >= p.table.offset + p.table.buckets * sizeof(table_bucket));
            for (std::uint64_t off : {p.progress_offset, p.labels_offset, p.workers_offset, p.poller_offset,
                                      p.stats_offset, p.usage_offset, p.logins_offset, p.accounts_offset})
                CPPUNIT_ASSERT_EQUAL(std::uint64_t(0), off % 64);
            CPPUNIT_ASSERT_EQUAL(std::uint64_t(0), p.table.offset % 4096);
            CPPUNIT_ASSERT_EQUAL(std::uint64_t(0), p.total_size % 4096);
        }
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(2), plan_segment(2 * bucket_entries).table.buckets);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(3), plan_segment(2 * bucket_entries + 1).table.buckets);
    }

    void one_million_sessions_budget()
    {
        // The default table (1,048,576 entries) and one sized for 1 M sessions
        // at 70% fill both stay well under 64 MiB.
        CPPUNIT_ASSERT(plan_segment(1048576).total_size <= 32ull << 20);
        CPPUNIT_ASSERT(plan_segment(1430000).total_size <= 40ull << 20);
        // The default account capacity costs under 1 MiB.
        CPPUNIT_ASSERT(plan_segment(1048576).total_size - plan_segment(1048576, 0).total_size <= 1ull << 20);
    }

    void route_reason_names()
    {
        std::set<std::string> names;
        for (std::size_t r = 0; r < route_reason_count; ++r) names.insert(route_reason_name(route_reason(r)));
        CPPUNIT_ASSERT_EQUAL(route_reason_count, names.size());
        CPPUNIT_ASSERT(names.count("unknown") == 0);
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(layout_test);
