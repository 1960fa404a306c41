// The upstream's response: a FlatParser (flat_parser.hpp) with the status
// line's parts. status(), reason() and fields() are the head, the parser's
// keep_alive() and chunked() the framing.
//
// Header-only: the fuzz target tests/fuzz/fuzz_response_head.cpp runs it.
#pragma once

#include "http/flat_parser.hpp"

#include <boost/beast/http/status.hpp>

#include <string_view>

namespace airgate::http {

class ResponseParser : public FlatParser<false> {
 public:
  unsigned status() const { return message().result_int(); }
  // The reason phrase as sent, else the standard one for the status.
  std::string_view reason() const {
    const auto sent = message().reason();
    const auto r = sent.empty() ? bhttp::obsolete_reason(message().result()) : sent;
    return std::string_view(r.data(), r.size());
  }
};

}  // namespace airgate::http
