// Upstream peers and the per-worker keep-alive pool (design §4: one pool per
// worker, so no locks on the request path).
#pragma once

#include "config/config.hpp"
#include "net/stream.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/context.hpp>

#include <chrono>
#include <deque>
#include <optional>
#include <string>
#include <unordered_map>

namespace airgate::upstream {

using net::Stream;
namespace asio = boost::asio;

// Where a request goes: the upstream config and, for https://, its TLS context.
struct Peer {
  const config::Upstream* cfg = nullptr;
  asio::ssl::context* tls = nullptr;  // null for http://
  std::string key;                    // pool identity: scheme://authority
};

enum class ConnectFailure { none, refused, unreachable, timeout, resolve, tls_handshake };

struct Connected {
  ConnectFailure failure = ConnectFailure::none;
  std::optional<Stream> stream;
};

// Resolve, connect within connect_timeout, TLS handshake (SNI + hostname
// verification) for https:// peers. TCP_NODELAY on.
asio::awaitable<Connected> connect(const Peer& peer);

class Pool {
 public:
  // An idle connection to `key` that is still open, or nullopt. Connections
  // that the upstream closed, or that have unread bytes (a response nobody
  // asked for), are dropped here: every connection is probed when taken.
  std::optional<Stream> take(const std::string& key);
  void put(const std::string& key, Stream stream, std::size_t max_idle);
  void clear();
  std::size_t idle_count() const;

 private:
  struct Idle {
    Stream stream;
    std::chrono::steady_clock::time_point since;
  };
  std::unordered_map<std::string, std::deque<Idle>> idle_;
};

// How long an idle pooled connection is kept before it is closed.
constexpr std::chrono::seconds kPoolIdleLimit{30};

}  // namespace airgate::upstream
