#include "upstream/exchange.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>

#include <algorithm>
#include <array>

namespace airgate::upstream {

namespace asio = boost::asio;
namespace beast = boost::beast;
using error_code = boost::system::error_code;
using core::Reason;

namespace {
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
}  // namespace

core::Reason connect_failure_reason(ConnectFailure f) {
  switch (f) {
    case ConnectFailure::refused: return Reason::upstream_refused;
    case ConnectFailure::timeout: return Reason::upstream_connect_timeout;
    case ConnectFailure::resolve: return Reason::upstream_resolve;
    case ConnectFailure::tls_handshake: return Reason::upstream_tls;
    default: return Reason::upstream_unreachable;
  }
}

asio::awaitable<void> exchange(Pool& pool, const ExchangeRequest& req, beast::flat_buffer& read_buffer,
                               RelayBuffer& relay, ExchangeResult& out) {
  const Peer& peer = req.peer;
  const config::Upstream& up = *peer.cfg;
  std::optional<Stream>& upstream = out.stream;
  std::optional<ResponseParser>& rp = out.response;
  auto fail = [&](Reason reason) {
    upstream.reset();
    out.failure = reason;
  };
  for (int attempt = 0;; ++attempt) {
    upstream = pool.take(peer.key);
    const bool may_retry = upstream.has_value() && attempt == 0;
    if (!upstream) {
      auto connected = co_await connect(peer);
      if (!connected.stream) {
        out.connect = connected.failure;
        co_return fail(connect_failure_reason(connected.failure));
      }
      upstream = std::move(connected.stream);
    }
    upstream->expires_after(up.send_timeout);
    // The head and a body read into memory leave in one write (one TLS
    // record, one syscall); without a body, a plain send.
    const std::array<asio::const_buffer, 2> head_and_body{asio::buffer(req.head.data(), req.head.size()),
                                                          asio::buffer(req.body.data(), req.body.size())};
    auto [wec, wn] = req.body.empty() ? co_await asio::async_write(*upstream, head_and_body[0], use_tuple)
                                      : co_await asio::async_write(*upstream, head_and_body, use_tuple);
    if (wec) {
      upstream->close();
      upstream.reset();
      if (may_retry) continue;
      co_return fail(wec == beast::error::timeout ? Reason::upstream_send_timeout : Reason::upstream_write_failed);
    }

    // Step 7: stream the request body through a fixed buffer.
    if (StreamedBody* b = req.streamed) {
      auto& p = b->parser;
      auto r = p.chunked()
                   ? co_await relay_request_body(b->client, b->client_buffer, p, *upstream, relay, req.limits, up)
                   : co_await relay_request_exact(b->client, b->client_buffer, p.content_length().value_or(0),
                                                  *upstream, relay, req.limits, up);
      out.body = r;
      if (r.result != RelayResult::ok) {
        upstream->close();
        co_return fail(relay_failure_reason(r.result));
      }
    }

    // Step 8: the response head. Interim 1xx responses other than 101 are skipped.
    error_code rec;
    for (;;) {
      rp.emplace();
      rp->header_limit(static_cast<std::uint32_t>(std::max<std::uint64_t>(req.limits.max_header_size, 64 * 1024)));
      rp->body_limit(boost::none);
      if (req.head_method) rp->skip(true);
      upstream->expires_after(up.read_timeout);
      auto [ec, n] = co_await bhttp::async_read_header(*upstream, read_buffer, *rp, use_tuple);
      if (ec) {
        rec = ec;
        break;
      }
      const unsigned status = rp->status();
      if (status >= 200 || status == 101) break;
    }
    if (!rec) co_return;
    upstream->close();
    const bool closed = rec == bhttp::error::end_of_stream || rec == asio::error::eof ||
                        rec == asio::error::connection_reset || rec == asio::error::broken_pipe ||
                        rec == asio::ssl::error::stream_truncated;
    if (closed && may_retry && !req.streamed && !rp->got_some()) {
      upstream.reset();
      read_buffer.clear();
      continue;
    }
    if (rec == beast::error::timeout) co_return fail(Reason::upstream_read_timeout);
    co_return fail(closed ? Reason::upstream_closed : Reason::upstream_bad_response);
  }
}

}  // namespace airgate::upstream
