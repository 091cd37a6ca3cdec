#include "vent/event/validate.h"

#include <cstdint>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "boost/json/basic_parser_impl.hpp"
#include "vent/base/utf8.h"

namespace vent::event {
namespace {

// Marks ValidateJson's depth error (see IsTooDeep).
constexpr absl::string_view kTooDeepPayload = "vent.dev/event/too-deep";

// A SAX handler that builds nothing: the parser only checks syntax, UTF-8 and
// depth.
struct NullHandler {
  static constexpr std::size_t max_object_size = std::size_t(-1);
  static constexpr std::size_t max_array_size = std::size_t(-1);
  static constexpr std::size_t max_key_size = std::size_t(-1);
  static constexpr std::size_t max_string_size = std::size_t(-1);
  using ec_t = boost::json::error_code;
  using sv_t = boost::json::string_view;
  bool on_document_begin(ec_t&) { return true; }
  bool on_document_end(ec_t&) { return true; }
  bool on_array_begin(ec_t&) { return true; }
  bool on_array_end(std::size_t, ec_t&) { return true; }
  bool on_object_begin(ec_t&) { return true; }
  bool on_object_end(std::size_t, ec_t&) { return true; }
  bool on_string_part(sv_t, std::size_t, ec_t&) { return true; }
  bool on_string(sv_t, std::size_t, ec_t&) { return true; }
  bool on_key_part(sv_t, std::size_t, ec_t&) { return true; }
  bool on_key(sv_t, std::size_t, ec_t&) { return true; }
  bool on_number_part(sv_t, ec_t&) { return true; }
  bool on_int64(std::int64_t, sv_t, ec_t&) { return true; }
  bool on_uint64(std::uint64_t, sv_t, ec_t&) { return true; }
  bool on_double(double, sv_t, ec_t&) { return true; }
  bool on_bool(bool, ec_t&) { return true; }
  bool on_null(ec_t&) { return true; }
  bool on_comment_part(sv_t, ec_t&) { return true; }
  bool on_comment(sv_t, ec_t&) { return true; }
};

std::string TooBig(absl::string_view field, size_t size, size_t limit,
                   absl::string_view flag) {
  return absl::StrCat(field, ": ", size, " bytes is over the ", limit,
                      "-byte limit (", flag, ")");
}

}  // namespace

bool IsValidUtf8(absl::string_view text, size_t* bad_offset) {
  return vent::IsValidUtf8(text, bad_offset);
}

absl::Status ValidateChannel(absl::string_view channel, const Limits& limits,
                             absl::string_view where) {
  if (channel.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ".channel: must not be empty"));
  }
  if (channel.size() > limits.max_channel) {
    return absl::InvalidArgumentError(TooBig(absl::StrCat(where, ".channel"),
                                             channel.size(), limits.max_channel,
                                             "--max-channel"));
  }
  for (size_t i = 0; i < channel.size(); ++i) {
    auto c = static_cast<unsigned char>(channel[i]);
    if (c < 0x20 || c == 0x7F) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s.channel: control character U+%04X at byte %d is not allowed",
          where, c, i));
    }
  }
  size_t bad = 0;
  if (!IsValidUtf8(channel, &bad)) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ".channel: not valid UTF-8 at byte ", bad));
  }
  return absl::OkStatus();
}

absl::Status ValidateJson(absl::string_view json, const Limits& limits,
                          absl::string_view field) {
  if (json.size() > limits.max_payload) {
    return absl::InvalidArgumentError(
        TooBig(field, json.size(), limits.max_payload, "--max-payload"));
  }
  if (json.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": must not be empty"));
  }
  boost::json::parse_options opts;
  opts.max_depth = limits.max_depth;
  boost::json::basic_parser<NullHandler> parser(opts);
  boost::json::error_code ec;
  size_t consumed = parser.write_some(false, json.data(), json.size(), ec);
  if (!ec && consumed != json.size()) ec = boost::json::error::extra_data;
  if (!ec) return absl::OkStatus();
  if (ec == boost::json::error::too_deep) {
    absl::Status s = absl::InvalidArgumentError(
        absl::StrCat(field, ": nesting deeper than ", limits.max_depth,
                     " levels at offset ", consumed));
    s.SetPayload(kTooDeepPayload, absl::Cord());
    return s;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      field, ": not valid JSON at offset ", consumed, ": ", ec.message()));
}

bool IsTooDeep(const absl::Status& status) {
  return status.GetPayload(kTooDeepPayload).has_value();
}

absl::Status ValidateIdempotencyKey(absl::string_view key, const Limits& limits,
                                    absl::string_view where) {
  if (key.size() > limits.max_idempotency_key) {
    return absl::InvalidArgumentError(absl::StrCat(
        where, ".idempotency_key: ", key.size(), " bytes is over the ",
        limits.max_idempotency_key, "-byte limit"));
  }
  return absl::OkStatus();
}

}  // namespace vent::event
