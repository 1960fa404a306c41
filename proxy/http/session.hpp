// The client-facing connection loop (design §3): one coroutine per client
// connection that runs each request through the lifecycle steps in order.
#pragma once

#include "observe/metrics.hpp"
#include "runtime/runtime.hpp"
#include "upstream/pool.hpp"
#include "upstream/relay.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/thread_pool.hpp>

#include <atomic>
#include <cstdint>
#include <exception>
#include <functional>
#include <string>
#include <unordered_map>

namespace airgate::http {

namespace asio = boost::asio;

// Per-worker state shared by the sessions of one io_context (one thread):
// touched only from that thread, so no locks.
struct WorkerContext {
  upstream::Pool pool;
  upstream::BufferPool buffers;
  upstream::FlatBufferPool flat_buffers;
  bool stopping = false;
  // Sessions waiting for their next request; closed at once on shutdown.
  std::unordered_map<std::uint64_t, net::Stream*> idle;
  // HTTP/2 connections: on shutdown each is told to finish gracefully
  // (GOAWAY; streams in flight complete).
  std::unordered_map<std::uint64_t, std::function<void()>> draining;
  std::uint64_t next_session_id = 0;
  asio::thread_pool* blocking = nullptr;         // password hash verification
  std::function<runtime::RuntimePtr()> runtime;  // current snapshot
  std::atomic<std::size_t>* active_connections = nullptr;
  observe::Metrics* metrics = nullptr;
  // Called once when a client connection has ended (on this worker's thread),
  // with the exception that ended it, if one did.
  std::function<void(std::size_t listener, std::exception_ptr)> session_ended;
};

struct ListenerInfo {
  std::size_t index = 0;
  bool tls = false;
  bool proxy_protocol = false;
  std::string redirect_origin;  // redirect_to_https listener: answer 308 to this origin
};

// Serves one accepted client connection on the worker's io_context until it
// ends, then calls worker.session_ended. `peer` is the client's address as
// accept() returned it.
void start_session(asio::ip::tcp::socket socket, asio::ip::tcp::endpoint peer, ListenerInfo listener,
                   WorkerContext& worker);

}  // namespace airgate::http
