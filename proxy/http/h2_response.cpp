// HTTP/2 responses: the stream's Session answers in HTTP/1.1 through the
// channel; its head becomes HEADERS, its body DATA as the client's window
// allows; a response cut short is RST_STREAM, never END_STREAM.
#include "http/h2_connection_impl.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <cstring>

namespace airgate::http {

using namespace h2;

namespace {

// Values that differ from one response to the next: indexing them in the
// HPACK table (libnghttp2 does, unless told not to) would fill it with
// entries never used again, evicting the ones that repeat (server,
// content-type) and keeping up to its 4 KiB with every idle connection.
// libnghttp2 already leaves set-cookie, content-length, etag and location
// out.
bool unique_per_response(std::string_view name) { return name == "x-request-id" || name == "date"; }

bool hop_by_hop(std::string_view name) {
  return name == "connection" || name == "keep-alive" || name == "proxy-connection" || name == "transfer-encoding" ||
         name == "upgrade" || name == "te";
}

}  // namespace

// The session read, wrote or closed: the DATA it took goes back into the
// client's window, its response head becomes HEADERS, its body waits in the
// channel for nghttp2 (read_body) while the client's window allows.
void H2Connection::on_channel(H2Stream& st) {
  give_back(st, st.channel->take_consumed_data());
  while (!st.head_done && !st.failed && next_head(st)) {
  }
  if (!st.failed && st.channel->aborted_by_session()) {
    // The session dropped the exchange after its response started (the
    // upstream failed mid-body): reset, whatever the framing said.
    fail_response(st, "the response was cut short");
  } else if (!st.failed) {
    const bool closed = st.channel->closed_by_session();
    if (!st.head_done) {
      // The session dropped the exchange before answering (a timeout, an
      // upstream that failed before its head).
      if (closed) fail_response(st, "no response");
    } else if (st.no_body) {
      st.channel->take_output(st.channel->output().size());  // nothing of it is sent
    } else if (st.deferred && (st.buffered() > 0 || closed)) {
      st.deferred = false;
      nghttp2_session_resume_data(ng_, st.id);
    }
  }
  flush();
}

void H2Connection::fail_response(H2Stream& st, std::string_view why) {
  spdlog::debug("{}: HTTP/2 stream {} reset: {}", conn_->peer_address_, st.id, why);
  st.failed = true;
  if (!st.response_complete) reset(st, NGHTTP2_INTERNAL_ERROR);
}

// One response head at the start of the channel's output (airgate's own
// writing: an informational one, 100 Continue, or the final one), taken out
// of the channel and submitted. False when none is complete yet.
bool H2Connection::next_head(H2Stream& st) {
  const std::string_view out = st.channel->output();
  if (out.empty()) return false;
  if (st.head.empty()) {
    if (const auto end = out.find("\r\n\r\n"); end != std::string_view::npos) {
      const bool ok = submit_head(st, out.substr(0, end + 4));  // copies what it keeps
      st.channel->take_output(end + 4);
      return ok;
    }
  }
  // A head in pieces is collected apart, so the channel has room for the rest.
  const std::size_t before = st.head.size();
  st.head.append(out);
  const auto end = st.head.find("\r\n\r\n", before >= 3 ? before - 3 : 0);
  if (end == std::string::npos) {
    st.channel->take_output(out.size());
    if (st.head.size() > kMaxResponseHead) fail_response(st, "response head too large");
    return false;
  }
  st.channel->take_output(end + 4 - before);
  st.head.resize(end + 4);
  const bool ok = submit_head(st, st.head);
  st.head.clear();
  return ok;
}

// A response head as HTTP/2 HEADERS: status, names lowercased, hop-by-hop
// fields dropped. Parsed in a copy (scratch_), lowercased in place, so
// nothing is allocated once the buffers have grown; nghttp2 copies the list.
bool H2Connection::submit_head(H2Stream& st, std::string_view text) {
  int status = 0;
  if (text.size() >= 12 && text.substr(0, 5) == "HTTP/") {
    for (std::size_t i = 9; i < 12; ++i) status = status * 10 + (text[i] - '0');
  }
  if (status < 100 || status > 599) {
    fail_response(st, "the response has no valid status line");
    return false;
  }
  scratch_.assign(text);
  const std::string_view head = scratch_;
  char status_text[3] = {head[9], head[10], head[11]};
  nva_.clear();
  auto nv = [](std::string_view n, std::string_view v) {
    return nghttp2_nv{
        reinterpret_cast<std::uint8_t*>(const_cast<char*>(n.data())),
        reinterpret_cast<std::uint8_t*>(const_cast<char*>(v.data())), n.size(), v.size(),
        unique_per_response(n) ? std::uint8_t{NGHTTP2_NV_FLAG_NO_INDEX} : std::uint8_t{NGHTTP2_NV_FLAG_NONE}};
  };
  nva_.push_back(nv(":status", std::string_view(status_text, 3)));
  std::optional<std::uint64_t> length;
  for (std::size_t at = head.find("\r\n") + 2; at < head.size();) {
    const auto eol = head.find("\r\n", at);
    if (eol == std::string_view::npos || eol == at) break;
    const std::string_view line = head.substr(at, eol - at);
    const std::size_t line_at = at;
    at = eol + 2;
    const auto colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) continue;
    for (std::size_t i = line_at; i < line_at + colon; ++i)
      scratch_[i] = static_cast<char>(std::tolower(static_cast<unsigned char>(scratch_[i])));
    const std::string_view name = line.substr(0, colon);
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
    if (hop_by_hop(name)) continue;
    if (name == "content-length") {
      std::uint64_t v = 0;
      for (char c : value) v = v * 10 + static_cast<std::uint64_t>(c - '0');
      length = v;
    }
    nva_.push_back(nv(name, value));
  }

