// The admin process: an HTTP endpoint (libevent's evhttp) on admin_listen
// serving GET /metrics (Prometheus text) and GET /status (JSON, the facts of
// causewayctl status, replicas and counters). It only reads the segment, and
// runs in a process of its own so that a scrape never delays a worker's
// clients or the poller's rounds.
#pragma once

#include <openssl/ssl.h>

#include <string>

#include "common/config.hh"
#include "shm/segment.hh"

namespace causeway::daemon {

// Runs in the forked admin child until SIGTERM; returns the exit status.
// `listen_fd` is the bound, listening, non-blocking socket the supervisor
// opened at start (admin_listen needs a restart to change).
// `tls`: serve HTTPS with it (the client TLS context, admin_tls = on); null: HTTP.
int run_admin(const common::config& cfg, const shm::segment& seg, int listen_fd, SSL_CTX* tls);

// What a request gets, apart from HTTP: the status code, content type and
// body for `method` (GET, HEAD, ...) and `path`. `authorized` is the result
// of the basic-auth check (true when none is configured).
struct admin_response {
    int code = 200;
    std::string reason = "OK";
    std::string content_type = "text/plain; charset=utf-8";
    std::string body;
};
admin_response admin_route(const common::config& cfg, const shm::segment& seg, bool is_get, const std::string& path,
                           bool authorized);

}   // namespace causeway::daemon
