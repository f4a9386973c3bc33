// The supervisor's loop (see supervisor.hh): poll() on a signalfd and the
// workers' ready pipes, with a timeout for the next respawn or deadline.
#include "daemon/supervisor.hh"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>

#include "common/clock.hh"
#include "common/log.hh"
#include "daemon/admin.hh"
#include "daemon/config_warnings.hh"
#include "daemon/open_files.hh"
#include "daemon/poller.hh"
#include "shm/counters.hh"
#include "worker/worker.hh"

namespace causeway::daemon {

using common::monotonic_ms;

namespace {
constexpr unsigned min_backoff_ms = 100;
constexpr unsigned max_backoff_ms = 10000;
constexpr std::uint64_t ready_timeout_ms = 10000;
constexpr int handled_signals[] = {SIGCHLD, SIGHUP, SIGTERM, SIGINT, SIGQUIT};

// Keys a reload cannot change: the running value is kept and a warning logged.
void keep_restart_only_keys(const common::config& old_cfg, common::config& next)
{
    auto keep = [](const char* key, auto& old_value, auto& new_value, auto to_text) {
        if (old_value == new_value) return;
        CW_LOG(LOG_WARNING, "reload: %s changed (%s -> %s); it takes effect only on restart", key,
               to_text(old_value).c_str(), to_text(new_value).c_str());
        new_value = old_value;
    };
    auto same = [](const std::string& s) { return s; };
    auto addr = [](const common::address& a) { return a.to_string(); };
    auto num = [](int v) { return std::to_string(v); };
    keep("listen", old_cfg.listen, next.listen, addr);
    keep("admin_listen", old_cfg.admin_listen, next.admin_listen, addr);
    keep("pid_file", old_cfg.pid_file, next.pid_file, same);
    keep("shm_name", old_cfg.shm_name, next.shm_name, same);
    keep("shm_group", old_cfg.shm_group, next.shm_group, same);
    keep("user", old_cfg.run_user, next.run_user, same);
    keep("session_table_size", old_cfg.session_table_size, next.session_table_size, num);
}
}   // namespace

supervisor::supervisor(common::config cfg, worker::tls_context tls, worker::tls_context backend_tls,
                       common::unique_fd listen_fd, common::unique_fd admin_fd, shm::segment& seg)
    : cfg_(std::make_unique<common::config>(std::move(cfg))),
      tls_(std::move(tls)),
      backend_tls_(std::move(backend_tls)),
      listen_fd_(std::move(listen_fd)),
      admin_fd_(std::move(admin_fd)),
      seg_(seg)
{
}

// "worker 3", "poller", "admin": how log lines name a child by its slot.
static std::string child_name(int slot)
{
    if (slot >= 0) return "worker " + std::to_string(slot);
    return slot == -1 ? "poller" : "admin";
}

supervisor::~supervisor() = default;

int supervisor::free_slot() const
{
    for (int slot = 0;; ++slot) {
        bool used = std::any_of(children_.begin(), children_.end(), [&](auto& c) { return c->slot == slot; }) ||
            std::any_of(pending_.begin(), pending_.end(), [&](auto& p) { return p.slot == slot; });
        if (!used) return slot;
    }
}

void supervisor::spawn_poller()
{
    if (cfg_->monitor_user.empty()) {
        CW_LOG(LOG_NOTICE, "no [monitor] user: replica progress is not polled");
        return;
    }
    spawn(role::poller, poller_slot);
}

void supervisor::spawn_admin()
{
    if (admin_fd_) spawn(role::admin, admin_slot);
}

void supervisor::replace_single(role kind)
{
    for (auto& c : children_)
        if (c->kind == kind && !c->stopping) c->stopping = true, kill(c->pid, SIGTERM);
    const int slot = kind == role::admin ? admin_slot : poller_slot;
    std::erase_if(pending_, [&](const pending_spawn& p) { return p.slot == slot; });
    kind == role::admin ? spawn_admin() : spawn_poller();
}

bool supervisor::spawn(role kind, int slot)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
        CW_LOG(LOG_ERR, "pipe2: %s", strerror(errno));
        return false;
    }
    common::unique_fd read_end(fds[0]), write_end(fds[1]);
    pid_t pid = fork();
    if (pid < 0) {
        CW_LOG(LOG_ERR, "fork: %s", strerror(errno));
        return false;
    }
    if (pid == 0) {
        // The child keeps the listening socket and its own ready pipe only.
        signal_fd_.reset();
        for (auto& c : children_) c->ready_pipe.reset();
        read_end.reset();
        if (kind == role::admin) {
            listen_fd_.reset();
            write_end.reset();
            wake_fd_.reset();
            _exit(run_admin(*cfg_, seg_, admin_fd_.get(), cfg_->admin_tls ? tls_.get() : nullptr));
        }
        admin_fd_.reset();   // only the admin process answers HTTP
        if (kind == role::poller) {
            listen_fd_.reset();
            write_end.reset();
            _exit(run_poller(*cfg_, seg_, generation_, wake_fd_.get(), backend_tls_.get()));
        }
        worker::worker_start start{cfg_.get(), listen_fd_.get(), slot,       generation_,       write_end.release(),
                                   &seg_,      wake_fd_.get(),   tls_.get(), backend_tls_.get()};
        _exit(worker::run_worker(start));
    }
    if (kind != role::worker) read_end.reset();   // only workers report readiness
    auto c = std::make_unique<child>();
    c->pid = pid;
    c->kind = kind;
    c->slot = slot;
    c->generation = generation_;
    c->started_ms = monotonic_ms();
    c->ready_pipe = std::move(read_end);
    if (kind != role::worker)
        CW_LOG(LOG_INFO, "started %s (pid %d, generation %u)", child_name(slot).c_str(), int(pid), generation_);
    else
        CW_LOG(LOG_INFO, "started worker %d (pid %d, generation %u)", slot, int(pid), generation_);
    children_.push_back(std::move(c));
    return true;
}

