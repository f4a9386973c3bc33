// Optimistic transaction bookkeeping (see optimistic_tx.hh).
#include "worker/optimistic_tx.hh"

namespace causeway::worker {

void optimistic_transaction::start(int replica, bool autocommit_off)
{
    end();
    replica_ = replica;
    autocommit_off_ = autocommit_off;
}

bool optimistic_transaction::fits(std::size_t bytes, std::size_t max_statements, std::size_t max_bytes) const
{
    return statements_.size() < max_statements && bytes_ + bytes <= max_bytes;
}

void optimistic_transaction::record(std::string payload, std::uint64_t digest, std::string prepare_sql, bool read)
{
    bytes_ += payload.size() + prepare_sql.size();
    reads_ += read;
    statements_.push_back({std::move(payload), digest, std::move(prepare_sql)});
}

void optimistic_transaction::end()
{
    replica_ = -1;
    autocommit_off_ = false;
    bytes_ = 0;
    reads_ = 0;
    unprovable_ = false;
    statements_.clear();
}

}   // namespace causeway::worker
