// The poller process: the only writer of the replica-progress block. It keeps
// one monitoring connection per server, reads the primary's @@gtid_binlog_pos
// and each replica's @@gtid_slave_pos every poll_interval_ms and replication
// health every health_interval_ms, beats the heartbeat, sets the session
// table's floor from its first primary poll, publishes the watermark (what
// every live replica has applied) and reclaims session entries it covers.
#pragma once

#include "common/config.hh"
#include "shm/segment.hh"

typedef struct ssl_ctx_st SSL_CTX;

namespace causeway::daemon {

// Runs in the forked poller child until SIGTERM; returns the exit status.
// `wake_fd` is an eventfd that workers write when a read starts waiting for a
// replica to catch up: the poller then polls the replicas back to back for
// causal_wait_ms, so the wait ends as soon as a replica has the write.
// `backend_tls` is the generation's client context for backend_tls (null: off everywhere).
int run_poller(const common::config& cfg, const shm::segment& seg, unsigned generation, int wake_fd,
               SSL_CTX* backend_tls);

}   // namespace causeway::daemon
