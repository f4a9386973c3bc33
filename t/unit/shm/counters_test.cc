// The data-path helpers of shm/counters.hh as tables: a latency's histogram
// bucket (Prometheus' `le`: the first bound it does not exceed), a command
// byte's slot, which route reasons are reads, and that a record lands in the
// right words of a worker's stats block.
#include <cppunit/extensions/HelperMacros.h>

#include "shm/counters.hh"

using namespace causeway::shm;

class counters_test : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(counters_test);
    CPPUNIT_TEST(latency_buckets);
    CPPUNIT_TEST(command_slots_table);
    CPPUNIT_TEST(read_reasons);
    CPPUNIT_TEST(records_land_in_their_words);
    CPPUNIT_TEST_SUITE_END();

public:
    void latency_buckets()
    {
        struct row {
            std::uint64_t us;
            std::size_t bucket;
        };
        const row rows[] = {
            {0, 0},        {50, 0},       {51, 1},        {100, 1},       {101, 2},
            {999, 4},      {1000, 4},     {1001, 5},      {2500, 5},      {9999, 7},
            {1000000, 13}, {1000001, 14}, {10000000, 15}, {10000001, 16}, {UINT64_MAX, 16},
        };
        for (const row& r : rows)
            CPPUNIT_ASSERT_EQUAL_MESSAGE(std::to_string(r.us) + " us", r.bucket, latency_bucket(r.us));
        // Bounds strictly increase, so each value has one bucket.
        for (std::size_t i = 1; i < latency_bounds; ++i) CPPUNIT_ASSERT(latency_bound_us[i - 1] < latency_bound_us[i]);
    }

    void command_slots_table()
    {
        struct row {
            std::uint8_t byte;
            std::size_t slot;
            const char* name;
        };
        const row rows[] = {
            {0x00, 0x00, "sleep"},
            {0x01, 0x01, "quit"},
            {0x03, 0x03, "query"},
            {0x0e, 0x0e, "ping"},
            {0x11, 0x11, "change_user"},
            {0x16, 0x16, "stmt_prepare"},
            {0x17, 0x17, "stmt_execute"},
            {0x19, 0x19, "stmt_close"},
            {0x1f, 0x1f, "reset_connection"},
            {0x20, 0x21, "other"},
            {0xfa, 0x20, "stmt_bulk_execute"},
            {0xff, 0x21, "other"},
        };
        for (const row& r : rows) {
            CPPUNIT_ASSERT_EQUAL_MESSAGE(std::to_string(r.byte), r.slot, command_slot(r.byte));
            CPPUNIT_ASSERT_EQUAL(std::string(r.name), std::string(command_slot_name(command_slot(r.byte))));
        }
    }

    void read_reasons()
    {
        const route_reason reads[] = {
            route_reason::replica_caught_up,       route_reason::replica_after_wait,
            route_reason::replica_direct,          route_reason::primary_locking_read,
            route_reason::primary_not_caught_up,   route_reason::primary_table_full,
            route_reason::primary_session_unknown, route_reason::primary_progress_old,
        };
        std::size_t n = 0;
        for (std::size_t r = 0; r < route_reason_count; ++r) {
            bool expected = std::find(std::begin(reads), std::end(reads), route_reason(r)) != std::end(reads);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(route_reason_name(route_reason(r)), expected, is_read_reason(route_reason(r)));
            n += expected;
        }
        CPPUNIT_ASSERT_EQUAL(std::size(reads), n);
        // Every replica reason is a read: the replica histogram counts each replica read.
        for (std::size_t r = 0; r < route_reason_count; ++r)
            if (std::string(route_reason_name(route_reason(r))).starts_with("replica_"))
                CPPUNIT_ASSERT(is_read_reason(route_reason(r)));
    }

    void records_land_in_their_words()
    {
        worker_stats s{};
        record_latency(s, latency_kind::read_primary, 300);
        record_latency(s, latency_kind::read_primary, 300);
        record_latency(s, latency_kind::causal_wait, 20000000);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(2), read(s.latency[std::size_t(latency_kind::read_primary)].bucket[3]));
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(600), read(s.latency[std::size_t(latency_kind::read_primary)].sum_us));
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(1),
                             read(s.latency[std::size_t(latency_kind::causal_wait)].bucket[latency_bounds]));
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(0), read(s.latency[std::size_t(latency_kind::read_replica)].sum_us));
        count_command(s, 0x03);
        count_refused(s, refuse_reason::tls_required);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(1), read(s.commands[3]));
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(1), read(s.refused[std::size_t(refuse_reason::tls_required)]));
        CPPUNIT_ASSERT_EQUAL(std::string("tls_required"), std::string(refuse_reason_name(refuse_reason::tls_required)));
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(counters_test);
