#include "core/fd_limit.hpp"

#include <catch2/catch.hpp>

using namespace airgate::core;

TEST_CASE("connections_for_nofile keeps headroom for upstream connections and files") {
  CHECK(connections_for_nofile(1024) == 480);
  CHECK(connections_for_nofile(4096) == 2016);
  CHECK(connections_for_nofile(65536) == 32736);
  CHECK(connections_for_nofile(64) == 1);
  CHECK(connections_for_nofile(66) == 1);
  CHECK(connections_for_nofile(68) == 2);
  CHECK(connections_for_nofile(0) == 1);
}

TEST_CASE("effective_max_connections: configured value wins, else derived and at most 10000") {
  CHECK(effective_max_connections(std::nullopt, 1024) == 480);
  CHECK(effective_max_connections(std::nullopt, 1048576) == 10000);
  CHECK(effective_max_connections(std::nullopt, 20064) == 10000);
  CHECK(effective_max_connections(std::nullopt, 20000) == 9968);
  CHECK(effective_max_connections(std::size_t{5000}, 1024) == 5000);
  CHECK(effective_max_connections(std::size_t{2}, 1048576) == 2);
}

TEST_CASE("max_connections_warning only when the configured value exceeds the limit") {
  CHECK(max_connections_warning(std::nullopt, 256).empty());
  CHECK(max_connections_warning(std::size_t{480}, 1024).empty());
  const auto w = max_connections_warning(std::size_t{10000}, 1024);
  CHECK(w.find("limits.max_connections is 10000") != std::string::npos);
  CHECK(w.find("open files limit (1024)") != std::string::npos);
  CHECK(w.find("about 480") != std::string::npos);
}
