#include "core/text.hpp"

#include <catch2/catch.hpp>

using namespace airgate::core;

TEST_CASE("trim: HTTP whitespace by default, any set on request", "[core][text]") {
  CHECK(trim("  a b\t") == "a b");
  CHECK(trim("\t\t") == "");
  CHECK(trim("") == "");
  CHECK(trim("x") == "x");
  CHECK(trim("\na\n") == "\na\n");  // OWS is space and tab only
  CHECK(trim("\r\n 90s\v\f", kAsciiSpace) == "90s");
}

TEST_CASE("iequals and to_lower: ASCII only", "[core][text]") {
  CHECK(iequals("Basic", "bASIC"));
  CHECK(iequals("", ""));
  CHECK_FALSE(iequals("basic", "basi"));
  CHECK_FALSE(iequals("a-b", "a_b"));
  CHECK_FALSE(iequals("\xC3\x89", "\xC3\xA9"));  // É vs é: not ASCII, not folded
  CHECK(to_lower("Content-Length") == "content-length");
  CHECK(to_lower("\xC3\x89X") == "\xC3\x89x");
}

TEST_CASE("split keeps empty pieces", "[core][text]") {
  using V = std::vector<std::string_view>;
  CHECK(split("a,,b", ',') == V{"a", "", "b"});
  CHECK(split("", ',') == V{""});
  CHECK(split(",", ',') == V{"", ""});
  CHECK(split("PROXY TCP4 1.2.3.4", ' ') == V{"PROXY", "TCP4", "1.2.3.4"});
}

TEST_CASE("all_digits and has_control", "[core][text]") {
  CHECK(all_digits("0123456789"));
  CHECK_FALSE(all_digits(""));
  CHECK_FALSE(all_digits("12a"));
  CHECK_FALSE(all_digits("-1"));
  CHECK(has_control("a\tb"));
  CHECK(has_control(std::string_view("a\0b", 3)));
  CHECK(has_control("\x7f"));
  CHECK_FALSE(has_control("plain text ~"));
}
