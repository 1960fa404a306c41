// The limits section: sizes, timeouts and connection caps.
#include "config/sections.hpp"

#include "config/units.hpp"

namespace airgate::config {

void parse_limits(Reader& rd, const Val& v, Limits& out) {
  const Fields f = rd.fields(v, "limits");
  if (auto s = f.get("max_body_size")) rd.read_size(*s, 0, out.max_body_size);
  if (auto s = f.get("max_header_size")) rd.read_size(*s, 1024, out.max_header_size);
  if (auto d = f.get("handshake_timeout")) rd.read_duration(*d, false, out.handshake_timeout);
  if (auto d = f.get("client_header_timeout")) rd.read_duration(*d, false, out.client_header_timeout);
  if (auto d = f.get("client_body_timeout")) rd.read_duration(*d, false, out.client_body_timeout);
  if (auto d = f.get("keepalive_timeout")) rd.read_duration(*d, false, out.keepalive_timeout);
  if (auto n = f.get("max_connections")) {
    std::size_t count = 0;
    if (rd.read_count(*n, 1, 100000000, count)) out.max_connections = count;
  }
  if (auto s = f.get("client_body_buffer_size")) {
    rd.read_size(*s, 0, out.client_body_buffer_size);
    if (out.client_body_buffer_size > 16ull * 1024 * 1024)
      rd.error(*s, "must be at most 16 MiB (it is held in memory for every request that uploads), got " +
                       format_size(out.client_body_buffer_size));
  }
  if (auto s = f.get("client_body_min_rate")) rd.read_size(*s, 0, out.client_body_min_rate);
  if (auto n = f.get("max_uploads_per_client")) rd.read_count(*n, 0, 100000000, out.max_uploads_per_client);
  if (auto n = f.get("http2_max_concurrent_streams")) rd.read_count(*n, 1, 1000, out.http2_max_concurrent_streams);
}

}  // namespace airgate::config
