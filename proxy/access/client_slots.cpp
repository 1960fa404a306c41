#include "access/client_slots.hpp"

namespace airgate::access {

void ClientSlots::Slot::release() {
  if (!owner_) return;
  std::lock_guard lock(owner_->mutex_);
  auto it = owner_->counts_.find(key_);
  if (it != owner_->counts_.end() && --it->second == 0) owner_->counts_.erase(it);
  owner_ = nullptr;
}

ClientSlots::Slot ClientSlots::acquire(const std::string& client, std::size_t max) {
  std::lock_guard lock(mutex_);
  auto& n = counts_[client];
  if (n >= max) {
    if (n == 0) counts_.erase(client);
    return Slot();
  }
  ++n;
  return Slot(this, client);
}

std::size_t ClientSlots::in_use(const std::string& client) const {
  std::lock_guard lock(mutex_);
  auto it = counts_.find(client);
  return it == counts_.end() ? 0 : it->second;
}

ClientSlots& upload_slots() {
  static ClientSlots slots;
  return slots;
}

}  // namespace airgate::access
