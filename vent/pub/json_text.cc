#include "vent/pub/json_text.h"

#include <cstdint>

#include "boost/json/basic_parser_impl.hpp"

namespace vent::pub {
namespace {

namespace json = boost::json;

// A basic_parser handler that keeps nothing but the nesting depth and whether
// the top-level value is falsy.
class ScanHandler {
 public:
  static constexpr std::size_t max_object_size = std::size_t(-1);
  static constexpr std::size_t max_array_size = std::size_t(-1);
  static constexpr std::size_t max_key_size = std::size_t(-1);
  static constexpr std::size_t max_string_size = std::size_t(-1);

  bool falsy() const { return falsy_; }

  bool on_document_begin(json::error_code&) { return true; }
  bool on_document_end(json::error_code&) { return true; }
  bool on_array_begin(json::error_code&) { return Enter(); }
  bool on_array_end(std::size_t, json::error_code&) { return Leave(); }
  bool on_object_begin(json::error_code&) { return Enter(); }
  bool on_object_end(std::size_t, json::error_code&) { return Leave(); }
  bool on_string_part(json::string_view, std::size_t, json::error_code&) {
    return true;
  }
  bool on_string(json::string_view, std::size_t n, json::error_code&) {
    return Top(n == 0);
  }
  bool on_key_part(json::string_view, std::size_t, json::error_code&) {
    return true;
  }
  bool on_key(json::string_view, std::size_t, json::error_code&) {
    return true;
  }
  bool on_number_part(json::string_view, json::error_code&) { return true; }
  bool on_int64(int64_t i, json::string_view, json::error_code&) {
    return Top(i == 0);
  }
  bool on_uint64(uint64_t u, json::string_view, json::error_code&) {
    return Top(u == 0);
  }
  bool on_double(double d, json::string_view, json::error_code&) {
    return Top(d == 0.0);
  }
  bool on_bool(bool b, json::error_code&) { return Top(!b); }
  bool on_null(json::error_code&) { return Top(true); }
  bool on_comment_part(json::string_view, json::error_code&) { return true; }
  bool on_comment(json::string_view, json::error_code&) { return true; }

 private:
  bool Enter() {
    ++depth_;
    return true;
  }
  bool Leave() {
    --depth_;
    return true;
  }
  bool Top(bool falsy) {
    if (depth_ == 0) falsy_ = falsy;
    return true;
  }

  int depth_ = 0;
  bool falsy_ = false;
};

json::parse_options ScanOptions() {
  json::parse_options opt;
  opt.max_depth = kMaxJsonDepth;
  return opt;  // strict: no comments, no trailing commas, UTF-8 checked
}

}  // namespace

JsonScan ScanJson(absl::string_view text) {
  json::basic_parser<ScanHandler> parser(ScanOptions());
  json::error_code ec;
  std::size_t n = parser.write_some(false, text.data(), text.size(), ec);
  JsonScan scan;
  // write_some stops after the first value: trailing bytes make it invalid.
  if (ec || n != text.size() || !parser.done()) return scan;
  scan.valid = true;
  scan.falsy = parser.handler().falsy();
  return scan;
}

}  // namespace vent::pub
