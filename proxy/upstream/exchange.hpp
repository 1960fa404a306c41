// One request's trip to the upstream, up to the response head: take a pooled
// connection or connect, send the request head (with a body already read into
// memory), stream a request body from the client, read the response head
// (interim 1xx other than 101 skipped). A pooled connection that the upstream
// closed meanwhile fails on the first write, or answers with an EOF instead of
// a response: the exchange is then retried once on a fresh connection, as
// long as no body byte was consumed.
//
// What happens with the response (the client's side, the relay, the pool) is
// the caller's.
#pragma once

#include "config/config.hpp"
#include "core/reason.hpp"
#include "http/response_parser.hpp"
#include "net/stream.hpp"
#include "upstream/pool.hpp"
#include "upstream/relay.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>

#include <optional>
#include <string_view>

namespace airgate::upstream {

using RequestParser = bhttp::request_parser<bhttp::buffer_body>;
// The response head's fields are in parser.fields() (flat), not in get().
using ResponseParser = http::ResponseParser;

// A request body streamed from the client to the upstream after the head:
// decoded and sent on chunked when the parser says chunked, else exactly
// its Content-Length bytes.
struct StreamedBody {
  net::Stream& client;
  boost::beast::flat_buffer& client_buffer;  // holds what the client sent after the head
  RequestParser& parser;
};

struct ExchangeRequest {
  const Peer& peer;
  std::string_view head;             // the request head for the upstream
  std::string_view body;             // a body read into memory, or empty
  StreamedBody* streamed = nullptr;  // a body streamed from the client, or null
  bool head_method = false;          // HEAD: no response body follows the head
  const config::Limits& limits;
};

struct ExchangeResult {
  // Set on success: the connection (its response head read) and the head.
  std::optional<net::Stream> stream;
  std::optional<ResponseParser> response;
  // Set on failure (no stream): the reason; `connect` says why connecting
  // failed, `body` (when its result is not ok) why the streamed body failed.
  std::optional<core::Reason> failure;
  ConnectFailure connect = ConnectFailure::none;
  // The streamed request body, once it was relayed (bytes passed on, whether
  // all of it went through, how it ended).
  std::optional<RelayOutcome> body;
};

// The Reason of a connect failure.
core::Reason connect_failure_reason(ConnectFailure f);

// `read_buffer` receives what the upstream sent after the response head;
// `relay` is the fixed buffer the streamed body goes through. Both stay the
// caller's, for the response that follows.
boost::asio::awaitable<void> exchange(Pool& pool, const ExchangeRequest& req, boost::beast::flat_buffer& read_buffer,
                                      RelayBuffer& relay, ExchangeResult& out);

}  // namespace airgate::upstream
