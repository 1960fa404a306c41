#include "upstream/relay.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/read.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <cstring>
#include <optional>

namespace airgate::upstream {

namespace asio = boost::asio;
namespace beast = boost::beast;
using error_code = boost::system::error_code;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

namespace {

using Clock = std::chrono::steady_clock;

// The minimum average rate of a request body: after `grace`, the body must
// have come at `min_rate` bytes per second or more on average, so a client
// that trickles bytes (each one resetting the gap timeout) still ends.
struct RateFloor {
  Clock::time_point start;
  config::Duration grace;
  std::uint64_t min_rate = 0;  // bytes per second; 0: none

  // When the next byte must have arrived, having received `bytes` so far.
  Clock::time_point deadline(std::uint64_t bytes) const {
    const auto owed = std::chrono::duration<double>(static_cast<double>(bytes) / static_cast<double>(min_rate));
    return start + grace + std::chrono::duration_cast<Clock::duration>(owed);
  }
};

struct Side {
  config::Duration timeout;
  RelayResult on_timeout;
  RelayResult on_error;
  std::optional<RateFloor> floor = std::nullopt;

  // Arms the deadline of one read after `bytes` body bytes; returns whether
  // the rate floor, not the gap timeout, is the nearer deadline.
  bool arm_read(net::Stream& s, std::uint64_t bytes) const {
    auto timeout = std::chrono::duration_cast<Clock::duration>(this->timeout);
    bool by_rate = false;
    if (floor && floor->min_rate) {
      const auto left = floor->deadline(bytes) - Clock::now();
      if (left < timeout) {
        timeout = std::max<Clock::duration>(left, std::chrono::milliseconds(1));
        by_rate = true;
      }
    }
    s.expires_after(timeout);
    return by_rate;
  }
  RelayResult read_failure(const error_code& ec, bool by_rate) const {
    if (ec != beast::error::timeout) return on_error;
    return by_rate ? RelayResult::client_too_slow : on_timeout;
  }
};

Side client_body_side(const config::Limits& limits) {
  return Side{limits.client_body_timeout, RelayResult::client_timeout, RelayResult::client_error,
              RateFloor{Clock::now(), limits.client_body_timeout, limits.client_body_min_rate}};
}

// A Content-Length body whose head is already out: the bytes are the same on
// both sides, so they go from the socket into the fixed buffer and out again
// without the parser (one copy less, large reads).
// `prefix` (a message head) leaves with the first body bytes when they are
// already here, else at once (a client sees the status of a slow response).
asio::awaitable<RelayOutcome> relay_exact(net::Stream& in, beast::flat_buffer& in_buffer, std::uint64_t remaining,
                                          Side in_side, net::Stream& out, Side out_side, RelayBuffer& buffer,
                                          std::uint64_t limit, RelayOutcome outcome, std::string_view prefix) {
  if (!prefix.empty() && (remaining == 0 || in_buffer.size() == 0)) {
    out.expires_after(out_side.timeout);
    auto [ec, written] = co_await asio::async_write(out, asio::buffer(prefix.data(), prefix.size()), use_tuple);
    if (ec) {
      outcome.result = ec == beast::error::timeout ? out_side.on_timeout : out_side.on_error;
      co_return outcome;
    }
    prefix = {};
  }
  while (remaining > 0) {
    const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(remaining, BufferPool::kSize));
    std::size_t n = 0;
    const char* from = nullptr;
    const bool buffered = in_buffer.size() > 0;
    if (buffered) {
      // Body bytes that arrived with the head: sent from where they are (a
      // small body never takes a relay buffer).
      n = std::min(want, in_buffer.size());
      from = static_cast<const char*>(in_buffer.data().data());
    } else {
      const bool by_rate = in_side.arm_read(in, outcome.bytes);
      auto [ec, got] = co_await in.async_read_some(asio::buffer(buffer->get(), want), use_tuple);
      if (ec) {
        outcome.result = in_side.read_failure(ec, by_rate);
        co_return outcome;
      }
      n = got;
      from = buffer->get();
    }
    outcome.bytes += n;
    if (limit != 0 && outcome.bytes > limit) {
      outcome.result = RelayResult::too_large;
      co_return outcome;
    }
    out.expires_after(out_side.timeout);
    const std::array<asio::const_buffer, 2> pieces{asio::buffer(prefix.data(), prefix.size()), asio::buffer(from, n)};
    auto [ec, written] = co_await asio::async_write(out, pieces, use_tuple);
    prefix = {};
    if (buffered) in_buffer.consume(n);
    if (ec) {
      outcome.result = ec == beast::error::timeout ? out_side.on_timeout : out_side.on_error;
      co_return outcome;
    }
    remaining -= n;
  }
  outcome.complete = true;
  co_return outcome;
}

// A body whose framing changes on the way (chunked in, or until the peer
// closes): Beast's parser decodes it into the fixed buffer, and each piece
// leaves as it came, in its own chunk when `chunked` (then a last-chunk), or
// as it is. `prefix` (a message head) as in relay_exact.
template <bool isRequest>
asio::awaitable<RelayOutcome> relay_decoded(net::Stream& in, beast::flat_buffer& in_buffer,
                                            bhttp::parser<isRequest, bhttp::buffer_body>& p, Side in_side,
                                            net::Stream& out, Side out_side, RelayBuffer& buffer, std::uint64_t limit,
                                            bool chunked, std::string_view prefix) {
  RelayOutcome outcome;
  auto send = [&](std::string_view size_line, const char* data, std::size_t n,
                  std::string_view tail) -> asio::awaitable<bool> {
    out.expires_after(out_side.timeout);
    const std::array<asio::const_buffer, 4> pieces{asio::buffer(prefix.data(), prefix.size()),
                                                   asio::buffer(size_line.data(), size_line.size()),
                                                   asio::buffer(data, n), asio::buffer(tail.data(), tail.size())};
    auto [ec, written] = co_await asio::async_write(out, pieces, use_tuple);
    prefix = {};
    if (ec) outcome.result = ec == beast::error::timeout ? out_side.on_timeout : out_side.on_error;
    co_return !ec;
  };
  if (!prefix.empty() && in_buffer.size() == 0 && !co_await send({}, nullptr, 0, {})) co_return outcome;
  auto& body = p.get().body();
  while (!p.is_done()) {
    body.data = buffer->get();
    body.size = BufferPool::kSize;
    const bool by_rate = in_side.arm_read(in, outcome.bytes);
    auto [ec, n] = co_await bhttp::async_read_some(in, in_buffer, p, use_tuple);
    if (ec == bhttp::error::need_buffer) ec = {};
    if (ec == bhttp::error::body_limit) {
      outcome.result = RelayResult::too_large;  // a chunk size over what is left of the limit
      co_return outcome;
    }
    if (ec) {
      outcome.result = in_side.read_failure(ec, by_rate);
      co_return outcome;
    }
    const std::size_t got = BufferPool::kSize - body.size;
    if (got == 0) continue;  // only framing was parsed (a chunk header, the last-chunk)
    outcome.bytes += got;
    if (limit != 0 && outcome.bytes > limit) {
      outcome.result = RelayResult::too_large;
      co_return outcome;
    }
    char size_line[24];
    std::size_t line = 0;
    if (chunked) {
      line = static_cast<std::size_t>(std::to_chars(size_line, size_line + 16, got, 16).ptr - size_line);
      size_line[line++] = '\r';
      size_line[line++] = '\n';
    }
    if (!co_await send({size_line, line}, buffer->get(), got, chunked ? "\r\n" : "")) co_return outcome;
  }
  if ((chunked || !prefix.empty()) && !co_await send(chunked ? "0\r\n\r\n" : "", nullptr, 0, {})) co_return outcome;
  outcome.complete = true;
  co_return outcome;
}

asio::awaitable<void> pipe(net::Stream& from, net::Stream& to, config::Duration idle) {
  std::unique_ptr<char[]> buf(new char[16 * 1024]);
  for (;;) {
    from.expires_after(idle);
    auto [ec, n] = co_await from.async_read_some(asio::buffer(buf.get(), 16 * 1024), use_tuple);
    if (ec) break;
    to.expires_after(idle);
    auto [wec, wn] = co_await asio::async_write(to, asio::buffer(buf.get(), n), use_tuple);
    if (wec) break;
  }
  // Either side ending ends the tunnel: closing both wakes the other direction.
  from.close();
  to.close();
}

asio::awaitable<bool> flush(beast::flat_buffer& pending, net::Stream& to, config::Duration idle) {
  if (pending.size() == 0) co_return true;
  to.expires_after(idle);
  auto [ec, n] = co_await asio::async_write(to, pending.data(), use_tuple);
  pending.consume(pending.size());
  co_return !ec;
}

}  // namespace

