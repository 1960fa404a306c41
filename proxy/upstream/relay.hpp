// Streaming bodies through one fixed buffer (design §3 step 7): memory per
// request is bounded whatever the body size. Also the byte tunnel used after
// 101 Switching Protocols.
#pragma once

#include "config/config.hpp"
#include "core/reason.hpp"
#include "net/stream.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace airgate::upstream {

namespace bhttp = boost::beast::http;

// Relay buffers are reused within a worker (one thread, no locks), so a
// request costs no heap allocation for them and idle connections hold none.
class BufferPool {
 public:
  using Buffer = std::unique_ptr<char[]>;
  static constexpr std::size_t kSize = 32 * 1024;
  static constexpr std::size_t kKeep = 64;  // spare buffers kept per worker
  Buffer take() {
    if (spare_.empty()) return Buffer(new char[kSize]);
    auto b = std::move(spare_.back());
    spare_.pop_back();
    return b;
  }
  void give(Buffer b) {
    if (b && spare_.size() < kKeep) spare_.push_back(std::move(b));
  }

 private:
  std::vector<Buffer> spare_;
};

// Upstream read buffers: a flat_buffer keeps its storage when it is moved,
// so one with room for a large read is handed from exchange to exchange.
class FlatBufferPool {
 public:
  using Buffer = boost::beast::flat_buffer;
  static constexpr std::size_t kReserve = 16 * 1024;
  // Every exchange takes one (the upstream response head is read into it),
  // so the spares cover as many exchanges at once as HTTP/2 brings (a few
  // connections with up to 100 streams each) before malloc sees 16 KiB
  // blocks per request; at most 256 x 16-64 KiB stay held per worker.
  static constexpr std::size_t kKeep = 256;
  Buffer take() {
    if (spare_.empty()) {
      Buffer b;
      // Beast reads at most the free capacity of the dynamic buffer (512
      // bytes when empty): room for large reads and whole TLS records.
      b.reserve(kReserve);
      return b;
    }
    auto b = std::move(spare_.back());
    spare_.pop_back();
    return b;
  }
  void give(Buffer b) {
    b.clear();
    if (b.capacity() >= kReserve && b.capacity() <= 4 * kReserve && spare_.size() < kKeep)
      spare_.push_back(std::move(b));
  }

 private:
  std::vector<Buffer> spare_;
};

// A buffer taken from one of the pools above for one exchange, on its first
// use (a small response that came with its head never needs the relay
// buffer), and given back when the exchange is done with it.
template <class Pool>
class Pooled {
 public:
  explicit Pooled(Pool& pool) : pool_(pool) {}
  ~Pooled() {
    if (taken_) pool_.give(std::move(buffer_));
  }
  Pooled(const Pooled&) = delete;
  Pooled& operator=(const Pooled&) = delete;

  typename Pool::Buffer& operator*() { return get(); }
  typename Pool::Buffer* operator->() { return &get(); }
  bool taken() const { return taken_; }

 private:
  typename Pool::Buffer& get() {
    if (!taken_) {
      buffer_ = pool_.take();
      taken_ = true;
    }
    return buffer_;
  }
  Pool& pool_;
  typename Pool::Buffer buffer_{};
  bool taken_ = false;
};

// The fixed relay buffer (BufferPool::kSize bytes) and the upstream read buffer.
using RelayBuffer = Pooled<BufferPool>;
using PooledFlatBuffer = Pooled<FlatBufferPool>;

// client_too_slow: the request body fell below limits.client_body_min_rate.
enum class RelayResult { ok, too_large, client_timeout, client_too_slow, client_error, peer_timeout, peer_error };

// The Reason of a request body that did not make it (result not ok).
core::Reason relay_failure_reason(RelayResult result);

struct RelayOutcome {
  RelayResult result = RelayResult::ok;
  std::uint64_t bytes = 0;  // body bytes passed on
  bool complete = false;    // the whole body went through (the parser may not know: see relay_exact)
};

// Client -> memory, a Content-Length body of at most
// limits.client_body_buffer_size, read completely before an upstream
// connection is taken (a slow client then holds no upstream connection).
// `out` receives exactly `length` bytes when the result is ok.
boost::asio::awaitable<RelayOutcome> read_request_body(net::Stream& client, boost::beast::flat_buffer& client_buffer,
                                                       std::uint64_t length, std::string& out,
                                                       const config::Limits& limits);

// Every request-body read below has the deadline of client_body_timeout and,
// after the first client_body_timeout, of the minimum average rate
// limits.client_body_min_rate.

// Client -> upstream, a chunked request body: decoded by the parser, sent on
// chunked. Enforces max_body_size on the running total and
// client_body_timeout / send_timeout between reads and writes.
boost::asio::awaitable<RelayOutcome> relay_request_body(net::Stream& client, boost::beast::flat_buffer& client_buffer,
                                                        bhttp::request_parser<bhttp::buffer_body>& parser,
                                                        net::Stream& upstream, RelayBuffer& buffer,
                                                        const config::Limits& limits, const config::Upstream& up);

// Upstream -> client, a response body without Content-Length (chunked, or
// until the upstream closes): decoded, sent chunked (`chunked`) or as it is
// (an HTTP/1.0 client: until the connection ends); `head` leaves first, with
// the first body bytes when they came with it. read_timeout between upstream
// reads.
boost::asio::awaitable<RelayOutcome> relay_response_body(net::Stream& upstream,
                                                         boost::beast::flat_buffer& upstream_buffer,
                                                         bhttp::response_parser<bhttp::buffer_body>& parser,
                                                         net::Stream& client, std::string_view head, bool chunked,
                                                         RelayBuffer& buffer, const config::Limits& limits,
                                                         const config::Upstream& up);

// A Content-Length body (or none: `length` 0) whose framing stays as it is:
// exactly `length` bytes, socket -> fixed buffer -> socket, no parser
// involved. For the response, `head` leaves with the first body bytes.
boost::asio::awaitable<RelayOutcome> relay_request_exact(net::Stream& client, boost::beast::flat_buffer& client_buffer,
                                                         std::uint64_t length, net::Stream& upstream,
                                                         RelayBuffer& buffer, const config::Limits& limits,
                                                         const config::Upstream& up);
boost::asio::awaitable<RelayOutcome> relay_response_exact(net::Stream& upstream,
                                                          boost::beast::flat_buffer& upstream_buffer,
                                                          std::uint64_t length, net::Stream& client,
                                                          std::string_view head, RelayBuffer& buffer,
                                                          const config::Limits& limits, const config::Upstream& up);

// Bytes both ways until either side closes or nothing moves for `idle`.
// Bytes already buffered on either side are delivered first.
boost::asio::awaitable<void> run_tunnel(net::Stream& client, boost::beast::flat_buffer& client_buffer,
                                        net::Stream& upstream, boost::beast::flat_buffer& upstream_buffer,
                                        config::Duration idle);

}  // namespace airgate::upstream
