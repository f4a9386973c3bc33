// An optimistic read transaction: a transaction that has not written yet (a
// BEGIN, or the first read under autocommit=0) runs on one replica that
// satisfies the session's invariant. Every statement it runs there is kept,
// with a digest of the answer the client got, so that at its first write the
// transaction can be replayed on the primary and proven to have read exactly
// what the primary shows (else it ends as a serialization failure, ERR 1213).
// Bookkeeping only, no I/O: the client session drives it (client_optimistic.cc).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace causeway::worker {

class optimistic_transaction {
public:
    struct statement {
        // The COM_QUERY as the client sent it, or a COM_STMT_EXECUTE with the
        // parameter types included (its statement id is the primary's, filled
        // in at the replay).
        std::string payload;
        std::uint64_t digest;   // protocol::answer_digest of the answer it got
        std::string prepare_sql;   // an execute: the statement to prepare on the primary first
    };

    // Starts on `replica`; `autocommit_off`: the client runs with autocommit=0
    // (the replica connection then does too, until the transaction ends).
    void start(int replica, bool autocommit_off);
    bool active() const { return replica_ >= 0; }
    int replica() const { return replica_; }
    bool autocommit_off() const { return autocommit_off_; }
    // Whether one more statement of `bytes` stays within the replay budget.
    bool fits(std::size_t bytes, std::size_t max_statements, std::size_t max_bytes) const;
    // `read`: a statement that answered data (not the BEGIN that opened the transaction).
    void record(std::string payload, std::uint64_t digest, std::string prepare_sql, bool read);
    // Reads answered so far: none means the client saw nothing from the replica
    // but BEGIN's OK, and moving to the primary is the same as starting there.
    std::size_t reads() const { return reads_; }
    // A statement ran whose answer cannot be replayed: the transaction can end
    // on its replica, but never move to the primary (ERR 1213 if it tries).
    void unprovable() { unprovable_ = true; }
    bool is_unprovable() const { return unprovable_; }
    const std::vector<statement>& statements() const { return statements_; }
    void end();

    // A session whose transaction wrote (it moved to the primary, or failed
    // there with ERR 1213) starts its next ones on the primary, until one of
    // them commits without writing: a session that writes in every unit of
    // work (sysbench oltp_read_write) would otherwise pay a replay for each,
    // and one that reads something non-deterministic (NOW(), RAND()) before
    // writing would fail every retry.
    void wrote() { primary_next_ = true; }
    bool primary_next() const { return primary_next_; }
    void read_only_transaction_seen() { primary_next_ = false; }

private:
    int replica_ = -1;
    bool autocommit_off_ = false;
    bool primary_next_ = false;
    std::size_t bytes_ = 0;
    std::size_t reads_ = 0;
    bool unprovable_ = false;
    std::vector<statement> statements_;
};

}   // namespace causeway::worker