core::Reason relay_failure_reason(RelayResult result) {
  switch (result) {
    case RelayResult::too_large: return core::Reason::body_too_large;
    case RelayResult::client_timeout: return core::Reason::client_body_timeout;
    case RelayResult::client_too_slow: return core::Reason::client_body_too_slow;
    case RelayResult::client_error: return core::Reason::client_body_error;
    case RelayResult::peer_timeout: return core::Reason::upstream_send_timeout;
    default: return core::Reason::upstream_write_failed;
  }
}

asio::awaitable<RelayOutcome> read_request_body(net::Stream& client, beast::flat_buffer& client_buffer,
                                                std::uint64_t length, std::string& out, const config::Limits& limits) {
  RelayOutcome outcome;
  const Side side = client_body_side(limits);
  out.resize(static_cast<std::size_t>(length));
  std::size_t have = std::min<std::size_t>(out.size(), client_buffer.size());
  std::memcpy(out.data(), client_buffer.data().data(), have);
  client_buffer.consume(have);
  while (have < out.size()) {
    const bool by_rate = side.arm_read(client, have);
    auto [ec, n] = co_await client.async_read_some(asio::buffer(out.data() + have, out.size() - have), use_tuple);
    if (ec) {
      outcome.bytes = have;
      outcome.result = side.read_failure(ec, by_rate);
      co_return outcome;
    }
    have += n;
  }
  outcome.bytes = have;
  outcome.complete = true;
  co_return outcome;
}

