// libnghttp2's memory for one HTTP/2 connection. Everything goes to malloc
// except the session's output frame buffer: 16 KiB and a few bytes,
// allocated when the session is created and kept until it ends, written only
// while frames are being sent. It lives in a page-aligned block of a
// per-worker arena, so a connection that goes idle (no stream open, nothing
// to send) gives its pages back to the kernel (MADV_DONTNEED) and the next
// frame it sends faults them in again, zeroed: an idle browser connection
// does not keep 16 KiB it is not using.
#pragma once

#include <nghttp2/nghttp2.h>

#include <cstddef>
#include <vector>

namespace airgate::http::h2 {

// Page-aligned blocks big enough for libnghttp2's frame buffer, carved from
// regions mapped once and kept (their pages are returned, not the address
// space). One per worker thread.
class FrameBufferArena {
 public:
  // A block of block_size() bytes, or nullptr when no memory could be mapped
  // (the caller uses malloc then).
  void* take();
  // Back to the free list, its pages returned to the kernel.
  void give(void* block);
  // The pages of a block in use returned to the kernel; the block stays
  // valid and reads as zeros until written.
  static void release_pages(void* block);
  static std::size_t block_size();
  // The smallest and largest allocation a block is used for.
  static constexpr std::size_t kMinFrameBuffer = 16 * 1024 + 1;
  std::size_t free_blocks() const { return free_.size(); }

  static FrameBufferArena& for_this_thread();

 private:
  std::vector<void*> free_;
};

// The allocator handed to nghttp2_session_server_new3 (nghttp2 copies the
// struct; `this` must outlive the session).
class SessionMemory {
 public:
  SessionMemory() = default;
  SessionMemory(const SessionMemory&) = delete;
  SessionMemory& operator=(const SessionMemory&) = delete;
  ~SessionMemory();

  nghttp2_mem mem();
  // Around session creation: the frame buffer is the large allocation made
  // then (libnghttp2 allocates it in nghttp2_session_server_new3).
  void creating(bool on) { creating_ = on; }
  // nghttp2 is about to pack frames (nghttp2_session_mem_send).
  void sending() { touched_ = true; }
  // Nothing is being sent and nothing is queued: the frame buffer's content
  // is no longer needed, its pages go back to the kernel.
  void idle();
  // The frame buffer's block (nullptr: none, or it came from malloc).
  void* frame_buffer() const { return frame_buffer_; }

 private:
  static void* on_malloc(std::size_t size, void* self);
  static void on_free(void* ptr, void* self);
  static void* on_calloc(std::size_t n, std::size_t size, void* self);
  static void* on_realloc(void* ptr, std::size_t size, void* self);

  void* frame_buffer_ = nullptr;
  bool creating_ = false;
  bool touched_ = false;
};

}  // namespace airgate::http::h2
