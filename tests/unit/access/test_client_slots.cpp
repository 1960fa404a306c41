#include "access/client_slots.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <thread>
#include <vector>

using airgate::access::ClientSlots;

TEST_CASE("client slots: a cap per address, released when a slot ends", "[slots]") {
  ClientSlots slots;
  auto a1 = slots.acquire("10.0.0.1", 2);
  auto a2 = slots.acquire("10.0.0.1", 2);
  CHECK(a1);
  CHECK(a2);
  CHECK_FALSE(slots.acquire("10.0.0.1", 2));
  CHECK(slots.acquire("10.0.0.2", 2));  // other addresses are not affected (and the slot ends at once)
  CHECK(slots.in_use("10.0.0.2") == 0);
  CHECK(slots.in_use("10.0.0.1") == 2);
  {
    auto moved = std::move(a1);
    CHECK_FALSE(a1);
    CHECK(slots.in_use("10.0.0.1") == 2);
  }
  CHECK(slots.in_use("10.0.0.1") == 1);
  auto a3 = slots.acquire("10.0.0.1", 2);
  CHECK(a3);
  a2 = ClientSlots::Slot();
  a3 = ClientSlots::Slot();
  CHECK(slots.in_use("10.0.0.1") == 0);
}

TEST_CASE("client slots: acquire and release from several threads never exceed the cap", "[slots]") {
  ClientSlots slots;
  std::atomic<int> over{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 2000; ++i) {
        auto s = slots.acquire("c", 3);
        if (s && slots.in_use("c") > 3) ++over;
      }
    });
  for (auto& t : threads) t.join();
  CHECK(over == 0);
  CHECK(slots.in_use("c") == 0);
}
