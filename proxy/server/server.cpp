#include "server/server.hpp"

#include "http/session.hpp"
#include "server/admin.hpp"
#include "server/notify.hpp"
#include "server/task.hpp"
#include "server/watch.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "core/fd_limit.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <thread>

namespace airgate::server {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

namespace {

struct Worker {
  // Members are destroyed in reverse order. The io_context's destructor
  // destroys the coroutines still suspended (a shutdown that ran out of
  // shutdown_grace), and their buffers go back to ctx's pools: ctx is
  // declared first so that it outlives the io_context. Its pooled upstream
  // connections are sockets of the io_context, so they go first, in ~Worker.
  http::WorkerContext ctx;
  asio::io_context ioc{1};
  std::vector<std::unique_ptr<tcp::acceptor>> acceptors;  // index = listener index
  // Never expires: the accept loops at max_connections wait on it, and
  // cancelling it (on this worker's thread) wakes them to look again.
  asio::steady_timer room{ioc, asio::steady_timer::time_point::max()};
  std::thread thread;
  Worker() = default;
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;
  ~Worker() {
    ctx.pool.clear();
    ctx.idle.clear();
    ctx.draining.clear();
  }
};

tcp::endpoint listener_endpoint(const config::Listener& l) {
  error_code ec;
  auto addr = asio::ip::make_address(l.host, ec);
  if (ec) throw std::runtime_error("listener " + l.address + ": \"" + l.host + "\" is not an IP address");
  return {addr, l.port};
}

std::string url_of(const config::Listener& l, unsigned short port) {
  const bool v6 = l.host.find(':') != std::string::npos;
  return std::string(l.tls ? "https://" : "http://") + (v6 ? "[" : "") + l.host + (v6 ? "]" : "") + ":" +
         std::to_string(port);
}

// Accept failures (EMFILE/ENFILE above all) are logged at most once per
// kAcceptWarnEvery for the whole process, with the number of failures since
// the previous line, so a full descriptor table cannot flood the log.
constexpr auto kAcceptWarnEvery = std::chrono::seconds(5);

struct AcceptWarnings {
  std::atomic<std::int64_t> last_ns{0};  // steady_clock of the last line, 0 = never
  std::atomic<std::uint64_t> suppressed{0};

  void failed(const error_code& ec, std::size_t open_connections) {
    const auto now = std::chrono::steady_clock::now().time_since_epoch().count();
    auto last = last_ns.load(std::memory_order_relaxed);
    const auto every = std::chrono::duration_cast<std::chrono::steady_clock::duration>(kAcceptWarnEvery).count();
    if (last != 0 && now - last < every) {
      suppressed.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    if (!last_ns.compare_exchange_strong(last, now, std::memory_order_relaxed)) {
      suppressed.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    const auto more = suppressed.exchange(0, std::memory_order_relaxed);
    const std::string repeats = more ? " (and " + std::to_string(more) + " more since the previous report)"
                                     : std::string();
    const bool fds = ec == asio::error::no_descriptors || ec.value() == ENFILE;  // EMFILE is no_descriptors
    if (fds)
      spdlog::warn("accept failed: {}{}; {} open connections, open files limit {}: new connections wait in the "
                   "kernel backlog until descriptors are free (reported at most every {} s)",
                   ec.message(), repeats, open_connections, core::current_nofile(), kAcceptWarnEvery.count());
    else
      spdlog::warn("accept failed: {}{} (reported at most every {} s)", ec.message(), repeats,
                   kAcceptWarnEvery.count());
  }
};

}  // namespace

struct Server::Impl {
  std::atomic<runtime::RuntimePtr> runtime;
  std::function<config::LoadResult()> reload_source;
  observe::Metrics metrics;
  FileWatch watch;
  std::vector<std::unique_ptr<Worker>> workers;
  std::vector<std::string> listener_urls;  // index = listener index; as bound (port 0 resolved), for logs
  asio::thread_pool blocking{2};
  // Open client connections of all workers. It, accept_waiters and
  // shutting_down are used with sequentially consistent operations: a waiter
  // announces itself, then reads `active`; a session decrements `active`, then
  // reads the waiters; so one of the two always sees the other (no lost wake-up).
  std::atomic<std::size_t> active{0};
  std::atomic<std::size_t> accept_waiters{0};  // accept loops asleep at max_connections
  asio::io_context control{1};
  // The shutdown drain waits on it until shutdown_grace is over; cancelled
  // when the last connection ends.
  asio::steady_timer drained{control};
  std::unique_ptr<Admin> admin;
  std::atomic<bool> shutting_down{false};
  std::vector<asio::signal_set*> signal_sets;  // cancelled on shutdown
  AcceptWarnings accept_warnings;
  Notifier notifier;  // systemd Type=notify; does nothing without $NOTIFY_SOCKET

