#include "access/credential_cache.hpp"
#include "access/throttle.hpp"

#include <catch2/catch.hpp>

#include <thread>

using namespace airgate::access;
using namespace std::chrono_literals;

namespace {
airgate::config::Throttle cfg(std::size_t max, std::chrono::seconds window, std::chrono::seconds block) {
  airgate::config::Throttle t;
  t.max_failures = max;
  t.window = window;
  t.block = block;
  return t;
}

IpAddress make_address(std::string_view s) {
  auto a = airgate::core::parse_ip(s);
  REQUIRE(a);
  return *a;
}

// The IPv4 address with the value `n` (host order).
IpAddress v4(std::uint32_t n) {
  return IpAddress::v4({static_cast<std::uint8_t>(n >> 24), static_cast<std::uint8_t>(n >> 16),
                        static_cast<std::uint8_t>(n >> 8), static_cast<std::uint8_t>(n)});
}
}  // namespace

TEST_CASE("throttle blocks after max_failures within the window", "[access][throttle]") {
  Throttle t(cfg(3, 60s, 300s));
  auto a = make_address("198.51.100.7");
  auto t0 = Throttle::Clock::now();
  CHECK_FALSE(t.blocked(a, t0));
  CHECK_FALSE(t.record_failure(a, t0));
  CHECK_FALSE(t.record_failure(a, t0 + 10s));
  auto r = t.record_failure(a, t0 + 20s);
  REQUIRE(r);
  CHECK(*r == 300s);
  REQUIRE(t.blocked(a, t0 + 20s));
  CHECK(*t.blocked(a, t0 + 20s) == 300s);
  CHECK(*t.blocked(a, t0 + 120s) == 200s);
  CHECK(*t.blocked(a, t0 + 319s + 500ms) == 1s);  // rounded up
  CHECK_FALSE(t.blocked(a, t0 + 320s));
  // other addresses unaffected
  CHECK_FALSE(t.blocked(make_address("198.51.100.8"), t0 + 21s));
}

TEST_CASE("throttle window expires", "[access][throttle]") {
  Throttle t(cfg(3, 60s, 300s));
  auto a = make_address("198.51.100.7");
  auto t0 = Throttle::Clock::now();
  t.record_failure(a, t0);
  t.record_failure(a, t0 + 30s);
  CHECK_FALSE(t.record_failure(a, t0 + 61s));  // new window: count 1
  CHECK_FALSE(t.record_failure(a, t0 + 62s));
  CHECK(t.record_failure(a, t0 + 63s));
}

TEST_CASE("throttle: success resets the count but never a block", "[access][throttle]") {
  Throttle t(cfg(3, 60s, 300s));
  auto a = make_address("198.51.100.7");
  auto t0 = Throttle::Clock::now();
  t.record_failure(a, t0);
  t.record_failure(a, t0);
  t.record_success(a, t0);
  CHECK_FALSE(t.record_failure(a, t0));
  CHECK_FALSE(t.record_failure(a, t0));
  CHECK(t.record_failure(a, t0));
  t.record_success(a, t0 + 1s);
  CHECK(t.blocked(a, t0 + 2s));
  // failures while blocked do not extend the block
  t.record_failure(a, t0 + 100s);
  CHECK(*t.blocked(a, t0 + 100s) == 200s);
}

TEST_CASE("throttle: IPv6 counted per /64, mapped IPv4 as IPv4", "[access][throttle]") {
  Throttle t(cfg(2, 60s, 60s));
  auto t0 = Throttle::Clock::now();
  t.record_failure(make_address("2001:db8:1:2::1"), t0);
  t.record_failure(make_address("2001:db8:1:2:ffff::9"), t0);
  CHECK(t.blocked(make_address("2001:db8:1:2::77"), t0));
  CHECK_FALSE(t.blocked(make_address("2001:db8:1:3::1"), t0));
  t.record_failure(make_address("::ffff:192.0.2.1"), t0);
  t.record_failure(make_address("192.0.2.1"), t0);
  CHECK(t.blocked(make_address("192.0.2.1"), t0));
}

