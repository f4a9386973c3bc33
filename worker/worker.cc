// The worker process main loop (see worker.hh): accept, serve, and stop on
// SIGTERM (now) or SIGQUIT (gracefully: stop accepting, let clients finish
// their statements and leave, then exit; stragglers are closed at
// shutdown_timeout_ms).
#include "worker/worker.hh"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <string>

#include "common/clock.hh"
#include "common/log.hh"
#include "protocol/bytes.hh"
#include "protocol/ok_err.hh"
#include "shm/counters.hh"
#include "worker/client_session.hh"

namespace causeway::worker {

namespace {

struct worker_state {
    worker_context ctx;
    const shm::segment* seg = nullptr;
    listener_ptr listener;
    event_ptr resume_accept;   // re-enables a listener paused to let idler workers accept
    event_ptr sigterm, sigint, sigquit, sigusr2, drain_timer;
    std::uint64_t drain_started_ms = 0;
    bool retiring = false;   // SIGUSR2: a reload replaced this worker; clients stay until they leave
    bool closing_idle = false;   // idle clients are being closed
    int spare_fd = -1;   // /dev/null, given up when accept() runs out of descriptors
    ~worker_state()
    {
        if (spare_fd >= 0) ::close(spare_fd);
    }
};

constexpr int accept_pause_ms = 100;

std::string peer_name(const sockaddr* sa)
{
    char host[INET6_ADDRSTRLEN] = "?";
    unsigned port = 0;
    if (sa->sa_family == AF_INET) {
        auto* in = reinterpret_cast<const sockaddr_in*>(sa);
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
        port = ntohs(in->sin_port);
        return std::string(host) + ":" + std::to_string(port);
    }
    if (sa->sa_family == AF_INET6) {
        auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
        port = ntohs(in6->sin6_port);
    }
    return "[" + std::string(host) + "]:" + std::to_string(port);
}

void on_resume_accept(evutil_socket_t, short, void* arg)
{
    auto& st = *static_cast<worker_state*>(arg);
    if (st.listener && !st.ctx.draining) evconnlistener_enable(st.listener.get());
}

// All workers accept on one socket, and the kernel wakes whichever it likes:
// a burst of connections (a pool opening) can all land on one worker. A
// worker holding clearly more clients than the least loaded worker of its
// generation (16 + 1/8 more) steps aside for a moment, so that the others
// take the next ones. A tighter margin made workers of connect-per-request
// clients, whose counts swing by a few, take turns pausing: 1,000 instead of
// 5,300 connections/s with 8 PHP clients on two workers.
void balance_accepts(worker_state& st)
{
    std::uint64_t mine = st.ctx.active, least = mine;
    std::uint64_t generation = st.ctx.generation;
    for (std::size_t slot = 0; slot < shm::max_worker_slots; ++slot) {
        const shm::worker_counters* w = st.seg->worker(slot);
        if (!w || w == st.ctx.counters || shm::read(w->pid) == 0 || shm::read(w->generation) != generation) continue;
        least = std::min(least, shm::read(w->connections_active));
    }
    if (mine <= least + 16 + least / 8 || !st.listener) return;
    evconnlistener_disable(st.listener.get());
    if (!st.resume_accept) st.resume_accept.reset(evtimer_new(st.ctx.base, on_resume_accept, &st));
    timeval pause{0, 2000};
    evtimer_add(st.resume_accept.get(), &pause);
}

// Clients of the whole instance: every live worker slot's gauge, old
// generations included (their clients hold descriptors and server sessions
// all the same). A worker that died holds none: the supervisor zeroes its
// slot when it reaps it. Two workers accepting at the same instant may each
// miss the other's newest client: the limit can be passed by one client per
// other worker, for that instant only.
std::uint64_t instance_connections(const worker_state& st)
{
    std::uint64_t total = 0;
    for (std::size_t slot = 0; slot < shm::max_worker_slots; ++slot) {
        const shm::worker_counters* w = st.seg->worker(slot);
        if (w == st.ctx.counters)
            total += st.ctx.active;
        else if (w && shm::read(w->pid) != 0)
            total += shm::read(w->connections_active);
    }
    return total;
}

void on_accept(evconnlistener*, evutil_socket_t fd, sockaddr* sa, int, void* arg)
{
    auto& st = *static_cast<worker_state*>(arg);
    auto& ctx = st.ctx;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (instance_connections(st) >= std::uint64_t(ctx.cfg->max_connections)) {
        // As a server does: an ERR instead of the greeting, then close.
        shm::add(ctx.counters->connections_refused);
        shm::count_refused(*ctx.stats, shm::refuse_reason::max_connections);
        std::string pkt =
            protocol::frame_packet(protocol::build_err(protocol::er::con_count, "08004", "Too many connections"), 0);
        ssize_t ignored = ::write(fd, pkt.data(), pkt.size());
        (void)ignored;
        ::close(fd);
        std::string peer = peer_name(sa);
        if (ctx.noise.allow("max_connections", peer.substr(0, peer.rfind(':'))))
            CW_LOG(LOG_WARNING, "refused %s: max_connections (%d) reached", peer.c_str(), ctx.cfg->max_connections);
        return;
    }
    shm::add(ctx.counters->connections_accepted);
    auto* s = new client_session(ctx, fd, peer_name(sa));
    s->start();
    balance_accepts(st);
}

// Out of descriptors, the connection stays in the backlog and the listener
// stays readable: accepting again at once would spin. Instead the spare
// descriptor is given up to accept one client and tell it "Too many
// connections" (it gets an answer, not silence), and accepting pauses.
void on_accept_error(evconnlistener* l, void* arg)
{
    auto& st = *static_cast<worker_state*>(arg);
    int err = EVUTIL_SOCKET_ERROR();
    static common::log_rate_limit limit;
    bool out_of_fds = err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM;
    if (!out_of_fds) {
        if (limit.allow()) CW_LOG(LOG_ERR, "accept: %s", evutil_socket_error_to_string(err));
        return;
    }
    shm::add(st.ctx.counters->accept_pauses);
    if (limit.allow())
        CW_LOG(LOG_ERR, "accept: %s with %zu clients; accepting paused for %d ms (raise LimitNOFILE / ulimit -n)",
               evutil_socket_error_to_string(err), st.ctx.active, accept_pause_ms);
    if (st.spare_fd >= 0) {
        ::close(st.spare_fd);
        int fd = ::accept4(evconnlistener_get_fd(l), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            shm::add(st.ctx.counters->connections_refused);
            shm::count_refused(*st.ctx.stats, shm::refuse_reason::out_of_fds);
            std::string pkt = protocol::frame_packet(
                protocol::build_err(protocol::er::con_count, "08004", "Too many connections"), 0);
            ssize_t ignored = ::write(fd, pkt.data(), pkt.size());
            (void)ignored;
            ::close(fd);
        }
        st.spare_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    }
    evconnlistener_disable(l);
    if (!st.resume_accept) st.resume_accept.reset(evtimer_new(st.ctx.base, on_resume_accept, &st));
    timeval pause{accept_pause_ms / 1000, (accept_pause_ms % 1000) * 1000};
    evtimer_add(st.resume_accept.get(), &pause);
}

void on_fast_stop(evutil_socket_t sig, short, void* arg)
{
    auto& st = *static_cast<worker_state*>(arg);
    CW_LOG(LOG_DEBUG, "signal %d: stopping now", int(sig));
    st.listener.reset();
    // The loop ends below, so deletions that destroy() deferred never run:
    // free every session (dead ones included) here; each unlinks itself.
    std::size_t n = st.ctx.active;
    while (st.ctx.sessions) delete st.ctx.sessions;
    if (n) CW_LOG(LOG_INFO, "closed %zu client connections", n);
    event_base_loopbreak(st.ctx.base);
}

std::uint64_t now_ms(event_base* base)
{
    timeval tv{0, 0};
    event_base_gettimeofday_cached(base, &tv);
    return std::uint64_t(tv.tv_sec) * 1000 + std::uint64_t(tv.tv_usec) / 1000;
}

void close_idle_sessions(worker_state& st)
{
    st.closing_idle = true;
    for (client_session* s = st.ctx.sessions; s;) {
        client_session* next = s->next;
        s->close_when_idle();
        s = next;
    }
}

// While draining: exit when the last client left; a retiring worker closes
// idle clients after shutdown_timeout_ms; anything left after that (plus the
// same again for a retiring worker) is closed.
void on_drain_tick(evutil_socket_t, short, void* arg)
{
    auto& st = *static_cast<worker_state*>(arg);
    if (st.ctx.active == 0) {
        event_base_loopbreak(st.ctx.base);
        return;
    }
    std::uint64_t limit = std::uint64_t(st.ctx.cfg->shutdown_timeout_ms);
    std::uint64_t elapsed = now_ms(st.ctx.base) - st.drain_started_ms;
    if (st.retiring && !st.closing_idle && elapsed >= limit) {
        CW_LOG(LOG_NOTICE, "shutdown_timeout_ms reached: closing %zu client connections as they become idle",
               st.ctx.active);
        close_idle_sessions(st);
    }
    if (elapsed >= (st.retiring ? 2 * limit : limit)) {
        CW_LOG(LOG_WARNING, "shutdown_timeout_ms reached: closing %zu busy client connections", st.ctx.active);
        on_fast_stop(SIGTERM, 0, arg);
    }
}

void start_draining(worker_state& st)
{
    st.ctx.draining = true;
    st.ctx.pool.clear();
    st.listener.reset();
    st.drain_started_ms = now_ms(st.ctx.base);
    st.drain_timer.reset(event_new(st.ctx.base, -1, EV_PERSIST, on_drain_tick, &st));
    timeval every{0, 50 * 1000};
    event_add(st.drain_timer.get(), &every);
}

// SIGQUIT: a graceful stop. Idle clients are closed now, busy ones when idle.
void on_graceful_stop(evutil_socket_t, short, void* arg)
{
    auto& st = *static_cast<worker_state*>(arg);
    if (st.closing_idle) return;
    if (!st.ctx.draining) start_draining(st);
    st.retiring = false;
    CW_LOG(LOG_INFO, "stopping gracefully: %zu client connections to finish", st.ctx.active);
    close_idle_sessions(st);
}

// SIGUSR2: a reload started a new generation. Stop accepting; the clients of
// this worker keep their connections until they close them.
void on_retire(evutil_socket_t, short, void* arg)
{
    auto& st = *static_cast<worker_state*>(arg);
    if (st.ctx.draining) return;
    st.retiring = true;
    start_draining(st);
    CW_LOG(LOG_INFO, "replaced by a new generation: serving %zu client connections until they close", st.ctx.active);
}

}   // namespace

int run_worker(const worker_start& start)
{
    char role[32];
    snprintf(role, sizeof role, "worker %d", start.worker_id);
    common::log_set_role(role);
    // Die with the supervisor, whatever killed it.
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    prctl(PR_SET_NAME, "causeway-work");
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    signal(SIGHUP, SIG_IGN);
    signal(SIGPIPE, SIG_IGN);

    std::vector<common::resolved_address> addrs;
    std::vector<std::uint64_t> ids;
    std::vector<common::backend_config> all{start.cfg->primary};
    for (const auto& b : start.cfg->read_slots()) all.push_back(b);
    for (const auto& b : all) {
        auto resolved = common::resolve(b.addr);
        if (!resolved) {
            CW_LOG(LOG_ERR, "%s", resolved.err().message.c_str());
            return 2;
        }
        addrs.push_back(*resolved);
        ids.push_back(shm::backend_identity(b));
    }
    // Not EVENT_BASE_FLAG_PRECISE_TIMER: it re-arms a timerfd before every
    // epoll_wait; the sub-millisecond ticks of waiting reads use wait_clock.
    event_base_ptr base(event_base_new());
    if (!base) {
        CW_LOG(LOG_ERR, "event_base_new failed");
        return 1;
    }
    shm::worker_counters* counters = start.seg->worker(std::size_t(start.worker_id));
    if (!counters) {
        CW_LOG(LOG_ERR, "no counter slot %d in the segment", start.worker_id);
        return 2;
    }
    counters->pid.store(std::uint64_t(getpid()), std::memory_order_relaxed);
    counters->generation.store(start.generation, std::memory_order_relaxed);
    counters->started_ns.store(common::monotonic_ns(), std::memory_order_relaxed);
    counters->connections_active.store(0, std::memory_order_relaxed);
    auto st = std::make_unique<worker_state>();
    st->ctx.counters = counters;
    st->ctx.board = start.seg->board(std::size_t(start.worker_id));
    st->ctx.stats = start.seg->stats(std::size_t(start.worker_id));
    st->ctx.seg = start.seg;
    st->ctx.noise.open(base.get());
    st->ctx.throttle = login_throttle(&start.seg->logins(), start.seg->header().hash_seed);
    st->ctx.accounts = start.seg->accounts();
    if (!st->ctx.waits.open(base.get()))
        CW_LOG(LOG_WARNING, "timerfd_create: %s; reads will not wait for replicas", strerror(errno));
    st->seg = start.seg;
    st->ctx.wake_fd = start.wake_fd;
    st->ctx.tls = start.tls;
    st->ctx.backend_tls = start.backend_tls;
    st->ctx.cfg = start.cfg;
    st->ctx.base = base.get();
    st->ctx.worker_id = start.worker_id;
    st->ctx.pid = std::uint32_t(getpid());
    st->ctx.generation = start.generation;
    st->ctx.backend_addrs = std::move(addrs);
    st->ctx.backend_ids = std::move(ids);
    st->ctx.servers = all;
    st->ctx.roles = start.seg->roles();
    st->ctx.outstanding.assign(all.size(), 0);
    st->ctx.avoid_until_ns.assign(all.size(), 0);
    st->ctx.progress = start.seg->progress();
    // A slot a dead worker left: the supervisor zeroed its counts; so does its successor.
    shm::backend_usage* usage = start.seg->usage(std::size_t(start.worker_id));
    for (auto& open : usage->open) open.store(0, std::memory_order_seq_cst);
    st->ctx.limit.configure(base.get(), start.seg, usage, std::size_t(start.cfg->max_backend_connections_per_server));
    backend_pool::settings pool;
    pool.max_idle_per_server = std::size_t(start.cfg->pool_max_idle_per_server);
    pool.idle_timeout_ms = std::uint64_t(start.cfg->pool_idle_timeout_s) * 1000u;
    pool.ping_after_ms = std::uint64_t(start.cfg->pool_ping_after_s) * 1000u;
    pool.check_timeout_ms = start.cfg->connect_timeout_ms;
    st->ctx.pool.configure(base.get(), pool, usage, &st->ctx.limit);
    st->ctx.table = start.seg->sessions();
    st->listener.reset(evconnlistener_new(base.get(), on_accept, st.get(),
                                          LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, start.listen_fd));
    if (!st->listener) {
        CW_LOG(LOG_ERR, "evconnlistener_new on fd %d failed", start.listen_fd);
        return 1;
    }
    evconnlistener_set_error_cb(st->listener.get(), on_accept_error);
    st->spare_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    st->sigterm.reset(evsignal_new(base.get(), SIGTERM, on_fast_stop, st.get()));
    st->sigint.reset(evsignal_new(base.get(), SIGINT, on_fast_stop, st.get()));
    st->sigquit.reset(evsignal_new(base.get(), SIGQUIT, on_graceful_stop, st.get()));
    st->sigusr2.reset(evsignal_new(base.get(), SIGUSR2, on_retire, st.get()));
    event_add(st->sigusr2.get(), nullptr);
    event_add(st->sigterm.get(), nullptr);
    event_add(st->sigint.get(), nullptr);
    event_add(st->sigquit.get(), nullptr);

    if (start.ready_fd >= 0) {
        char r = 'R';
        ssize_t ignored = ::write(start.ready_fd, &r, 1);
        (void)ignored;
        ::close(start.ready_fd);
    }
    CW_LOG(LOG_DEBUG, "accepting (generation %u)", start.generation);
    event_base_dispatch(base.get());

    CW_LOG(LOG_DEBUG, "exiting");
    // Sessions free their libevent objects before the base goes.
    st->drain_timer.reset();
    st->resume_accept.reset();
    st->ctx.waits = wait_clock{};
    st->sigterm.reset();
    st->sigint.reset();
    st->sigquit.reset();
    st->sigusr2.reset();
    st->listener.reset();
    st.reset();
    return 0;
}

}   // namespace causeway::worker
