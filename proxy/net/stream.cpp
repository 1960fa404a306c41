#include "net/stream.hpp"

#include <openssl/err.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/error.hpp>

#include <sys/socket.h>
#include <cerrno>

namespace airgate::net {

// ---- deadlines -------------------------------------------------------------

// One per io_context (one worker thread): the streams with a pending
// operation and a deadline, in an intrusive list, and one timer that wakes at
// the earliest deadline known when it was armed. A deadline that moves later
// (the common case: every read and write pushes it forward) costs nothing; the
// sweep finds it still in the future and re-arms for the next one.
class Deadlines : public asio::execution_context::service {
 public:
  static asio::execution_context::id id;

  explicit Deadlines(asio::execution_context& ctx)
      : asio::execution_context::service(ctx), timer_(static_cast<asio::io_context&>(ctx)) {}

  void link(detail::StreamState* s) {
    s->linked = true;
    s->prev = nullptr;
    s->next = head_;
    if (head_) head_->prev = s;
    head_ = s;
    if (s->deadline < wake_) schedule(s->deadline);
  }

  void unlink(detail::StreamState* s) {
    if (s->prev)
      s->prev->next = s->next;
    else
      head_ = s->next;
    if (s->next) s->next->prev = s->prev;
    s->prev = s->next = nullptr;
    s->linked = false;
  }

  // The deadline of a linked stream moved earlier.
  void earlier(detail::StreamState* s) {
    if (s->deadline < wake_) schedule(s->deadline);
  }

 private:
  void shutdown() override { stopped_ = true; }

  void schedule(Clock::time_point at) {
    if (stopped_) return;
    wake_ = at;
    timer_.expires_at(at);
    timer_.async_wait([this](const error_code& ec) {
      if (!ec) sweep();
    });
  }

  void sweep() {
    wake_ = Clock::time_point::max();
    const auto now = Clock::now();
    auto next = Clock::time_point::max();
    for (auto* s = head_; s;) {
      auto* after = s->next;
      if (s->deadline <= now) {
        unlink(s);
        s->timed_out = true;
        error_code ec;
        s->socket.close(ec);                     // pending operations complete with operation_aborted
        if (s->channel) s->channel->wake_all();  // a parked channel operation runs and sees the timeout
      } else if (s->deadline < next) {
        next = s->deadline;
      }
      s = after;
    }
    if (next != Clock::time_point::max()) schedule(next);
  }

  asio::steady_timer timer_;
  detail::StreamState* head_ = nullptr;
  Clock::time_point wake_ = Clock::time_point::max();
  bool stopped_ = false;
};

asio::execution_context::id Deadlines::id;

namespace detail {

// ---- the BIO: OpenSSL reads and writes the socket descriptor itself --------

namespace {

int bio_write(BIO* bio, const char* data, std::size_t size, std::size_t* written) {
  auto* s = static_cast<StreamState*>(BIO_get_data(bio));
  BIO_clear_retry_flags(bio);
  for (;;) {
    const ssize_t n = ::send(s->socket.native_handle(), data, size, MSG_NOSIGNAL);
    if (n >= 0) {
      *written = static_cast<std::size_t>(n);
      return 1;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK)
      BIO_set_retry_write(bio);
    else
      s->sys_error = errno;
    return 0;
  }
}

int bio_read(BIO* bio, char* out, std::size_t size, std::size_t* got) {
  auto* s = static_cast<StreamState*>(BIO_get_data(bio));
  BIO_clear_retry_flags(bio);
  if (!s->prefix.empty()) {
    const std::size_t n = std::min(size, s->prefix.size());
    std::memcpy(out, s->prefix.data(), n);
    s->prefix.erase(0, n);
    if (s->prefix.empty()) s->prefix.shrink_to_fit();
    *got = n;
    return 1;
  }
  for (;;) {
    const ssize_t n = ::recv(s->socket.native_handle(), out, size, 0);
    if (n > 0) {
      *got = static_cast<std::size_t>(n);
      return 1;
    }
    if (n == 0) {
      s->eof = true;
      return 0;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK)
      BIO_set_retry_read(bio);
    else
      s->sys_error = errno;
    return 0;
  }
}

long bio_ctrl(BIO* bio, int cmd, long, void*) {
  switch (cmd) {
    case BIO_CTRL_FLUSH: return 1;
    case BIO_CTRL_EOF: return static_cast<StreamState*>(BIO_get_data(bio))->eof ? 1 : 0;
    default: return 0;
  }
}

int bio_create(BIO* bio) {
  BIO_set_init(bio, 1);
  return 1;
}

BIO_METHOD* bio_method() {
  static BIO_METHOD* method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "airgate socket");
    BIO_meth_set_write_ex(m, bio_write);
    BIO_meth_set_read_ex(m, bio_read);
    BIO_meth_set_ctrl(m, bio_ctrl);
    BIO_meth_set_create(m, bio_create);
    return m;
  }();
  return method;
}

}  // namespace

