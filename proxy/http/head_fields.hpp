// The fields of a parsed message head, flat: names and values back to back in
// one string, an index of (Beast's field enum, offsets) beside it. What
// Beast's basic_fields keeps as one heap node per field in a case-insensitive
// tree, this keeps in one allocation per head, in the order received.
// Filled by FlatParser::on_field_impl (flat_parser.hpp); read by the
// session's steps and the head writers.
#pragma once

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/container/small_vector.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace airgate::http {

namespace bhttp = boost::beast::http;

class HeadFields {
  struct Entry {
    bhttp::field id;
    std::uint32_t at;  // the name's offset in text_; the value follows it
    std::uint32_t name_size;
    std::uint32_t value_size;
  };

 public:
  // One field as Beast's iterators show one: name() (the enum, unknown for
  // names Beast does not know), name_string(), value().
  class Field {
   public:
    Field(const std::string* text, const Entry* e) : text_(text), e_(e) {}
    bhttp::field name() const { return e_->id; }
    std::string_view name_string() const { return std::string_view(*text_).substr(e_->at, e_->name_size); }
    std::string_view value() const { return std::string_view(*text_).substr(e_->at + e_->name_size, e_->value_size); }

   private:
    const std::string* text_;
    const Entry* e_;
  };

  class iterator {
   public:
    iterator(const std::string* text, const Entry* e) : text_(text), e_(e) {}
    Field operator*() const { return Field(text_, e_); }
    iterator& operator++() {
      ++e_;
      return *this;
    }
    bool operator==(const iterator& o) const { return e_ == o.e_; }

   private:
    const std::string* text_;
    const Entry* e_;
  };

  void add(bhttp::field id, std::string_view name, std::string_view value) {
    if (text_.empty()) text_.reserve(512);
    entries_.push_back(Entry{id, static_cast<std::uint32_t>(text_.size()), static_cast<std::uint32_t>(name.size()),
                             static_cast<std::uint32_t>(value.size())});
    text_.append(name).append(value);
  }

  iterator begin() const { return iterator(&text_, entries_.data()); }
  iterator end() const { return iterator(&text_, entries_.data() + entries_.size()); }
  std::size_t size() const { return entries_.size(); }

  // The first field `name` (Beast's enum; field::unknown matches nothing), or empty.
  std::string_view first(bhttp::field name) const {
    if (name == bhttp::field::unknown) return {};
    for (const auto& e : entries_)
      if (e.id == name) return Field(&text_, &e).value();
    return {};
  }
  // By name, any case (for names Beast does not know).
  std::string_view first(std::string_view name) const {
    for (const auto& e : entries_)
      if (boost::beast::iequals(Field(&text_, &e).name_string(), name)) return Field(&text_, &e).value();
    return {};
  }
  std::size_t count(bhttp::field name) const {
    std::size_t n = 0;
    if (name != bhttp::field::unknown)
      for (const auto& e : entries_) n += e.id == name;
    return n;
  }
  // Removes every field `name` (its bytes stay, unreferenced).
  void erase(bhttp::field name) {
    if (name == bhttp::field::unknown) return;
    entries_.erase(std::remove_if(entries_.begin(), entries_.end(), [name](const Entry& e) { return e.id == name; }),
                   entries_.end());
  }
  // Every field `name` joined with ", " (RFC 9110 §5.3).
  std::string join(bhttp::field name) const {
    std::string out;
    for (const auto& e : entries_) {
      if (e.id != name || name == bhttp::field::unknown) continue;
      if (!out.empty()) out += ", ";
      out.append(Field(&text_, &e).value());
    }
    return out;
  }

 private:
  std::string text_;
  boost::container::small_vector<Entry, 12> entries_;  // a typical response head needs no second allocation
};

}  // namespace airgate::http
