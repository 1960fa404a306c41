#include <catch2/catch.hpp>

#include "config/units.hpp"

using namespace airgate::config;
using namespace std::chrono_literals;

TEST_CASE("parse_duration accepts every documented form", "[config][units]") {
  CHECK(parse_duration("90") == Duration(90s));
  CHECK(parse_duration("0") == Duration(0));
  CHECK(parse_duration("90s") == Duration(90s));
  CHECK(parse_duration("1500ms") == Duration(1500ms));
  CHECK(parse_duration("5m") == Duration(5min));
  CHECK(parse_duration("1h") == Duration(1h));
  CHECK(parse_duration("3600s") == Duration(1h));
  CHECK(parse_duration(" 10s ") == Duration(10s));
  CHECK(parse_duration("3600 s") == Duration(3600s));  // format_duration output parses back
  CHECK(parse_duration("1500 ms") == Duration(1500ms));
}

TEST_CASE("parse_duration rejects bad input with a reason", "[config][units]") {
  struct Case {
    const char* text;
    const char* reason_part;
  };
  for (auto c :
       {Case{"", "empty"}, Case{"-5", "negative"}, Case{"-5s", "negative"}, Case{"abc", "number"}, Case{"s", "number"},
        Case{"10x", "unknown unit \"x\""}, Case{"10d", "unknown unit"}, Case{"1.5s", "fractions"},
        Case{"10 s s", "unknown unit"}, Case{"10  s", "unknown unit"}, Case{"99999999999999999999", "too large"},
        Case{"9999999999999999h", "too large"}, Case{"10S", "unknown unit"}, Case{"+5", "number"}}) {
    INFO(c.text);
    std::string why;
    CHECK_FALSE(parse_duration(c.text, &why).has_value());
    CHECK_THAT(why, Catch::Contains(c.reason_part));
  }
  // The error pointer is optional.
  CHECK_FALSE(parse_duration("bad").has_value());
}

TEST_CASE("parse_duration overflow boundary", "[config][units]") {
  // INT64_MAX ms is representable, INT64_MAX s is not.
  CHECK(parse_duration("9223372036854775807ms").has_value());
  CHECK_FALSE(parse_duration("9223372036854775808ms").has_value());
  CHECK_FALSE(parse_duration("9223372036854775807").has_value());
}

TEST_CASE("parse_size accepts every documented form", "[config][units]") {
  CHECK(parse_size("1024") == 1024u);
  CHECK(parse_size("0") == 0u);
  for (auto k : {"64k", "64K", "64KiB", "64 KiB"}) {
    INFO(k);
    CHECK(parse_size(k) == 64u * 1024);
  }
  for (auto m : {"200m", "200M", "200MiB", "200 MiB"}) {
    INFO(m);
    CHECK(parse_size(m) == 200ull * 1024 * 1024);
  }
  for (auto g : {"1g", "1G", "1GiB"}) {
    INFO(g);
    CHECK(parse_size(g) == 1ull << 30);
  }
}

TEST_CASE("parse_size rejects bad input with a reason", "[config][units]") {
  struct Case {
    const char* text;
    const char* reason_part;
  };
  for (auto c :
       {Case{"", "empty"}, Case{"-1", "negative"}, Case{"-1M", "negative"}, Case{"abc", "number"}, Case{"M", "number"},
        Case{"10MB", "unknown unit \"MB\""}, Case{"10kb", "unknown unit"}, Case{"10T", "unknown unit"},
        Case{"1.5M", "fractions"}, Case{"10 M B", "unknown unit"}, Case{"18446744073709551616", "too large"},
        Case{"17179869184G", "too large"}, Case{"99999999999999999999999", "too large"}}) {
    INFO(c.text);
    std::string why;
    CHECK_FALSE(parse_size(c.text, &why).has_value());
    CHECK_THAT(why, Catch::Contains(c.reason_part));
  }
  CHECK(parse_size("18446744073709551615") == 18446744073709551615ull);
  CHECK(parse_size("17179869183G") == 17179869183ull << 30);
}

TEST_CASE("format_size picks the exact unit", "[config][units]") {
  CHECK(format_size(200ull * 1024 * 1024) == "200 MiB");
  CHECK(format_size(64 * 1024) == "64 KiB");
  CHECK(format_size(1ull << 30) == "1 GiB");
  CHECK(format_size(3ull << 30) == "3 GiB");
  CHECK(format_size(1536 * 1024) == "1536 KiB");
  CHECK(format_size(1000) == "1000 B");
  CHECK(format_size(1025) == "1025 B");
  CHECK(format_size(0) == "0 B");
}

TEST_CASE("format_duration picks the exact unit", "[config][units]") {
  CHECK(format_duration(Duration(3600s)) == "3600 s");
  CHECK(format_duration(Duration(1500ms)) == "1500 ms");
  CHECK(format_duration(Duration(10s)) == "10 s");
  CHECK(format_duration(Duration(1ms)) == "1 ms");
  CHECK(format_duration(Duration(0)) == "0 s");
}

TEST_CASE("format and parse round-trip", "[config][units]") {
  // Unit-divisible sizes round-trip; plain byte counts ("1000 B") are for
  // display only (the config syntax has no "B" unit).
  for (std::uint64_t n : {1024ull, 65536ull, 200ull << 20, 5ull << 30, 1536ull << 10}) {
    INFO(n);
    CHECK(parse_size(format_size(n)) == n);
  }
  CHECK_FALSE(parse_size(format_size(1000)).has_value());
  for (auto d : {Duration(0), Duration(1ms), Duration(1500ms), Duration(1h)}) {
    CHECK(parse_duration(format_duration(d)) == d);
  }
}
