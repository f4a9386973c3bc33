// Optimistic transaction bookkeeping (worker/optimistic_tx.hh): the replay
// budget, what counts as a read answered on the replica (a move with none is a
// transaction sent to the primary from the start), executes kept with their
// statement, the unprovable mark, and the write-streak rule.
#include <cppunit/extensions/HelperMacros.h>

#include "worker/optimistic_tx.hh"

using causeway::worker::optimistic_transaction;

class optimistic_tx_test : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(optimistic_tx_test);
    CPPUNIT_TEST(budget);
    CPPUNIT_TEST(reads_and_executes);
    CPPUNIT_TEST(unprovable_until_end);
    CPPUNIT_TEST(write_streak);
    CPPUNIT_TEST_SUITE_END();

public:
    void budget()
    {
        optimistic_transaction t;
        t.start(1, false);
        CPPUNIT_ASSERT(t.fits(100, 2, 200));
        t.record(std::string(100, 'x'), 1, {}, true);
        CPPUNIT_ASSERT(t.fits(100, 2, 200));
        CPPUNIT_ASSERT(!t.fits(101, 2, 200));   // bytes
        t.record("\x17", 2, std::string(99, 'y'), true);   // an execute counts its statement's text too
        CPPUNIT_ASSERT(!t.fits(1, 2, 1000));   // statements
        CPPUNIT_ASSERT(!t.fits(1, 3, 200));   // 100 + 1 + 99 + 1 > 200
        CPPUNIT_ASSERT(t.fits(0, 3, 200));
    }

    void reads_and_executes()
    {
        optimistic_transaction t;
        t.start(2, false);
        CPPUNIT_ASSERT(t.active() && t.replica() == 2 && !t.autocommit_off());
        t.record(
            "\x03"
            "BEGIN",
            7, {}, false);
        CPPUNIT_ASSERT_EQUAL(std::size_t(0), t.reads());   // only BEGIN: a move now is a start on the primary
        t.record("\x17\0\0\0\0", 8, "SELECT v FROM t WHERE id = ?", true);
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), t.reads());
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), t.statements().size());
        CPPUNIT_ASSERT(t.statements()[0].prepare_sql.empty());
        CPPUNIT_ASSERT_EQUAL(std::string("SELECT v FROM t WHERE id = ?"), t.statements()[1].prepare_sql);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(8), t.statements()[1].digest);
        t.start(1, true);   // a new transaction forgets the old one
        CPPUNIT_ASSERT(t.autocommit_off() && t.statements().empty() && t.reads() == 0);
        t.end();
        CPPUNIT_ASSERT(!t.active());
    }

    void unprovable_until_end()
    {
        optimistic_transaction t;
        t.start(1, false);
        CPPUNIT_ASSERT(!t.is_unprovable());
        t.unprovable();
        CPPUNIT_ASSERT(t.is_unprovable());
        t.end();
        CPPUNIT_ASSERT(!t.is_unprovable());
        t.start(1, false);
        CPPUNIT_ASSERT(!t.is_unprovable());
    }

    void write_streak()
    {
        optimistic_transaction t;
        CPPUNIT_ASSERT(!t.primary_next());
        t.wrote();
        t.start(1, false);
        t.end();   // transactions come and go: the rule stays
        CPPUNIT_ASSERT(t.primary_next());
        t.read_only_transaction_seen();
        CPPUNIT_ASSERT(!t.primary_next());
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(optimistic_tx_test);
