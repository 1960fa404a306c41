#include "http/h2_memory.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

namespace airgate::http::h2 {

namespace {

// Blocks mapped at a time (64 x 20 KiB with 4 KiB pages: 1.25 MiB of
// address space; pages are only resident while a connection sends).
constexpr std::size_t kBlocksPerRegion = 64;

std::size_t page_size() {
  static const std::size_t page = [] {
    const long p = sysconf(_SC_PAGESIZE);
    return p > 0 ? static_cast<std::size_t>(p) : std::size_t{4096};
  }();
  return page;
}

}  // namespace

std::size_t FrameBufferArena::block_size() {
  // libnghttp2's frame buffer: a 9-byte frame header, one byte of padding
  // length, 16,384 bytes of payload.
  constexpr std::size_t kFrameBuffer = 16 * 1024 + 10;
  const std::size_t page = page_size();
  return (kFrameBuffer + page - 1) / page * page;
}

void* FrameBufferArena::take() {
  if (free_.empty()) {
    const std::size_t block = block_size();
    void* region = mmap(nullptr, block * kBlocksPerRegion, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (region == MAP_FAILED) return nullptr;
    // The region is never unmapped: blocks handed out stay valid whichever
    // thread frees them last; what is not in use holds no pages.
    free_.reserve(free_.size() + kBlocksPerRegion);
    for (std::size_t i = kBlocksPerRegion; i-- > 0;) free_.push_back(static_cast<char*>(region) + i * block);
  }
  void* b = free_.back();
  free_.pop_back();
  return b;
}

void FrameBufferArena::give(void* block) {
  if (!block) return;
  release_pages(block);
  free_.push_back(block);
}

void FrameBufferArena::release_pages(void* block) {
  // Private anonymous pages: dropped now, zero-filled on the next touch.
  madvise(block, block_size(), MADV_DONTNEED);
}

FrameBufferArena& FrameBufferArena::for_this_thread() {
  static thread_local FrameBufferArena arena;
  return arena;
}

SessionMemory::~SessionMemory() {
  if (frame_buffer_) FrameBufferArena::for_this_thread().give(frame_buffer_);
}

nghttp2_mem SessionMemory::mem() { return nghttp2_mem{this, on_malloc, on_free, on_calloc, on_realloc}; }

void SessionMemory::idle() {
  if (!frame_buffer_ || !touched_) return;
  FrameBufferArena::release_pages(frame_buffer_);
  touched_ = false;
}

void* SessionMemory::on_malloc(std::size_t size, void* self) {
  auto& m = *static_cast<SessionMemory*>(self);
  if (m.creating_ && !m.frame_buffer_ && size >= FrameBufferArena::kMinFrameBuffer &&
      size <= FrameBufferArena::block_size()) {
    if (void* b = FrameBufferArena::for_this_thread().take()) {
      m.frame_buffer_ = b;
      m.touched_ = true;
      return b;
    }
  }
  return std::malloc(size);
}

void SessionMemory::on_free(void* ptr, void* self) {
  auto& m = *static_cast<SessionMemory*>(self);
  if (ptr && ptr == m.frame_buffer_) {
    FrameBufferArena::for_this_thread().give(ptr);
    m.frame_buffer_ = nullptr;
    return;
  }
  std::free(ptr);
}

void* SessionMemory::on_calloc(std::size_t n, std::size_t size, void*) { return std::calloc(n, size); }

void* SessionMemory::on_realloc(void* ptr, std::size_t size, void* self) {
  auto& m = *static_cast<SessionMemory*>(self);
  if (!ptr) return on_malloc(size, self);
  if (ptr != m.frame_buffer_) return std::realloc(ptr, size);
  // The frame buffer resized (libnghttp2 does not, but realloc must work):
  // it moves to malloc, its block goes back.
  void* moved = std::malloc(size);
  if (!moved) return nullptr;
  std::memcpy(moved, ptr, std::min(size, FrameBufferArena::block_size()));
  FrameBufferArena::for_this_thread().give(ptr);
  m.frame_buffer_ = nullptr;
  return moved;
}

}  // namespace airgate::http::h2
