// Beast's parser<isRequest, buffer_body> with the fields kept flat: Beast
// still parses the start line, works out the framing (chunked,
// Content-Length, keep-alive) from the bytes and decodes the body, but each
// field goes into HeadFields (one string and an index per head) instead of
// Beast's basic_fields (a heap node per field in a case-insensitive tree).
// Beast's message is private to it: its field container stays empty, and
// message::keep_alive() or chunked() would read that; the body relay reaches
// the message's body through the base class. RequestParser
// (request_head.hpp) and ResponseParser (response_parser.hpp) add the start
// line's accessors.
//
// Header-only: the fuzz targets run it.
#pragma once

#include "http/head_fields.hpp"

#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>

#include <string_view>

namespace airgate::http {

template <bool isRequest>
class FlatParser : public bhttp::parser<isRequest, bhttp::buffer_body> {
  using Base = bhttp::parser<isRequest, bhttp::buffer_body>;

 public:
  const HeadFields& fields() const { return fields_; }
  HeadFields& fields() { return fields_; }

 protected:
  // The start line's parts (method, target, version; status, reason).
  const typename Base::value_type& message() const { return Base::get(); }
  typename Base::value_type& message() { return Base::get(); }

 private:
  using Base::get;
  // Called once per field, with views into the bytes being parsed (copied).
  void on_field_impl(bhttp::field name, boost::beast::string_view name_string, boost::beast::string_view value,
                     boost::beast::error_code&) override {
    fields_.add(name, std::string_view(name_string.data(), name_string.size()),
                std::string_view(value.data(), value.size()));
  }

  HeadFields fields_;
};

}  // namespace airgate::http