TEST_CASE("throttle: max_failures 0 disables it", "[access][throttle]") {
  Throttle t(cfg(0, 60s, 60s));
  auto a = make_address("192.0.2.1");
  auto t0 = Throttle::Clock::now();
  for (int i = 0; i < 100; ++i) CHECK_FALSE(t.record_failure(a, t0));
  CHECK_FALSE(t.blocked(a, t0));
  CHECK(t.size() == 0);
}

TEST_CASE("throttle memory is bounded", "[access][throttle]") {
  Throttle t(cfg(5, 60s, 300s), 100);
  auto t0 = Throttle::Clock::now();
  for (unsigned i = 0; i < 1000; ++i) {
    t.record_failure(v4(0x0A000000u + i), t0);
    CHECK(t.size() <= 100);
  }
  CHECK(t.size() == 100);
  // expired entries are dropped first
  Throttle t3(cfg(2, 60s, 300s), 3);
  t3.record_failure(make_address("192.0.2.1"), t0);
  t3.record_failure(make_address("192.0.2.2"), t0);
  t3.record_failure(make_address("192.0.2.3"), t0);
  t3.record_failure(make_address("192.0.2.4"), t0 + 120s);  // all three earlier ones expired
  CHECK(t3.size() == 1);
  // when full, a live block is not the first to go
  Throttle t4(cfg(2, 60s, 300s), 3);
  auto blockee = make_address("192.0.2.99");
  t4.record_failure(blockee, t0);
  REQUIRE(t4.record_failure(blockee, t0));
  t4.record_failure(make_address("192.0.2.1"), t0 + 1s);
  t4.record_failure(make_address("192.0.2.2"), t0 + 2s);
  t4.record_failure(make_address("192.0.2.3"), t0 + 3s);
  CHECK(t4.size() == 3);
  CHECK(t4.blocked(blockee, t0 + 4s));
}

TEST_CASE("throttle is safe to use from several threads", "[access][throttle]") {
  Throttle t(cfg(1000000, 60s, 60s), 1000);
  auto t0 = Throttle::Clock::now();
  std::vector<std::thread> threads;
  for (int k = 0; k < 4; ++k)
    threads.emplace_back([&, k] {
      for (unsigned i = 0; i < 2000; ++i) {
        const IpAddress a = v4(0x0A000000u + (i * 4 + k) % 1500);
        t.record_failure(a, t0);
        t.blocked(a, t0);
      }
    });
  for (auto& th : threads) th.join();
  CHECK(t.size() <= 1000);
}

TEST_CASE("credential cache: keyed, TTL, bounded, never the password", "[access][cache]") {
  CredentialCache c(3, 300s);
  auto t0 = CredentialCache::Clock::now();
  auto k = c.key("alice", "correct horse");
  CHECK(k.size() == 32);
  CHECK(k.find("correct horse") == std::string::npos);
  CHECK(k == c.key("alice", "correct horse"));
  CHECK(k != c.key("alice", "correct horsE"));
  CHECK(k != c.key("alic", "ecorrect horse"));  // user/password boundary is part of the key
  CHECK(c.key("a", std::string("b\0c", 3)) != c.key(std::string("a\0b", 3), "c"));

  CredentialCache other;  // a different instance (reload) has a different key
  CHECK(other.key("alice", "correct horse") != k);

  CHECK_FALSE(c.contains(k, t0));
  c.insert(k, t0);
  CHECK(c.contains(k, t0 + 299s));
  CHECK_FALSE(c.contains(k, t0 + 300s));
  CHECK(c.size() == 0);  // expired entry dropped

  c.insert(c.key("u1", "p"), t0);
  c.insert(c.key("u2", "p"), t0 + 1s);
  c.insert(c.key("u3", "p"), t0 + 2s);
  c.insert(c.key("u4", "p"), t0 + 3s);  // evicts the oldest
  CHECK(c.size() == 3);
  CHECK_FALSE(c.contains(c.key("u1", "p"), t0 + 4s));
  CHECK(c.contains(c.key("u4", "p"), t0 + 4s));
  c.clear();
  CHECK(c.size() == 0);
}
