// The parser of an upstream's response head (and body): Beast's
// response_parser<buffer_body> for the status line, the framing (chunked,
// Content-Length, keep-alive: basic_parser works them out from the bytes)
// and the body, with the fields kept flat in HeadFields instead of Beast's
// basic_fields. Beast's message is private here (its field container stays
// empty; message::keep_alive() or chunked() would read it): status(),
// reason() and fields() are the head, the parser's keep_alive() and
// chunked() the framing.
//
// Header-only: the fuzz target tests/fuzz/fuzz_response_head.cpp runs it.
#pragma once

#include "http/head_fields.hpp"

#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/status.hpp>

#include <string_view>

namespace airgate::http {

class ResponseParser : public bhttp::response_parser<bhttp::buffer_body> {
  using Base = bhttp::response_parser<bhttp::buffer_body>;

 public:
  const HeadFields& fields() const { return fields_; }
  unsigned status() const { return Base::get().result_int(); }
  // The reason phrase as sent, else the standard one for the status.
  std::string_view reason() const {
    const auto sent = Base::get().reason();
    const auto r = sent.empty() ? bhttp::obsolete_reason(Base::get().result()) : sent;
    return std::string_view(r.data(), r.size());
  }

 private:
  using Base::get;  // the message's fields stay empty: the relay reaches the body through the base class
  // Called once per field, with views into the bytes being parsed (copied).
  void on_field_impl(bhttp::field name, boost::beast::string_view name_string, boost::beast::string_view value,
                     boost::beast::error_code&) override {
    fields_.add(name, std::string_view(name_string.data(), name_string.size()),
                std::string_view(value.data(), value.size()));
  }

  HeadFields fields_;
};

}  // namespace airgate::http
