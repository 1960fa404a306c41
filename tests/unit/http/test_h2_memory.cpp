// libnghttp2's memory for a connection (http/h2_memory.hpp): the frame
// buffer in a page-aligned block whose pages an idle connection returns.
#include "http/h2_memory.hpp"

#include <nghttp2/nghttp2.h>
#include <catch2/catch.hpp>

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <vector>

using airgate::http::h2::FrameBufferArena;
using airgate::http::h2::SessionMemory;

namespace {

// Pages of [p, p + n) resident in memory (mincore).
std::size_t resident_pages(void* p, std::size_t n) {
  const auto page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  std::vector<unsigned char> v((n + page - 1) / page);
  REQUIRE(mincore(p, n, v.data()) == 0);
  std::size_t k = 0;
  for (unsigned char c : v) k += c & 1;
  return k;
}

bool all_zero(const void* p, std::size_t n) {
  const auto* b = static_cast<const unsigned char*>(p);
  for (std::size_t i = 0; i < n; ++i)
    if (b[i]) return false;
  return true;
}

int on_frame_sent_count = 0;
int count_sent(nghttp2_session*, const nghttp2_frame*, void*) {
  ++on_frame_sent_count;
  return 0;
}

}  // namespace

TEST_CASE("h2 memory: arena blocks are page-aligned, hold a frame buffer, return their pages", "[h2][memory]") {
  FrameBufferArena arena;
  const auto page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  REQUIRE(FrameBufferArena::block_size() >= 16 * 1024 + 10);
  REQUIRE(FrameBufferArena::block_size() % page == 0);
  void* a = arena.take();
  void* b = arena.take();
  REQUIRE(a);
  REQUIRE(b);
  CHECK(a != b);
  CHECK(reinterpret_cast<std::uintptr_t>(a) % page == 0);
  std::memset(a, 0xAB, FrameBufferArena::block_size());
  CHECK(resident_pages(a, FrameBufferArena::block_size()) == FrameBufferArena::block_size() / page);
  FrameBufferArena::release_pages(a);
  CHECK(resident_pages(a, FrameBufferArena::block_size()) == 0);
  CHECK(all_zero(a, FrameBufferArena::block_size()));  // still usable: zero-filled on touch
  const std::size_t spare = arena.free_blocks();
  arena.give(b);
  CHECK(arena.free_blocks() == spare + 1);
  CHECK(arena.take() == b);  // reused
}

TEST_CASE("h2 memory: a session's frame buffer is an arena block, released when idle, freed with the session",
          "[h2][memory]") {
  auto& arena = FrameBufferArena::for_this_thread();
  arena.give(arena.take());  // a region is mapped: the session's block comes from the free list
  const std::size_t spare = arena.free_blocks();
  SessionMemory memory;
  nghttp2_session_callbacks* cb = nullptr;
  nghttp2_session_callbacks_new(&cb);
  nghttp2_session_callbacks_set_on_frame_send_callback(cb, count_sent);
  nghttp2_mem mem = memory.mem();
  nghttp2_session* ng = nullptr;
  memory.creating(true);
  REQUIRE(nghttp2_session_server_new3(&ng, cb, nullptr, nullptr, &mem) == 0);
  memory.creating(false);
  nghttp2_session_callbacks_del(cb);
  void* fb = memory.frame_buffer();
  REQUIRE(fb);  // libnghttp2 allocated it while the session was created
  CHECK(arena.free_blocks() == spare - 1);

  // Frames are packed in it; after release it packs the next ones as well.
  auto send_all = [&] {
    memory.sending();
    std::vector<std::uint8_t> out;
    for (;;) {
      const std::uint8_t* data = nullptr;
      const auto n = nghttp2_session_mem_send(ng, &data);
      REQUIRE(n >= 0);
      if (n == 0) break;
      out.insert(out.end(), data, data + n);
    }
    return out;
  };
  const nghttp2_settings_entry settings[] = {{NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 100}};
  nghttp2_submit_settings(ng, NGHTTP2_FLAG_NONE, settings, 1);
  const auto first = send_all();
  CHECK(first.size() == 9 + 6);  // one SETTINGS frame
  CHECK(resident_pages(fb, FrameBufferArena::block_size()) > 0);
  memory.idle();
  CHECK(resident_pages(fb, FrameBufferArena::block_size()) == 0);
  std::uint8_t opaque[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  nghttp2_submit_ping(ng, NGHTTP2_FLAG_NONE, opaque);
  const auto second = send_all();
  REQUIRE(second.size() == 9 + 8);  // the PING, packed in the released pages
  CHECK(std::memcmp(second.data() + 9, opaque, 8) == 0);
  CHECK(on_frame_sent_count == 2);

  nghttp2_session_del(ng);
  CHECK(memory.frame_buffer() == nullptr);
  CHECK(arena.free_blocks() == spare);  // the block went back
}