  if (status < 200) {
    // 100 Continue (the session answers Expect after access and limits) and
    // 103; a 101 never comes (no upgrade over HTTP/2).
    if (status != 101)
      nghttp2_submit_headers(ng_, NGHTTP2_FLAG_NONE, st.id, nullptr, nva_.data(), nva_.size(), nullptr);
    return true;
  }
  st.head_done = true;
  st.no_body = st.head_request || status == 204 || status == 304 || (length && *length == 0);
  st.remaining = length;
  if (st.no_body) {
    nghttp2_submit_response(ng_, st.id, nva_.data(), nva_.size(), nullptr);
    return true;
  }
  nghttp2_data_provider provider{};
  provider.source.ptr = &st;
  provider.read_callback = read_body;
  nghttp2_submit_response(ng_, st.id, nva_.data(), nva_.size(), &provider);
  return true;
}

// nghttp2 wants body bytes for DATA: straight from the channel. Taking them
// makes room there, so the session's waiting write moves on.
ssize_t H2Connection::read_body(nghttp2_session*, std::int32_t, std::uint8_t* buf, std::size_t length,
                                std::uint32_t* flags, nghttp2_data_source* source, void*) {
  auto& st = *static_cast<H2Stream*>(source->ptr);
  const std::string_view out = st.channel->output();
  std::size_t n = std::min(length, out.size());
  if (st.remaining) n = static_cast<std::size_t>(std::min<std::uint64_t>(n, *st.remaining));
  if (st.channel->aborted_by_session()) {
    st.failed = true;
    return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;  // RST_STREAM INTERNAL_ERROR
  }
  if (n == 0 && !st.body_sent()) {
    // The session closed before the announced length: cut short, never an
    // END_STREAM that would make it look complete (RST_STREAM INTERNAL_ERROR).
    if (st.channel->closed_by_session()) {
      st.failed = true;
      return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    }
    st.deferred = true;
    return NGHTTP2_ERR_DEFERRED;
  }
  std::memcpy(buf, out.data(), n);
  st.channel->take_output(n);
  if (st.remaining) *st.remaining -= n;
  if (st.body_sent()) *flags |= NGHTTP2_DATA_FLAG_EOF;
  return static_cast<ssize_t>(n);
}

}  // namespace airgate::http