void supervisor::handle_child_exit(child& c, int status)
{
    bool fatal = WIFEXITED(status) && WEXITSTATUS(status) == exit_fatal_config;
    bool clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    std::string how = WIFEXITED(status) ? "exited with status " + std::to_string(WEXITSTATUS(status))
                                        : std::string("killed by signal ") + strsignal(WTERMSIG(status));
    bool expected = c.stopping || stopping_;
    // A crash is critical (tests fail on it); any other unexpected exit is an error.
    bool crashed = WIFSIGNALED(status) && !(expected && (WTERMSIG(status) == SIGTERM || WTERMSIG(status) == SIGKILL));
    int level = crashed && !expected ? LOG_CRIT : (expected && (clean || WIFSIGNALED(status)) ? LOG_INFO : LOG_ERR);
    CW_LOG(level, "%s (pid %d, generation %u) %s", child_name(c.slot).c_str(), int(c.pid), c.generation, how.c_str());
    if (c.kind == role::worker) {
        if (auto* w = seg_.worker(std::size_t(c.slot))) {
            w->connections_active.store(0, std::memory_order_relaxed);
            w->pid.store(0, std::memory_order_relaxed);
        }
        // Its backend sockets closed with it: its share of every server's
        // connection count (max_backend_connections_per_server) goes too.
        if (auto* u = seg_.usage(std::size_t(c.slot)))
            for (auto& open : u->open) open.store(0, std::memory_order_seq_cst);
    }
    if (expected || c.generation != generation_) return;
    if (fatal) {
        CW_LOG(LOG_ALERT, "%s exited for a fatal configuration error; not respawning it", child_name(c.slot).c_str());
        return;
    }
    std::size_t b = std::size_t(c.slot + 2);   // admin_slot (-2) uses backoff_ms_[0]
    if (b >= backoff_ms_.size()) backoff_ms_.resize(b + 1, min_backoff_ms);
    unsigned& backoff = backoff_ms_[b];
    // A worker that lived a while gets a fresh start; one that keeps dying waits longer each time.
    if (monotonic_ms() - c.started_ms > 5000) backoff = min_backoff_ms;
    CW_LOG(LOG_NOTICE, "respawning %s in %u ms", child_name(c.slot).c_str(), backoff);
    if (c.kind == role::worker) shm::add(seg_.header().supervisor.worker_restarts);
    if (c.kind == role::poller) shm::add(seg_.header().supervisor.poller_restarts);
    if (c.kind == role::admin) shm::add(seg_.header().supervisor.admin_restarts);
    pending_.push_back({c.slot, monotonic_ms() + backoff});
    backoff = std::min(backoff * 2, max_backoff_ms);
}

