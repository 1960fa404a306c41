#include "access/base64.hpp"
#include "access/credentials.hpp"

#include <catch2/catch.hpp>

using namespace airgate::access;

TEST_CASE("base64 round trip and RFC 4648 vectors", "[access][credentials]") {
  CHECK(base64_encode("") == "");
  CHECK(base64_encode("f") == "Zg==");
  CHECK(base64_encode("fo") == "Zm8=");
  CHECK(base64_encode("foo") == "Zm9v");
  CHECK(base64_encode("foob") == "Zm9vYg==");
  CHECK(base64_encode("fooba") == "Zm9vYmE=");
  CHECK(base64_encode("foobar") == "Zm9vYmFy");
  CHECK(base64_decode("Zm9vYmE=") == std::optional<std::string>("fooba"));
  CHECK(base64_decode("Zm9vYg==") == std::optional<std::string>("foob"));
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  CHECK(base64_decode(base64_encode(all)) == std::optional<std::string>(all));
}

TEST_CASE("base64 decoding is strict", "[access][credentials]") {
  CHECK_FALSE(base64_decode("Zm9vYg"));     // missing padding
  CHECK_FALSE(base64_decode("Zm9vYg="));    // wrong length
  CHECK_FALSE(base64_decode("Zm9v Yg=="));  // space
  CHECK_FALSE(base64_decode("Zm=vYg=="));   // padding in the middle
  CHECK_FALSE(base64_decode("Zg=a"));       // "x=y" padding
  CHECK_FALSE(base64_decode("Zh=="));       // non-zero trailing bits
  CHECK_FALSE(base64_decode("Zm9="));       // non-zero trailing bits
  CHECK_FALSE(base64_decode("Zm9v\n"));
  CHECK_FALSE(base64_decode("Zm9-"));  // URL-safe alphabet is not base64
  CHECK_FALSE(base64_decode("===="));
}

TEST_CASE("parse_basic: well-formed credentials", "[access][credentials]") {
  auto c = parse_basic("Basic " + base64_encode("alice:correct horse"));
  REQUIRE(c.status == CredentialStatus::ok);
  CHECK(c.user == "alice");
  CHECK(c.password == "correct horse");

  c = parse_basic("bAsIc   " + base64_encode("bob:pw:with:colons") + "  ");
  REQUIRE(c.status == CredentialStatus::ok);
  CHECK(c.user == "bob");
  CHECK(c.password == "pw:with:colons");

  c = parse_basic("Basic " + base64_encode("carol:"));
  REQUIRE(c.status == CredentialStatus::ok);
  CHECK(c.password.empty());

  c = parse_basic("Basic " + base64_encode(":nopass"));
  REQUIRE(c.status == CredentialStatus::ok);
  CHECK(c.user.empty());

  c = parse_basic("Basic " + base64_encode("d\xC3\xA4ve:p\xC3\xA4ss"));  // UTF-8 bytes kept
  REQUIRE(c.status == CredentialStatus::ok);
  CHECK(c.user == "d\xC3\xA4ve");
}

TEST_CASE("parse_basic: other schemes are not ours", "[access][credentials]") {
  CHECK(parse_basic("").status == CredentialStatus::absent);
  CHECK(parse_basic("   ").status == CredentialStatus::absent);
  CHECK(parse_basic("Bearer eyJhbGciOiJIUzI1NiJ9.e30.abc").status == CredentialStatus::absent);
  CHECK(parse_basic("Digest username=\"a\"").status == CredentialStatus::absent);
  CHECK(parse_basic("Basicx YWxpY2U6cHc=").status == CredentialStatus::absent);
  CHECK_FALSE(is_basic_scheme("Bearer x"));
  CHECK(is_basic_scheme("basic x"));
  CHECK(is_basic_scheme("Basic"));
}

TEST_CASE("parse_basic: malformed values", "[access][credentials]") {
  CHECK(parse_basic("Basic").status == CredentialStatus::malformed);
  CHECK(parse_basic("Basic ").status == CredentialStatus::malformed);
  CHECK(parse_basic("Basic " + base64_encode("no-colon")).status == CredentialStatus::malformed);
  CHECK(parse_basic("Basic YWxpY2U6cHc").status == CredentialStatus::malformed);    // unpadded
  CHECK(parse_basic("Basic YWxp Y2U6cHc=").status == CredentialStatus::malformed);  // space inside
  CHECK(parse_basic("Basic !!!!").status == CredentialStatus::malformed);
  CHECK(parse_basic("Basic " + base64_encode("alice:pw") + "\n").status == CredentialStatus::malformed);
  std::string huge = "Basic " + base64_encode("alice:" + std::string(4000, 'x'));
  REQUIRE(huge.size() > kMaxCredentialHeader);
  CHECK(parse_basic(huge).status == CredentialStatus::malformed);
  std::string fits = "Basic " + base64_encode("alice:" + std::string(2000, 'x'));
  CHECK(parse_basic(fits).status == CredentialStatus::ok);
}
