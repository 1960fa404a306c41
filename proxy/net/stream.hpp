// One stream type for plain TCP and TLS, client side and upstream side, so the
// session and relay code is written (and compiled) once.
//
// TLS runs on OpenSSL directly over the non-blocking socket (our own BIO that
// calls recv/send on the descriptor): no second pair of record buffers, no
// copy through a BIO pair, one syscall per TLS record. OpenSSL's own buffers
// are released while a connection is idle (SSL_MODE_RELEASE_BUFFERS), so an
// idle TLS connection holds the SSL object and little else.
//
// A third kind: a Channel (net/channel.hpp), the in-process pipe through
// which an HTTP/2 stream's Session reads its request and writes its response;
// the same operations, no socket.
//
// Timeouts: expires_after() sets a deadline that applies while an operation
// is pending. One sweep timer per io_context (Deadlines, in stream.cpp)
// closes the socket of a stream whose deadline passed; its pending and later
// operations then complete with beast::error::timeout. Setting a deadline is
// a store, not a timer syscall.
#pragma once

#include "net/channel.hpp"

#include <openssl/ssl.h>
#include <boost/asio/compose.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/system/error_code.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstring>
#include <memory>
#include <string>

namespace airgate::net {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;
using Clock = std::chrono::steady_clock;

class Deadlines;

namespace detail {

// What one non-blocking OpenSSL call asks for next.
enum class Want { done, read, write };

struct Step {
  Want want = Want::done;
  error_code ec;
  std::size_t bytes = 0;
};

// The state of one connection. Heap-allocated (Stream is a handle), so its
// address is stable for OpenSSL's BIO and the deadline list.
struct StreamState {
  StreamState(tcp::socket s, SSL_CTX* ctx, bool server);
  ~StreamState();
  StreamState(const StreamState&) = delete;
  StreamState& operator=(const StreamState&) = delete;

  tcp::socket socket;
  SSL* ssl = nullptr;
  std::shared_ptr<Channel> channel;  // set: the stream is an in-process channel, `socket` stays closed
  std::string prefix;                // bytes read before the TLS handshake (after a PROXY header)
  // BIO results of the last OpenSSL call.
  bool eof = false;
  int sys_error = 0;

  // Deadline bookkeeping (owned by Deadlines).
  Deadlines* deadlines = nullptr;
  Clock::time_point deadline = Clock::time_point::max();
  StreamState* prev = nullptr;
  StreamState* next = nullptr;
  bool linked = false;
  int pending = 0;
  bool timed_out = false;

  void begin_op();
  void end_op();
  error_code translate(error_code ec) const;

  // One attempt of each TLS operation (never blocks).
  Step tls_read(void* data, std::size_t size);
  Step tls_write(const void* data, std::size_t size);
  Step tls_handshake();
  Step tls_shutdown();
  Step drain();  // read and discard until EOF

