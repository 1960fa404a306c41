#include "core/sd_notify.hpp"

#include <catch2/catch.hpp>

using namespace airgate::core;

TEST_CASE("sd_notify: NOTIFY_SOCKET as a path or an abstract name", "[core][sd_notify]") {
  std::string error;
  auto path = sd_notify::parse_address("/run/systemd/notify", error);
  REQUIRE(path);
  CHECK_FALSE(path->abstract);
  CHECK(path->sun_path == "/run/systemd/notify");

  auto abstract = sd_notify::parse_address("@/org/freedesktop/systemd1/notify/123", error);
  REQUIRE(abstract);
  CHECK(abstract->abstract);
  CHECK(abstract->sun_path == std::string("\0/org/freedesktop/systemd1/notify/123", 37));
}

TEST_CASE("sd_notify: a NOTIFY_SOCKET that is not an address is an error that says what", "[core][sd_notify]") {
  for (std::string_view bad : {"", "@", "relative/path", "notify"}) {
    std::string error;
    CHECK_FALSE(sd_notify::parse_address(bad, error));
    CHECK(error.find("NOTIFY_SOCKET") != std::string::npos);
  }
  std::string error;
  CHECK_FALSE(sd_notify::parse_address(std::string_view("/a\0b", 4), error));
  CHECK(error.find("NUL") != std::string::npos);
  // 107 bytes + NUL fit sun_path; 108 do not. An abstract name may use all 108.
  CHECK(sd_notify::parse_address("/" + std::string(106, 'x'), error));
  CHECK_FALSE(sd_notify::parse_address("/" + std::string(107, 'x'), error));
  CHECK(error.find("longer than") != std::string::npos);
  CHECK(sd_notify::parse_address("@" + std::string(107, 'x'), error));
  CHECK_FALSE(sd_notify::parse_address("@" + std::string(108, 'x'), error));
}

TEST_CASE("sd_notify: messages are KEY=VALUE lines", "[core][sd_notify]") {
  CHECK(sd_notify::ready("") == "READY=1\n");
  CHECK(sd_notify::ready("serving on 2 listeners") == "READY=1\nSTATUS=serving on 2 listeners\n");
  CHECK(sd_notify::reloading(123456789, "reloading (SIGHUP)") ==
        "RELOADING=1\nMONOTONIC_USEC=123456789\nSTATUS=reloading (SIGHUP)\n");
  CHECK(sd_notify::stopping("") == "STOPPING=1\n");
  // A status is one line: a reason with a newline cannot inject a second key.
  CHECK(sd_notify::ready("reload failed: bad\nREADY=0") == "READY=1\nSTATUS=reload failed: bad READY=0\n");
  CHECK(sd_notify::status_line("a\tb\x7f") == "a b ");
}