  asio::awaitable<void> accept_loop(Worker& w, tcp::acceptor& acceptor, http::ListenerInfo info);
  asio::awaitable<bool> wait_below_max_connections(Worker& w, const tcp::acceptor& acceptor);
  void session_ended();
  void wake_accept_loops();
  void bind(const config::Config& cfg);
  void shutdown();
  asio::awaitable<void> drain(std::chrono::steady_clock::time_point deadline);
  // Empty when the new configuration was applied, else why it was rejected.
  std::string reload(const std::string& why);
  void goaway_http2();
  void notified_reload(const std::string& why);
  asio::awaitable<void> watch_loop();
  std::string metrics_text();
};

std::string Server::Impl::reload(const std::string& why) {
  auto old = runtime.load();
  auto result = reload_source();
  std::string rejected;
  auto reject = [&](const std::string& message) {
    spdlog::error("reload ({}) rejected, the previous configuration keeps serving: {}", why, message);
    metrics.reload(false);
    rejected = message;
  };
  if (!result.ok()) {
    for (const auto& p : result.problems) spdlog::error("reload: {}", p.str());
    reject(std::to_string(result.problems.size()) + " problem(s) in the configuration (see above)");
  } else if (auto change = listener_change(*old->config, *result.config); !change.empty()) {
    reject(change + " (listener changes need a restart)");
  } else {
    try {
      auto fresh = runtime::build_runtime(result.config);
      spdlog::set_level(spdlog::level::from_str(result.config->logging.level));
      runtime.store(fresh);
      wake_accept_loops();  // max_connections may have been raised
      goaway_http2();
      metrics.reload(true);
      spdlog::info("configuration reloaded ({})", why);
    } catch (const std::exception& e) {
      reject(e.what());
    }
  }
  // Remember the files as they are now, so a rejected change is not retried
  // on every tick; the next edit triggers the next attempt.
  watch.reset(watched_files(*runtime.load()->config));
  return rejected;
}

// After a reload every HTTP/2 connection gets GOAWAY NO_ERROR: its streams in
// flight finish, its client opens a new connection for the next ones, so a
// new certificate or TLS setting reaches it as it reaches new connections
// (nginx's old workers do the same). HTTP/1.1 connections stay: closing one
// would race the client's next request, which GOAWAY's last-stream id rules out.
void Server::Impl::goaway_http2() {
  for (auto& w : workers) {
    asio::post(w->ioc, [&w = *w] {
      auto draining = w.ctx.draining;  // a copy: a connection with no stream leaves the map at once
      for (auto& [id, drain] : draining) drain();
    });
  }
}

// A reload as systemd sees it: RELOADING=1 before, READY=1 with the result after.
void Server::Impl::notified_reload(const std::string& why) {
  notifier.reloading("reloading (" + why + ")");
  const auto rejected = reload(why);
  notifier.ready(rejected.empty() ? "reload ok (" + why + ")"
                                  : "reload failed: " + rejected + "; the previous configuration keeps serving");
}

asio::awaitable<void> Server::Impl::watch_loop() {
  asio::steady_timer timer(control);
  watch.reset(watched_files(*runtime.load()->config));
  for (;;) {
    const auto interval = runtime.load()->config->reload_watch;
    timer.expires_after(interval.count() > 0 ? interval : std::chrono::milliseconds(1000));
    auto [ec] = co_await timer.async_wait(use_tuple);
    if (ec || shutting_down) co_return;
    if (interval.count() == 0) continue;  // watching switched off (a reload may switch it on)
    if (auto changed = watch.changed(); !changed.empty()) notified_reload("changed: " + changed);
  }
}

std::string Server::Impl::metrics_text() {
  auto rt = runtime.load();
  observe::Metrics::Sample sample;
  sample.active_connections = active.load();
  sample.credential_verifications = rt->access->verifications();
  sample.credential_cache_entries = rt->access->cached_credentials();
  for (std::size_t i = 0; i < rt->listener_tls.size(); ++i)
    for (const auto& cert : rt->listener_tls[i].certificates)
      sample.certificates.push_back({rt->config->listen[i].address, cert.file, cert.not_after});
  return metrics.exposition(sample);
}

std::string Server::listener_change(const config::Config& before, const config::Config& after) {
  if (before.listen.size() != after.listen.size())
    return "the number of listeners changed from " + std::to_string(before.listen.size()) + " to " +
           std::to_string(after.listen.size());
  for (std::size_t i = 0; i < before.listen.size(); ++i) {
    const auto& a = before.listen[i];
    const auto& b = after.listen[i];
    const std::string where = "listen[" + std::to_string(i) + "]";
    if (a.host != b.host || a.port != b.port) return where + ".address changed from " + a.address + " to " + b.address;
    if (a.tls.has_value() != b.tls.has_value()) return where + ".tls switched " + (b.tls ? "on" : "off");
    if (a.proxy_protocol != b.proxy_protocol) return where + ".proxy_protocol changed";
  }
  if (before.admin.address != after.admin.address) return "admin.address changed";
  if (before.workers != after.workers) return "workers changed";
  return {};
}

// max_connections: beyond it new connections wait in the kernel backlog. The
// accept loop sleeps on its worker's `room` timer until session_ended or a
// reload wakes it; it counts itself in accept_waiters before its second look
// at `active`, so a session ending in between sees it and wakes it. False
// when the acceptor was closed (shutdown) meanwhile.
asio::awaitable<bool> Server::Impl::wait_below_max_connections(Worker& w, const tcp::acceptor& acceptor) {
  while (active.load() >= runtime.load()->max_connections) {
    accept_waiters.fetch_add(1);
    if (active.load() >= runtime.load()->max_connections) co_await w.room.async_wait(use_tuple);
    accept_waiters.fetch_sub(1);
    if (!acceptor.is_open()) co_return false;
  }
  co_return true;
}

// Called on the session's worker thread when a client connection ends.
void Server::Impl::session_ended() {
  const auto left = active.fetch_sub(1) - 1;
  if (accept_waiters.load() > 0) wake_accept_loops();
  if (left == 0 && shutting_down) asio::post(control, [this] { drained.cancel(); });
}

// Every worker's accept loops may be waiting (the count is shared), so each
// one is woken on its own thread; a loop still at the limit sleeps again.
void Server::Impl::wake_accept_loops() {
  for (auto& w : workers) asio::post(w->ioc, [&w = *w] { w.room.cancel(); });
}

asio::awaitable<void> Server::Impl::accept_loop(Worker& w, tcp::acceptor& acceptor, http::ListenerInfo info) {
  asio::steady_timer backoff(w.ioc);
  for (;;) {
    if (!co_await wait_below_max_connections(w, acceptor)) co_return;
    // The peer's address comes with the accept (no getpeername per connection).
    tcp::endpoint peer;
    auto [ec, socket] = co_await acceptor.async_accept(peer, use_tuple);
    if (ec) {
      if (!acceptor.is_open() || ec == asio::error::operation_aborted) co_return;
      accept_warnings.failed(ec, active.load(std::memory_order_relaxed));
      // Out of descriptors: stop accepting for a while (as nginx does) and
      // leave new connections in the backlog; other errors: a short pause.
      const bool fds = ec == asio::error::no_descriptors || ec.value() == ENFILE;
      backoff.expires_after(std::chrono::milliseconds(fds ? 250 : 50));
      co_await backoff.async_wait(use_tuple);
      continue;
    }
    active.fetch_add(1);
    http::start_session(std::move(socket), peer, info, w.ctx);
  }
}

// One listening socket per listener, bound by this process alone: no
// SO_REUSEPORT, so a second process (another airgate, nginx) that tries the
// same address fails instead of silently sharing the connections. Every
// worker gets its own descriptor of that socket (dup), registered with its own
// io_context; the kernel hands each connection to one accept().
void Server::Impl::bind(const config::Config& cfg) {
  for (std::size_t i = 0; i < cfg.listen.size(); ++i) {
    const auto& l = cfg.listen[i];
    auto endpoint = listener_endpoint(l);
    auto first = std::make_unique<tcp::acceptor>(workers.front()->ioc);
    error_code ec;
    first->open(endpoint.protocol(), ec);
    // SO_REUSEADDR only lets a restart bind over connections in TIME_WAIT; on
    // Linux it never lets two listening sockets share an address.
    if (!ec) first->set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec && endpoint.address().is_v6()) first->set_option(asio::ip::v6_only(true), ec);
    if (!ec) first->bind(endpoint, ec);
    if (!ec) first->listen(asio::socket_base::max_listen_connections, ec);
    if (ec == asio::error::address_in_use)
      throw std::runtime_error("listener " + l.address +
                               ": address already in use (is another airgate or nginx running?)");
    if (ec) throw std::runtime_error("listener " + l.address + ": cannot listen: " + ec.message());
    endpoint.port(first->local_endpoint(ec).port());
    for (std::size_t k = 1; k < workers.size(); ++k) {
      const int fd = ::fcntl(first->native_handle(), F_DUPFD_CLOEXEC, 0);
      if (fd < 0)
        throw std::runtime_error("listener " + l.address + ": cannot share the socket with worker " +
                                 std::to_string(k) + ": " + std::strerror(errno));
      auto acceptor = std::make_unique<tcp::acceptor>(workers[k]->ioc);
      acceptor->assign(endpoint.protocol(), fd, ec);
      if (ec) {
        ::close(fd);
        throw std::runtime_error("listener " + l.address + ": cannot share the socket with worker " +
                                 std::to_string(k) + ": " + ec.message());
      }
      workers[k]->acceptors.push_back(std::move(acceptor));
    }
    workers.front()->acceptors.push_back(std::move(first));
    listener_urls.push_back(url_of(l, endpoint.port()));
    if (l.redirect_to_https)
      spdlog::info("listening on {} (redirects to {})", listener_urls.back(), *l.redirect_to_https);
    else
      spdlog::info("listening on {}", listener_urls.back());
  }
}

void Server::Impl::shutdown() {
  if (shutting_down.exchange(true)) return;
  notifier.stopping("shutting down");
  const auto grace = runtime.load()->config->shutdown_grace;
  spdlog::info("shutting down: no new connections; waiting up to {} ms for {} open connection(s)", grace.count(),
               active.load());
  if (admin) admin->stop();
  for (auto* s : signal_sets) {
    error_code ec;
    s->cancel(ec);
  }
  for (auto& w : workers) {
    asio::post(w->ioc, [&w = *w] {
      w.ctx.stopping = true;
      for (auto& a : w.acceptors) {
        error_code ec;
        a->close(ec);
      }
      w.room.cancel();  // accept loops waiting at max_connections end too
      for (auto& [id, stream] : w.ctx.idle) stream->close();
      // Called from a copy: a connection with no stream left ends (and leaves the map) at once.
      auto draining = w.ctx.draining;
      for (auto& [id, drain] : draining) drain();
      w.ctx.pool.clear();
    });
  }
  // Whatever ends the drain (all connections gone, shutdown_grace over, or a
  // failure, which is logged), the workers and the control loop stop.
  asio::co_spawn(control, drain(std::chrono::steady_clock::now() + grace), [this](std::exception_ptr e) {
    report_failure("shutdown drain", e);
    for (auto& w : workers) w->ioc.stop();
    control.stop();
  });
}

// Sleeps on `drained` until the deadline; session_ended cancels the timer
// when the last connection ends, which ends the wait early.
asio::awaitable<void> Server::Impl::drain(std::chrono::steady_clock::time_point deadline) {
  drained.expires_at(deadline);
  while (active.load() > 0 && std::chrono::steady_clock::now() < deadline) co_await drained.async_wait(use_tuple);
  if (active.load() > 0) spdlog::warn("shutdown_grace over: closing {} connection(s) still open", active.load());
}

Server::Server(config::ConfigPtr config, std::function<config::LoadResult()> reload_source)
    : impl_(std::make_unique<Impl>()) {
  impl_->reload_source = std::move(reload_source);
  impl_->runtime.store(runtime::build_runtime(config));
  unsigned n = config->workers ? config->workers : std::max(1u, std::thread::hardware_concurrency());
  for (unsigned i = 0; i < n; ++i) {
    auto w = std::make_unique<Worker>();
    w->ctx.blocking = &impl_->blocking;
    w->ctx.active_connections = &impl_->active;
    w->ctx.metrics = &impl_->metrics;
    w->ctx.runtime = [impl = impl_.get()] { return impl->runtime.load(); };
    w->ctx.session_ended = [impl = impl_.get()](std::size_t listener, std::exception_ptr e) {
      impl->session_ended();
      if (e) report_failure("session on " + impl->listener_urls[listener], e);
    };
    impl_->workers.push_back(std::move(w));
  }
  impl_->bind(*config);
  if (config->admin.address) {
    impl_->admin = std::make_unique<Admin>(
        impl_->control, *config->admin.address, [impl = impl_.get()] { return impl->runtime.load(); },
        [impl = impl_.get()] { return impl->metrics_text(); });
  }
}

Server::~Server() = default;

int Server::run() {
  auto& impl = *impl_;
  const auto cfg = impl.runtime.load()->config;
  for (std::size_t k = 0; k < impl.workers.size(); ++k) {
    auto& w = impl.workers[k];
    for (std::size_t i = 0; i < w->acceptors.size(); ++i) {
      const auto& l = cfg->listen[i];
      http::ListenerInfo info;
      info.index = i;
      info.tls = l.tls.has_value();
      info.proxy_protocol = l.proxy_protocol;
      info.redirect_origin = l.redirect_to_https.value_or("");
      asio::co_spawn(w->ioc, impl.accept_loop(*w, *w->acceptors[i], info),
                     log_failure("accept loop on " + impl.listener_urls[i] + " (worker " + std::to_string(k) + ")"));
    }
  }
  asio::signal_set signals(impl.control, SIGTERM, SIGINT);
  impl.signal_sets.push_back(&signals);
  signals.async_wait([&](error_code ec, int sig) {
    if (ec) return;
    spdlog::info("received {}", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    impl.shutdown();
  });
  asio::signal_set hangup(impl.control, SIGHUP);
  std::function<void(error_code, int)> on_hangup = [&](error_code ec, int) {
    if (ec || impl.shutting_down) return;
    spdlog::info("received SIGHUP");
    impl.notified_reload("SIGHUP");
    hangup.async_wait(on_hangup);
  };
  hangup.async_wait(on_hangup);
  impl.signal_sets.push_back(&hangup);
  asio::co_spawn(impl.control, impl.watch_loop(), log_failure("configuration file watch"));
  if (impl.admin) impl.admin->start();
  for (auto& w : impl.workers) w->thread = std::thread([&w = *w] { w.ioc.run(); });
  // Every listener is bound (in the constructor) and the self-check ran
  // before it: ready. Connections that arrived meanwhile wait in the backlog.
  {
    std::string urls;
    for (const auto& u : impl.listener_urls) urls += (urls.empty() ? "" : ", ") + u;
    impl.notifier.ready("serving on " + urls);
  }
  impl.control.run();
  for (auto& w : impl.workers) {
    w->ioc.stop();
    if (w->thread.joinable()) w->thread.join();
  }
  spdlog::info("stopped");
  return 0;
}

}  // namespace airgate::server