  // One attempt of each channel operation.
  Step channel_read(void* data, std::size_t size);
  Step channel_write(const void* data, std::size_t size);
};

// A channel operation parked until the other side acts: posts the composed
// operation (StepOp, below) to run its step again.
template <class Self>
struct ParkedOp : ChannelWaiter {
  ParkedOp(Self&& self, tcp::socket::executor_type ex) : self(std::move(self)), ex(std::move(ex)) {}
  Self self;
  tcp::socket::executor_type ex;
  void wake() override { asio::post(ex, std::move(self)); }
};

// Up to one TLS record of a buffer sequence in one contiguous piece: the
// first buffer as it is when it is large or alone, else the leading buffers
// copied into a per-thread scratch area (one record, one send for a response
// head and its first body bytes).
struct WriteChunk {
  const void* data = nullptr;
  std::size_t size = 0;
  bool scratch = false;
};
char* write_scratch();
constexpr std::size_t kScratch = 16 * 1024;

template <class ConstBuffers>
WriteChunk gather(const ConstBuffers& buffers) {
  auto it = asio::buffer_sequence_begin(buffers);
  const auto end = asio::buffer_sequence_end(buffers);
  while (it != end && asio::const_buffer(*it).size() == 0) ++it;
  if (it == end) return {};
  asio::const_buffer first(*it);
  auto second = it;
  ++second;
  while (second != end && asio::const_buffer(*second).size() == 0) ++second;
  if (second == end || first.size() >= kScratch / 2) return {first.data(), first.size(), false};
  char* out = write_scratch();
  std::size_t used = 0;
  for (; it != end && used < kScratch; ++it) {
    asio::const_buffer b(*it);
    const std::size_t n = std::min(b.size(), kScratch - used);
    std::memcpy(out + used, b.data(), n);
    used += n;
  }
  return {out, used, true};
}

// A stream operation as an Asio composed operation: try the step; when it
// asks to wait, wait (a socket: for readiness, as OpenSSL asks; a channel:
// parked in the channel until the other side acts), then try again. An
// immediate result is posted, never delivered inside the initiating call.
// (The operations are composed without an I/O object: the socket wait, the
// parked operation's post or the result's post each count as outstanding
// work, so no executor work guard needs to be copied around.)
template <bool WithSize, class StepFn>
struct StepOp {
  StreamState* s;
  StepFn step;
  int state = 0;  // 0 start, 1 waited, 2 result posted
  Step result;

  template <class Self>
  void operator()(Self& self, error_code ec = {}) {
    if (state == 2) return finish(self);
    if (state == 0) {
      s->begin_op();
    } else if (ec) {
      result = Step{Want::done, s->translate(ec), 0};
      return finish(self);
    }
    result = step(*s);
    if (result.want != Want::done) {
      state = 1;
      wait(self);
      return;
    }
    result.ec = s->translate(result.ec);
    if (state == 0) {
      state = 2;
      asio::post(s->socket.get_executor(), std::move(self));
      return;
    }
    finish(self);
  }

  template <class Self>
  void wait(Self& self) {
    const bool read = result.want == Want::read;
    if (!s->channel) {
      s->socket.async_wait(read ? tcp::socket::wait_read : tcp::socket::wait_write, std::move(self));
      return;
    }
    auto parked = std::make_unique<ParkedOp<Self>>(std::move(self), s->socket.get_executor());
    if (read)
      s->channel->park_reader(std::move(parked));
    else
      s->channel->park_writer(std::move(parked));
  }

  template <class Self>
  void finish(Self& self) {
    s->end_op();
    if constexpr (WithSize)
      self.complete(result.ec, result.bytes);
    else
      self.complete(result.ec);
  }
};

// A plain socket operation with the deadline applied and its error translated.
template <class Initiate>
struct SocketOp {
  StreamState* s;
  Initiate initiate;

  template <class Self>
  void operator()(Self& self) {
    s->begin_op();
    initiate(s->socket, std::move(self));
  }
  template <class Self, class... Rest>
  void operator()(Self& self, error_code ec, Rest&&... rest) {
    s->end_op();
    self.complete(s->translate(ec), std::forward<Rest>(rest)...);
  }
};

}  // namespace detail

class Stream {
 public:
  using executor_type = tcp::socket::executor_type;
  enum class Role { server, client };

  // Plain TCP.
  explicit Stream(tcp::socket socket);
  // TLS over `socket` with a new SSL object from `ctx`.
  Stream(tcp::socket socket, SSL_CTX* ctx, Role role);
  // An in-process channel; `unopened` only gives the executor.
  Stream(tcp::socket unopened, std::shared_ptr<Channel> channel);
  Stream(Stream&&) noexcept = default;
  Stream& operator=(Stream&&) noexcept = default;
  ~Stream() = default;

