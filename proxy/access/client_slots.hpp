// Per-client concurrency caps shared by every worker of the process: how many
// request bodies one client address streams to the upstream at once. A body
// streamed upstream holds an upstream connection for as long as the client
// takes to send it; the cap keeps one address from pinning them all.
#pragma once

#include <cstddef>
#include <mutex>
#include <string>
#include <unordered_map>

namespace airgate::access {

class ClientSlots {
 public:
  // A taken slot, released when destroyed (or moved from). Empty when the
  // cap was reached.
  class Slot {
   public:
    Slot() = default;
    Slot(ClientSlots* owner, std::string key) : owner_(owner), key_(std::move(key)) {}
    Slot(Slot&& o) noexcept : owner_(o.owner_), key_(std::move(o.key_)) { o.owner_ = nullptr; }
    Slot& operator=(Slot&& o) noexcept {
      if (this != &o) {
        release();
        owner_ = o.owner_;
        key_ = std::move(o.key_);
        o.owner_ = nullptr;
      }
      return *this;
    }
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;
    ~Slot() { release(); }
    explicit operator bool() const { return owner_ != nullptr; }

   private:
    void release();
    ClientSlots* owner_ = nullptr;
    std::string key_;
  };

  // A slot for `client` unless it holds `max` already (callers with no cap
  // do not ask).
  Slot acquire(const std::string& client, std::size_t max);
  std::size_t in_use(const std::string& client) const;

 private:
  mutable std::mutex mutex_;
  std::unordered_map<std::string, std::size_t> counts_;
};

// The process-wide instance for streamed request bodies. It outlives reloads:
// a reload does not reset what clients hold.
ClientSlots& upload_slots();

}  // namespace airgate::access
