// The parser of an upstream's response head (and body): Beast's
// response_parser<buffer_body> for the status line, the framing (chunked,
// Content-Length, keep-alive: basic_parser works them out from the bytes)
// and the body, with the fields kept flat in HeadFields instead of Beast's
// basic_fields. The message's own field container stays empty: read the
// fields through fields(), never through get() (get().keep_alive() or
// get().chunked() would see no field; use the parser's keep_alive() and
// chunked()).
//
// Header-only: the fuzz target tests/fuzz/fuzz_response_head.cpp runs it.
#pragma once

#include "http/head_fields.hpp"

#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>

namespace airgate::http {

class ResponseParser : public bhttp::response_parser<bhttp::buffer_body> {
 public:
  const HeadFields& fields() const { return fields_; }

 private:
  // Called once per field, with views into the bytes being parsed (copied).
  void on_field_impl(bhttp::field name, boost::beast::string_view name_string, boost::beast::string_view value,
                     boost::beast::error_code&) override {
    fields_.add(name, std::string_view(name_string.data(), name_string.size()),
                std::string_view(value.data(), value.size()));
  }

  HeadFields fields_;
};

}  // namespace airgate::http