  bool is_tls() const { return s_->ssl != nullptr; }
  // The socket is open (a channel: the session has not closed it).
  bool is_open() const { return s_->channel ? !s_->channel->closed_by_session() : s_->socket.is_open(); }
  // The handshake negotiated HTTP/2 by ALPN.
  bool alpn_h2() const {
    if (!s_->ssl) return false;
    const unsigned char* p = nullptr;
    unsigned len = 0;
    SSL_get0_alpn_selected(s_->ssl, &p, &len);
    return len == 2 && p[0] == 'h' && p[1] == '2';
  }
  tcp::socket& socket() { return s_->socket; }
  SSL* ssl() { return s_->ssl; }
  // The exchange failed after its response started: a channel tells its
  // connection that what was written is incomplete, whatever its framing
  // said (the stream is reset); a socket has nothing to tell (closing it
  // says it). Then close() as usual.
  void abort_response() {
    if (s_->channel) s_->channel->session_abort();
  }
  executor_type get_executor() { return s_->socket.get_executor(); }

  // The deadline of the operations pending now and started from now on.
  void expires_after(Clock::duration d);
  void expires_never();

  // Bytes that were read from the socket but belong to the TLS handshake.
  void set_prefix(const void* data, std::size_t size) { s_->prefix.assign(static_cast<const char*>(data), size); }

  template <class MutableBuffers, class Token>
  auto async_read_some(const MutableBuffers& buffers, Token&& token) {
    auto* s = s_.get();
    if (!s->ssl && !s->channel) return async_plain_read_some(buffers, std::forward<Token>(token));
    asio::mutable_buffer b;
    for (auto it = asio::buffer_sequence_begin(buffers); it != asio::buffer_sequence_end(buffers); ++it)
      if (asio::mutable_buffer(*it).size() != 0) {
        b = asio::mutable_buffer(*it);
        break;
      }
    if (s->channel) {
      auto step = [b](detail::StreamState& st) {
        if (b.size() == 0) return detail::Step{};
        return st.channel_read(b.data(), b.size());
      };
      return asio::async_compose<Token, void(error_code, std::size_t)>(
          detail::StepOp<true, decltype(step)>{s, step, 0, {}}, token);
    }
    auto step = [b](detail::StreamState& st) {
      if (b.size() == 0) return detail::Step{};
      return st.tls_read(b.data(), b.size());
    };
    return asio::async_compose<Token, void(error_code, std::size_t)>(
        detail::StepOp<true, decltype(step)>{s, step, 0, {}}, token);
  }

  template <class ConstBuffers, class Token>
  auto async_write_some(const ConstBuffers& buffers, Token&& token) {
    auto* s = s_.get();
    if (s->channel) {
      auto step = [buffers](detail::StreamState& st) {
        detail::Step total{};
        for (auto it = asio::buffer_sequence_begin(buffers); it != asio::buffer_sequence_end(buffers); ++it) {
          asio::const_buffer b(*it);
          if (b.size() == 0) continue;
          auto r = st.channel_write(b.data(), b.size());
          if (r.ec) return total.bytes ? total : r;
          if (r.want != detail::Want::done) return total.bytes ? total : r;
          total.bytes += r.bytes;
          if (r.bytes < b.size()) break;  // full
        }
        return total;
      };
      return asio::async_compose<Token, void(error_code, std::size_t)>(
          detail::StepOp<true, decltype(step)>{s, step, 0, {}}, token);
    }
    if (!s->ssl) {
      auto initiate = [buffers](tcp::socket& socket, auto handler) {
        socket.async_write_some(buffers, std::move(handler));
      };
      return asio::async_compose<Token, void(error_code, std::size_t)>(
          detail::SocketOp<decltype(initiate)>{s, initiate}, token);
    }
    return asio::async_compose<Token, void(error_code, std::size_t)>(
        detail::StepOp<true, TlsWrite<ConstBuffers>>{s, TlsWrite<ConstBuffers>{buffers}, 0, {}}, token);
  }

  // Plain socket read, also on a TLS stream (the PROXY protocol header
  // arrives before the handshake).
  template <class MutableBuffers, class Token>
  auto async_plain_read_some(const MutableBuffers& buffers, Token&& token) {
    auto* s = s_.get();
    auto initiate = [buffers](tcp::socket& socket, auto handler) {
      socket.async_read_some(buffers, std::move(handler));
    };
    return asio::async_compose<Token, void(error_code, std::size_t)>(detail::SocketOp<decltype(initiate)>{s, initiate},
                                                                     token);
  }