char* write_scratch() {
  thread_local char scratch[kScratch];
  return scratch;
}

StreamState::StreamState(tcp::socket s, SSL_CTX* ctx, bool server) : socket(std::move(s)) {
  auto& context = asio::query(socket.get_executor(), asio::execution::context);
  deadlines = &asio::use_service<Deadlines>(static_cast<asio::io_context&>(context));
  // OpenSSL calls recv/send itself and try_read_some reads at once: the
  // descriptor must not block (Asio sets O_NONBLOCK only lazily, for its own
  // operations).
  if (socket.is_open()) socket.non_blocking(true);
  if (!ctx) return;
  ssl = SSL_new(ctx);
  if (!ssl) throw std::runtime_error("SSL_new failed");
  BIO* bio = BIO_new(bio_method());
  BIO_set_data(bio, this);
  SSL_set_bio(ssl, bio, bio);
  // Read whole socket buffers instead of a 5-byte record header and then the
  // record: half the recv calls.
  SSL_set_read_ahead(ssl, 1);
  // A write that waited for the socket is retried from a copy of its bytes.
  SSL_set_mode(ssl, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  if (server)
    SSL_set_accept_state(ssl);
  else
    SSL_set_connect_state(ssl);
}

StreamState::~StreamState() {
  if (linked) deadlines->unlink(this);
  if (ssl) SSL_free(ssl);
}

// ---- channel streams ---------------------------------------------------------

Step StreamState::channel_read(void* data, std::size_t size) {
  if (timed_out) return Step{Want::done, boost::beast::error::timeout, 0};
  if (channel->closed_by_session()) return Step{Want::done, asio::error::bad_descriptor, 0};
  if (const std::size_t n = channel->session_read(data, size)) return Step{Want::done, {}, n};
  if (channel->ended_by_connection()) return Step{Want::done, asio::error::connection_reset, 0};
  return Step{Want::read, {}, 0};
}

Step StreamState::channel_write(const void* data, std::size_t size) {
  if (timed_out) return Step{Want::done, boost::beast::error::timeout, 0};
  if (channel->closed_by_session()) return Step{Want::done, asio::error::bad_descriptor, 0};
  if (channel->ended_by_connection()) return Step{Want::done, asio::error::broken_pipe, 0};
  if (const std::size_t n = channel->session_write(data, size)) return Step{Want::done, {}, n};
  return Step{Want::write, {}, 0};
}

void StreamState::begin_op() {
  ++pending;
  if (!linked && deadline != Clock::time_point::max()) deadlines->link(this);
}

void StreamState::end_op() {
  if (--pending == 0 && linked) deadlines->unlink(this);
}

error_code StreamState::translate(error_code ec) const {
  if (ec && timed_out) return boost::beast::error::timeout;
  return ec;
}

namespace {

// The outcome of an OpenSSL call that returned `ret`.
Step classify(StreamState& s, int ret, bool reading) {
  const int err = SSL_get_error(s.ssl, ret);
  Step out;
  switch (err) {
    case SSL_ERROR_WANT_READ: out.want = Want::read; return out;
    case SSL_ERROR_WANT_WRITE: out.want = Want::write; return out;
    case SSL_ERROR_ZERO_RETURN:
      out.ec = asio::error::eof;  // close_notify
      break;
    default: {
      const unsigned long e = ERR_peek_last_error();
      if (s.timed_out)
        out.ec = boost::beast::error::timeout;
      else if (s.sys_error)
        out.ec = error_code(s.sys_error, boost::system::system_category());
      else if (s.eof && (e == 0 || ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING))
        out.ec = reading ? error_code(asio::ssl::error::stream_truncated) : error_code(asio::error::eof);
      else if (e != 0)
        out.ec = error_code(static_cast<int>(e), asio::error::get_ssl_category());
      else
        out.ec = asio::error::connection_aborted;
    }
  }
  ERR_clear_error();
  return out;
}

}  // namespace

Step StreamState::tls_read(void* data, std::size_t size) {
  // One SSL_read returns one record (16 KiB at most); while read-ahead has
  // more records in OpenSSL's buffer they are taken in the same operation.
  auto* out = static_cast<char*>(data);
  std::size_t total = 0;
  for (;;) {
    std::size_t n = 0;
    const int r = SSL_read_ex(ssl, out + total, size - total, &n);
    if (r != 1) {
      if (total == 0) return classify(*this, r, true);
      // What was read is delivered; the condition shows again on the next read.
      ERR_clear_error();
      return Step{Want::done, {}, total};
    }
    total += n;
    if (total == size || !SSL_has_pending(ssl)) return Step{Want::done, {}, total};
  }
}

Step StreamState::tls_write(const void* data, std::size_t size) {
  std::size_t n = 0;
  const int r = SSL_write_ex(ssl, data, size, &n);
  if (r == 1) return Step{Want::done, {}, n};
  return classify(*this, r, false);
}

Step StreamState::tls_handshake() {
  const int r = SSL_do_handshake(ssl);
  if (r == 1) return Step{};
  return classify(*this, r, true);
}

Step StreamState::tls_shutdown() {
  const int r = SSL_shutdown(ssl);
  if (r >= 0) return Step{};  // our close_notify is out (0: the peer's not seen yet)
  auto step = classify(*this, r, false);
  if (step.want == Want::read) return Step{};  // only waiting for the peer's close_notify
  return step;
}

Step StreamState::drain() {
  char sink[4096];
  for (;;) {
    if (ssl) {
      auto r = tls_read(sink, sizeof sink);
      if (r.want != Want::done) return r;
      if (r.ec) return Step{};  // EOF, close_notify or an error: done either way
      continue;
    }
    const ssize_t n = ::recv(socket.native_handle(), sink, sizeof sink, 0);
    if (n > 0) continue;
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return Step{Want::read, {}, 0};
    return Step{};
  }
}

}  // namespace detail

