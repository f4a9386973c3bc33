// The admin process (see admin.hh): evhttp on the inherited socket, one
// generic callback that checks the method and authentication and dispatches
// on the path; the pages are built by metrics.cc and ctl_report.cc from the
// segment at the time of the request.
#include "daemon/admin.hh"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <memory>

#include "common/log.hh"
#include "daemon/admin_auth.hh"
#include "daemon/ctl_report.hh"
#include "daemon/metrics.hh"
#include "daemon/prom_text.hh"
#include "worker/libevent_raii.hh"

namespace causeway::daemon {

namespace {

struct evhttp_deleter {
    void operator()(evhttp* h) const noexcept { evhttp_free(h); }
};
using evhttp_ptr = std::unique_ptr<evhttp, evhttp_deleter>;

struct admin_context {
    const common::config& cfg;
    const shm::segment& seg;
    common::log_rate_limit denied_log{2};
};

std::optional<proc_usage> usage_of(pid_t pid)
{
    return read_proc_usage(pid);
}

// One JSON object of causewayctl's three reports; each report is already a
// complete document (with a final newline, dropped here).
std::string status_json(const common::config& cfg, const shm::segment& seg)
{
    ctl_env env = real_ctl_env();
    report_context ctx{cfg.file, cfg.progress_max_age_ms, true};
    auto strip = [](std::string s) {
        while (!s.empty() && s.back() == '\n') s.pop_back();
        return s;
    };
    return "{\"status\":" + strip(format_status(read_status(seg, env, cfg.progress_max_age_ms), ctx)) +
        ",\"replicas\":" + strip(format_replicas(read_replicas(seg, env, cfg.progress_max_age_ms), ctx)) +
        ",\"counters\":" + strip(format_counters(read_counters(seg, env, cfg.progress_max_age_ms), ctx)) + "}\n";
}

std::string request_path(evhttp_request* req)
{
    const evhttp_uri* uri = evhttp_request_get_evhttp_uri(req);
    const char* path = uri ? evhttp_uri_get_path(uri) : nullptr;
    return path && *path ? path : "/";
}

void on_request(evhttp_request* req, void* arg)
{
    auto& ctx = *static_cast<admin_context*>(arg);
    const evhttp_cmd_type cmd = evhttp_request_get_command(req);
    bool authorized = true;
    if (!ctx.cfg.admin_user.empty()) {
        const char* h = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
        authorized = h && basic_auth_ok(h, ctx.cfg.admin_user, ctx.cfg.admin_password_hash);
        if (!authorized && h && ctx.denied_log.allow()) {
            char* host = nullptr;
            ev_uint16_t port = 0;
            evhttp_connection_get_peer(evhttp_request_get_connection(req), &host, &port);
            CW_LOG(LOG_WARNING, "admin request from %s:%u: wrong user or password", host ? host : "?", unsigned(port));
        }
    }
    admin_response r =
        admin_route(ctx.cfg, ctx.seg, cmd == EVHTTP_REQ_GET || cmd == EVHTTP_REQ_HEAD, request_path(req), authorized);
    evkeyvalq* out = evhttp_request_get_output_headers(req);
    evhttp_add_header(out, "Content-Type", r.content_type.c_str());
    evhttp_add_header(out, "Cache-Control", "no-store");
    if (r.code == 401) evhttp_add_header(out, "WWW-Authenticate", "Basic realm=\"causeway\", charset=\"UTF-8\"");
    if (r.code == 405) evhttp_add_header(out, "Allow", "GET, HEAD");
    worker::evbuffer_ptr body(evbuffer_new());
    if (!body) {
        evhttp_send_error(req, 500, "out of memory");
        return;
    }
    evbuffer_add(body.get(), r.body.data(), r.body.size());
    // evhttp leaves the body out of a HEAD answer itself, keeping its length.
    evhttp_send_reply(req, r.code, r.reason.c_str(), body.get());
}

void on_stop(evutil_socket_t, short, void* arg)
{
    event_base_loopbreak(static_cast<event_base*>(arg));
}

}   // namespace

admin_response admin_route(const common::config& cfg, const shm::segment& seg, bool is_get, const std::string& path,
                           bool authorized)
{
    admin_response r;
    if (!authorized) {
        r.code = 401;
        r.reason = "Unauthorized";
        r.body = "authentication required\n";
        return r;
    }
    if (!is_get) {
        r.code = 405;
        r.reason = "Method Not Allowed";
        r.body = "only GET and HEAD\n";
        return r;
    }
    if (path == "/metrics") {
        r.content_type = prom_content_type;
        r.body = format_metrics(read_metrics(seg, real_ctl_env(), cfg.progress_max_age_ms, getpid(), usage_of));
    } else if (path == "/status") {
        r.content_type = "application/json";
        r.body = status_json(cfg, seg);
    } else if (path == "/") {
        r.body = "causeway " CAUSEWAY_VERSION "\n/metrics  Prometheus metrics\n/status   instance state as JSON\n";
    } else {
        r.code = 404;
        r.reason = "Not Found";
        r.body = "not found; try /metrics or /status\n";
    }
    return r;
}

namespace {
// Each accepted connection of an HTTPS endpoint: a TLS bufferevent over the
// client TLS context (evhttp gives it the socket). It frees the SSL with itself.
bufferevent* tls_bufferevent(event_base* base, void* arg)
{
    SSL* ssl = SSL_new(static_cast<SSL_CTX*>(arg));
    if (!ssl) return nullptr;
    return bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
}
}   // namespace

int run_admin(const common::config& cfg, const shm::segment& seg, int listen_fd, SSL_CTX* tls)
{
    common::log_set_role("admin");
    prctl(PR_SET_NAME, "causeway-admin");
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    signal(SIGHUP, SIG_IGN);
    signal(SIGPIPE, SIG_IGN);
    signal(SIGQUIT, SIG_IGN);   // nothing to drain: a scrape in progress may be cut

    worker::event_base_ptr base(event_base_new());
    if (!base) return 1;
    evhttp_ptr http(evhttp_new(base.get()));
    if (!http) return 1;
    // Small requests, short deadlines: this endpoint has no bodies to accept
    // and must not be held open by a slow client.
    evhttp_set_timeout(http.get(), 10);
    evhttp_set_max_headers_size(http.get(), 8192);
    evhttp_set_max_body_size(http.get(), 0);
    evhttp_set_allowed_methods(http.get(),
                               EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
                                   EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH);
    admin_context ctx{cfg, seg, common::log_rate_limit{2}};
    evhttp_set_gencb(http.get(), on_request, &ctx);
    if (tls) evhttp_set_bevcb(http.get(), tls_bufferevent, tls);
    if (!evhttp_accept_socket_with_handle(http.get(), listen_fd)) {
        CW_LOG(LOG_ERR, "evhttp_accept_socket_with_handle on %s failed", cfg.admin_listen.to_string().c_str());
        return 1;
    }
    worker::event_ptr term(evsignal_new(base.get(), SIGTERM, on_stop, base.get()));
    worker::event_ptr intr(evsignal_new(base.get(), SIGINT, on_stop, base.get()));
    event_add(term.get(), nullptr);
    event_add(intr.get(), nullptr);
    CW_LOG(LOG_INFO, "serving /metrics and /status on %s%s%s", cfg.admin_listen.to_string().c_str(),
           tls ? " over HTTPS" : "", cfg.admin_user.empty() ? "" : " (basic authentication)");
    event_base_dispatch(base.get());
    http.reset();   // before the base it uses
    CW_LOG(LOG_DEBUG, "exiting");
    return 0;
}

}   // namespace causeway::daemon