asio::awaitable<RelayOutcome> relay_request_body(net::Stream& client, beast::flat_buffer& client_buffer,
                                                 bhttp::request_parser<bhttp::buffer_body>& parser,
                                                 net::Stream& upstream, RelayBuffer& buffer,
                                                 const config::Limits& limits, const config::Upstream& up) {
  return relay_decoded<true>(client, client_buffer, parser, client_body_side(limits), upstream,
                             Side{up.send_timeout, RelayResult::peer_timeout, RelayResult::peer_error}, buffer,
                             limits.max_body_size, true, {});
}

asio::awaitable<RelayOutcome> relay_response_body(net::Stream& upstream, beast::flat_buffer& upstream_buffer,
                                                  bhttp::response_parser<bhttp::buffer_body>& parser,
                                                  net::Stream& client, std::string_view head, bool chunked,
                                                  RelayBuffer& buffer, const config::Limits& limits,
                                                  const config::Upstream& up) {
  return relay_decoded<false>(upstream, upstream_buffer, parser,
                              Side{up.read_timeout, RelayResult::peer_timeout, RelayResult::peer_error}, client,
                              Side{limits.client_body_timeout, RelayResult::client_timeout, RelayResult::client_error},
                              buffer, 0, chunked, head);
}

// Not coroutines themselves: one coroutine frame per body, not two.
asio::awaitable<RelayOutcome> relay_request_exact(net::Stream& client, beast::flat_buffer& client_buffer,
                                                  std::uint64_t length, net::Stream& upstream, RelayBuffer& buffer,
                                                  const config::Limits& limits, const config::Upstream& up) {
  return relay_exact(client, client_buffer, length, client_body_side(limits), upstream,
                     Side{up.send_timeout, RelayResult::peer_timeout, RelayResult::peer_error}, buffer,
                     limits.max_body_size, RelayOutcome{}, {});
}

asio::awaitable<RelayOutcome> relay_response_exact(net::Stream& upstream, beast::flat_buffer& upstream_buffer,
                                                   std::uint64_t length, net::Stream& client, std::string_view head,
                                                   RelayBuffer& buffer, const config::Limits& limits,
                                                   const config::Upstream& up) {
  return relay_exact(upstream, upstream_buffer, length,
                     Side{up.read_timeout, RelayResult::peer_timeout, RelayResult::peer_error}, client,
                     Side{limits.client_body_timeout, RelayResult::client_timeout, RelayResult::client_error}, buffer,
                     0, RelayOutcome{}, head);
}

asio::awaitable<void> run_tunnel(net::Stream& client, beast::flat_buffer& client_buffer, net::Stream& upstream,
                                 beast::flat_buffer& upstream_buffer, config::Duration idle) {
  using namespace asio::experimental::awaitable_operators;
  if (!co_await flush(client_buffer, upstream, idle) || !co_await flush(upstream_buffer, client, idle)) {
    client.close();
    upstream.close();
    co_return;
  }
  co_await (pipe(client, upstream, idle) && pipe(upstream, client, idle));
}

}  // namespace airgate::upstream