// ---- Stream ----------------------------------------------------------------

Stream::Stream(tcp::socket socket) : s_(std::make_unique<detail::StreamState>(std::move(socket), nullptr, false)) {}

Stream::Stream(tcp::socket socket, SSL_CTX* ctx, Role role)
    : s_(std::make_unique<detail::StreamState>(std::move(socket), ctx, role == Role::server)) {}

Stream::Stream(tcp::socket unopened, std::shared_ptr<Channel> channel)
    : s_(std::make_unique<detail::StreamState>(std::move(unopened), nullptr, false)) {
  s_->channel = std::move(channel);
}

void Stream::expires_after(Clock::duration d) {
  auto* s = s_.get();
  const auto before = s->deadline;
  s->deadline = Clock::now() + d;
  if (s->linked && s->deadline < before) s->deadlines->earlier(s);
  if (!s->linked && s->pending > 0) s->deadlines->link(s);
}

void Stream::expires_never() {
  auto* s = s_.get();
  s->deadline = Clock::time_point::max();
  if (s->linked) s->deadlines->unlink(s);
}

Stream::TryRead Stream::try_read_some(asio::mutable_buffer buffer, std::size_t& bytes, error_code& ec) {
  auto* s = s_.get();
  bytes = 0;
  if (s->channel) {
    auto r = s->channel_read(buffer.data(), buffer.size());
    if (r.want != detail::Want::done) return TryRead::nothing;
    ec = s->translate(r.ec);
    bytes = r.bytes;
    return ec ? TryRead::failed : TryRead::data;
  }
  if (!s->ssl) {
    bytes = s->socket.read_some(buffer, ec);  // the descriptor is non-blocking
    if (!ec) return TryRead::data;
    return ec == asio::error::would_block ? TryRead::nothing : TryRead::failed;
  }
  auto r = s->tls_read(buffer.data(), buffer.size());
  if (r.want == detail::Want::read) return TryRead::nothing;
  if (r.want == detail::Want::write) return TryRead::busy;
  ec = s->translate(r.ec);
  bytes = r.bytes;
  return ec ? TryRead::failed : TryRead::data;
}

void Stream::close() {
  if (s_->channel) {
    s_->channel->session_close();
    s_->channel->wake_all();
    return;
  }
  error_code ec;
  s_->socket.shutdown(tcp::socket::shutdown_both, ec);
  s_->socket.close(ec);
}

}  // namespace airgate::net