  template <class Endpoints, class Token>
  auto async_connect(const Endpoints& endpoints, Token&& token) {
    auto* s = s_.get();
    auto initiate = [endpoints](tcp::socket& socket, auto handler) {
      asio::async_connect(socket, endpoints, std::move(handler));
    };
    return asio::async_compose<Token, void(error_code, tcp::endpoint)>(
        detail::SocketOp<decltype(initiate)>{s, initiate}, token);
  }

  template <class Token>
  auto async_handshake(Token&& token) {
    auto step = [](detail::StreamState& st) { return st.tls_handshake(); };
    return asio::async_compose<Token, void(error_code)>(detail::StepOp<false, decltype(step)>{s_.get(), step, 0, {}},
                                                        token);
  }

  // One read attempt that never waits.
  enum class TryRead {
    data,     // `bytes` were read
    nothing,  // nothing to read: the socket (or OpenSSL's buffer) was empty
    busy,     // OpenSSL must write first: use async_read_some
    failed,   // EOF or an error, in `ec`
  };
  TryRead try_read_some(asio::mutable_buffer buffer, std::size_t& bytes, error_code& ec);

  // Completes when the socket becomes readable, without holding a buffer
  // meanwhile: the wait of an idle keep-alive connection. Only after a read
  // found nothing (try_read_some: nothing), so the readiness edge that
  // wakes it is still to come.
  template <class Token>
  auto async_wait_readable(Token&& token) {
    if (s_->channel) {
      auto step = [](detail::StreamState& st) {
        if (st.timed_out || st.channel->readable() || st.channel->ended_by_connection() ||
            st.channel->closed_by_session())
          return detail::Step{};
        return detail::Step{detail::Want::read, {}, 0};
      };
      return asio::async_compose<Token, void(error_code)>(detail::StepOp<false, decltype(step)>{s_.get(), step, 0, {}},
                                                          token);
    }
    auto step = [waited = false](detail::StreamState&) mutable {
      if (waited) return detail::Step{};  // woken by the reactor: readable
      waited = true;
      return detail::Step{detail::Want::read, {}, 0};
    };
    return asio::async_compose<Token, void(error_code)>(detail::StepOp<false, decltype(step)>{s_.get(), step, 0, {}},
                                                        token);
  }

  // Sends close_notify; with `linger`, then reads and discards what the peer
  // still sends until it closes (so a reply sent before an unread request
  // body is not lost to a reset). Bounded by the deadline.
  template <class Token>
  auto async_shutdown(bool linger, Token&& token) {
    auto step = [linger, sent = false](detail::StreamState& st) mutable {
      if (st.channel) return detail::Step{};  // nothing to say or drain in-process
      if (!sent && st.ssl) {
        auto r = st.tls_shutdown();
        if (r.want != detail::Want::done || r.ec || !linger) return r;
        sent = true;
      }
      return st.drain();
    };
    return asio::async_compose<Token, void(error_code)>(detail::StepOp<false, decltype(step)>{s_.get(), step, 0, {}},
                                                        token);
  }

  // Closes the socket at once (no TLS close_notify).
  void close();

 private:
  // The bytes must stay the same when OpenSSL asks for a write to be
  // retried: a chunk gathered into the shared scratch area is copied into
  // the operation then.
  template <class B>
  struct TlsWrite {
    B buffers;
    detail::WriteChunk chunk{};
    bool gathered = false;
    std::shared_ptr<char[]> own{};
    detail::Step operator()(detail::StreamState& st) {
      if (!gathered) {
        chunk = detail::gather(buffers);
        gathered = true;
      }
      if (chunk.size == 0) return detail::Step{};
      auto r = st.tls_write(chunk.data, chunk.size);
      if (r.want != detail::Want::done && chunk.scratch) {
        own.reset(new char[chunk.size]);
        std::memcpy(own.get(), chunk.data, chunk.size);
        chunk.data = own.get();
        chunk.scratch = false;
      }
      return r;
    }
  };

  std::unique_ptr<detail::StreamState> s_;
};

}  // namespace airgate::net