void supervisor::reap_children()
{
    int status;
    pid_t pid;
    rusage ru{};
    while ((pid = wait4(-1, &status, WNOHANG, &ru)) > 0) {
        auto it = std::find_if(children_.begin(), children_.end(), [&](auto& c) { return c->pid == pid; });
        if (it == children_.end()) continue;
        std::unique_ptr<child> c = std::move(*it);
        children_.erase(it);
        const std::uint64_t cpu_us = std::uint64_t(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000u +
            std::uint64_t(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
        const std::size_t r = c->kind == role::worker ? 0 : c->kind == role::poller ? 1 : 2;
        shm::add(seg_.header().supervisor.exited_cpu_us[r], cpu_us);
        handle_child_exit(*c, status);
    }
}

void supervisor::spawn_due()
{
    std::uint64_t now = monotonic_ms();
    for (auto it = pending_.begin(); it != pending_.end();) {
        if (it->at_ms > now || stopping_) {
            ++it;
            continue;
        }
        int slot = it->slot;
        it = pending_.erase(it);
        bool ok = slot == admin_slot ? spawn(role::admin, slot)
            : slot == poller_slot    ? spawn(role::poller, slot)
                                     : spawn_worker(slot);
        if (!ok) pending_.push_back({slot, now + max_backoff_ms});
    }
}

void supervisor::check_ready()
{
    // Ready pipes are read in run(); here we finish a reload once the whole new
    // generation accepts, or abandon it at the deadline.
    if (!reload_pending_) return;
    std::size_t want = std::size_t(cfg_->workers), ready = 0;
    for (auto& c : children_)
        if (c->kind == role::worker && c->generation == generation_ && c->ready) ++ready;
    if (ready >= want) {
        reload_pending_ = false;
        shm::add(seg_.header().supervisor.reloads_ok);
        CW_LOG(LOG_NOTICE, "reload: generation %u is accepting; draining generation %u", generation_, generation_ - 1);
        retire_generation(generation_ - 1, SIGUSR2);
        return;
    }
    if (monotonic_ms() > reload_deadline_ms_) {
        reload_pending_ = false;
        shm::add(seg_.header().supervisor.reloads_failed);
        CW_LOG(LOG_ERR,
               "reload: generation %u did not start within %llu ms; it is stopped and generation %u keeps running",
               generation_, (unsigned long long)ready_timeout_ms, generation_ - 1);
        for (auto& c : children_)
            if (c->kind == role::worker && c->generation == generation_) c->stopping = true, kill(c->pid, SIGTERM);
        --generation_;
        seg_.header().config_generation.store(generation_, std::memory_order_release);
    }
}

// The segment is a cache that root (or a bug) can scribble on. Every process
// reaches its regions through offsets validated when it was mapped, so
// garbage in the header moves no pointer; but the state behind it can no
// longer be trusted. Checked once per loop (at least every second): a damaged
// header is logged, the segment recreated (floor taken again from the
// primary, so no stale read), and every child restarted on the new one.
// Never a crash loop: nothing here dereferences what the header says.
void supervisor::check_segment()
{
    if (stopping_) return;
    auto ok = seg_.check_header();
    if (ok) return;
    CW_LOG(LOG_ERR, "%s; recreating it and restarting every child", ok.err().message.c_str());
    auto fresh = shm::segment::recreate(*cfg_);
    if (!fresh) {
        CW_LOG(LOG_ERR, "%s; trying again in a second", fresh.err().message.c_str());
        return;
    }
    seg_ = std::move(*fresh);
    seg_.header().config_generation.store(generation_, std::memory_order_release);
    for (auto& c : children_) {
        if (c->stopping) continue;
        c->stopping = true;
        kill(c->pid, SIGTERM);
    }
    pending_.clear();
    reload_pending_ = false;
    spawn_poller();
    spawn_admin();
    for (int i = 0; i < cfg_->workers; ++i) spawn_worker(free_slot());
}

void supervisor::retire_generation(unsigned generation, int sig)
{
    // Workers of `generation` and older; the poller is replaced by begin_reload().
    for (auto& c : children_) {
        if (c->kind != role::worker || c->generation > generation || c->stopping) continue;
        c->stopping = true;
        kill(c->pid, sig);
    }
    pending_.clear();
}

void supervisor::begin_reload()
{
    auto next = common::load_config(cfg_->file);
    if (!next) {
        CW_LOG(LOG_ERR, "reload: %s; keeping the running configuration", next.err().message.c_str());
        shm::add(seg_.header().supervisor.reloads_failed);
        return;
    }
    if (reload_pending_) {
        CW_LOG(LOG_WARNING, "reload: a reload is already in progress; try again when it is done");
        shm::add(seg_.header().supervisor.reloads_failed);
        return;
    }
    auto tls = worker::tls_context::for_clients(*next);
    if (!tls) {
        CW_LOG(LOG_ERR, "reload: %s; keeping the running configuration", tls.err().message.c_str());
        shm::add(seg_.header().supervisor.reloads_failed);
        return;
    }
    auto backend_tls = worker::tls_context::for_backends(*next);
    if (!backend_tls) {
        CW_LOG(LOG_ERR, "reload: %s; keeping the running configuration", backend_tls.err().message.c_str());
        return;
    }
    // A larger max_connections needs more descriptors for the new workers.
    if (auto fit = fit_open_files(*next); !fit) {
        CW_LOG(LOG_ERR, "reload: %s; keeping the running configuration", fit.err().message.c_str());
        return;
    }
    keep_restart_only_keys(*cfg_, *next);
    tls_ = std::move(*tls);
    backend_tls_ = std::move(*backend_tls);
    common::log_set_level(next->log_level);
    common::log_set_syslog(next->syslog_ident.c_str(), common::syslog_facility_from_choice(next->syslog_facility));
    // Children of older generations keep the copy they were forked with.
    cfg_ = std::make_unique<common::config>(std::move(*next));
    ++generation_;
    CW_LOG(LOG_NOTICE, "reload: configuration %s read; starting generation %u", cfg_->file.c_str(), generation_);
    for (const auto& w : config_warnings(*cfg_)) CW_LOG(LOG_WARNING, "reload: %s", w.c_str());
    pending_.clear();
    seg_.progress().set_labels(*cfg_);
    seg_.header().config_generation.store(generation_, std::memory_order_release);
    for (int i = 0; i < cfg_->workers; ++i) spawn_worker(free_slot());
    // The new poller starts at once: its config may name other servers. The
    // admin process too: it may check other credentials.
    replace_single(role::poller);
    replace_single(role::admin);
    reload_pending_ = true;
    reload_deadline_ms_ = monotonic_ms() + ready_timeout_ms;
}

void supervisor::stop_all(int sig)
{
    if (stopping_ && sig == SIGQUIT) return;
    stopping_ = true;
    stop_signal_ = sig;
    pending_.clear();
    std::uint64_t grace = sig == SIGQUIT ? std::uint64_t(cfg_->shutdown_timeout_ms) + 5000 : 5000;
    stop_deadline_ms_ = monotonic_ms() + grace;
    CW_LOG(LOG_NOTICE, "%s: stopping %zu children%s", strsignal(sig), children_.size(),
           sig == SIGQUIT ? " gracefully" : "");
    for (auto& c : children_) {
        c->stopping = true;
        kill(c->pid, sig == SIGQUIT ? SIGQUIT : SIGTERM);
    }
    listen_fd_.reset();
    admin_fd_.reset();
}

void supervisor::on_signal(int sig)
{
    switch (sig) {
        case SIGCHLD: reap_children(); break;
        case SIGHUP:
            if (!stopping_) begin_reload();
            break;
        case SIGTERM:
        case SIGINT:
        case SIGQUIT: stop_all(sig); break;
        default: break;
    }
}

int supervisor::poll_timeout_ms() const
{
    std::uint64_t now = monotonic_ms(), next = now + 1000;
    for (auto& p : pending_) next = std::min(next, p.at_ms);
    if (reload_pending_) next = std::min(next, reload_deadline_ms_);
    if (stopping_) next = std::min(next, stop_deadline_ms_);
    return next > now ? int(next - now) : 0;
}

int supervisor::run()
{
    sigset_t set;
    sigemptyset(&set);
    for (int s : handled_signals) sigaddset(&set, s);
    wake_fd_.reset(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
    if (!wake_fd_) CW_LOG(LOG_WARNING, "eventfd: %s; waiting reads rely on regular polling", strerror(errno));
    sigprocmask(SIG_BLOCK, &set, nullptr);
    signal(SIGPIPE, SIG_IGN);
    signal_fd_.reset(signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
    if (!signal_fd_) {
        CW_LOG(LOG_ERR, "signalfd: %s", strerror(errno));
        return 1;
    }
    seg_.header().config_generation.store(generation_, std::memory_order_release);
    spawn_poller();
    spawn_admin();
    for (int i = 0; i < cfg_->workers; ++i) spawn_worker(free_slot());
    CW_LOG(LOG_NOTICE, "causewayd %s listening on %s with %d workers (pid %d)", CAUSEWAY_VERSION,
           cfg_->listen.to_string().c_str(), cfg_->workers, int(getpid()));
    for (const auto& w : config_warnings(*cfg_)) CW_LOG(LOG_WARNING, "%s", w.c_str());

    while (!(stopping_ && children_.empty())) {
        std::vector<pollfd> fds{{signal_fd_.get(), POLLIN, 0}};
        std::vector<child*> waiting;
        for (auto& c : children_)
            if (c->ready_pipe) fds.push_back({c->ready_pipe.get(), POLLIN, 0}), waiting.push_back(c.get());
        int n = poll(fds.data(), fds.size(), poll_timeout_ms());
        if (n < 0 && errno != EINTR) {
            CW_LOG(LOG_ERR, "poll: %s", strerror(errno));
            return 1;
        }
        for (std::size_t i = 1; i < fds.size(); ++i) {
            if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            child* c = waiting[i - 1];
            char byte;
            c->ready = read(c->ready_pipe.get(), &byte, 1) == 1;
            c->ready_pipe.reset();
        }
        if (fds[0].revents & POLLIN) {
            signalfd_siginfo info;
            while (read(signal_fd_.get(), &info, sizeof info) == ssize_t(sizeof info)) on_signal(int(info.ssi_signo));
        }
        reap_children();   // SIGCHLD coalesces; reaping here misses none
        check_segment();
        spawn_due();
        check_ready();
        if (stopping_ && monotonic_ms() >= stop_deadline_ms_) {
            for (auto& c : children_) {
                CW_LOG(LOG_WARNING, "%s (pid %d) did not stop in time; killing it", child_name(c->slot).c_str(),
                       int(c->pid));
                kill(c->pid, SIGKILL);
            }
            stop_deadline_ms_ = monotonic_ms() + 5000;
        }
    }
    CW_LOG(LOG_NOTICE, "stopped");
    return 0;
}

}   // namespace causeway::daemon
