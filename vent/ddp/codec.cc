#include "vent/ddp/codec.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "boost/json/object.hpp"
#include "boost/json/parse.hpp"
#include "boost/json/parse_options.hpp"
#include "boost/json/string.hpp"
#include "vent/ddp/messages.h"

namespace vent::ddp {
namespace {

absl::string_view View(const boost::json::string& s) {
  return absl::string_view(s.data(), s.size());
}

// Reads an optional string field. Returns false when the field is present
// but not a string.
bool OptionalString(const boost::json::object& obj, absl::string_view key,
                    std::optional<std::string>* out) {
  const boost::json::value* v = obj.if_contains({key.data(), key.size()});
  if (v == nullptr) return true;
  const boost::json::string* s = v->if_string();
  if (s == nullptr) return false;
  *out = std::string(View(*s));
  return true;
}

// Reads a required string field.
bool RequiredString(const boost::json::object& obj, absl::string_view key,
                    std::string* out) {
  std::optional<std::string> value;
  if (!OptionalString(obj, key, &value) || !value.has_value()) return false;
  *out = std::move(*value);
  return true;
}

// Reads an optional array field ([] when absent). Returns false when present
// but not an array (null included, as in Meteor's `'params' in msg` check).
bool OptionalArray(const boost::json::object& obj, absl::string_view key,
                   boost::json::array* out) {
  const boost::json::value* v = obj.if_contains({key.data(), key.size()});
  if (v == nullptr) return true;
  const boost::json::array* a = v->if_array();
  if (a == nullptr) return false;
  *out = *a;
  return true;
}

ConnectMessage DecodeConnect(const boost::json::object& obj) {
  ConnectMessage m;
  const boost::json::value* version = obj.if_contains("version");
  const boost::json::value* support = obj.if_contains("support");
  if (version == nullptr || !version->is_string() || support == nullptr ||
      !support->is_array()) {
    return m;
  }
  m.version = std::string(View(version->get_string()));
  for (const boost::json::value& v : support->get_array()) {
    if (!v.is_string()) return m;
    m.support.emplace_back(View(v.get_string()));
  }
  m.well_formed = std::find(m.support.begin(), m.support.end(), m.version) !=
                  m.support.end();
  return m;
}

decltype(ClientMessage::body) DecodeSub(const boost::json::object& obj) {
  SubMessage m;
  if (!RequiredString(obj, "id", &m.id) ||
      !RequiredString(obj, "name", &m.name) ||
      !OptionalArray(obj, "params", &m.params)) {
    return MalformedMessage{"Malformed subscription"};
  }
  if (const boost::json::value* since = obj.if_contains("since")) {
    m.since = *since;
  }
  return m;
}

decltype(ClientMessage::body) DecodeUnsub(const boost::json::object& obj) {
  UnsubMessage m;
  if (!OptionalString(obj, "id", &m.id)) {
    return MalformedMessage{"Malformed unsubscription"};
  }
  return m;
}

decltype(ClientMessage::body) DecodeMethod(const boost::json::object& obj) {
  MethodMessage m;
  if (!RequiredString(obj, "id", &m.id) ||
      !RequiredString(obj, "method", &m.method) ||
      !OptionalArray(obj, "params", &m.params) ||
      !OptionalString(obj, "randomSeed", &m.random_seed)) {
    return MalformedMessage{"Malformed method invocation"};
  }
  return m;
}

decltype(ClientMessage::body) DecodeBody(const boost::json::object& obj,
                                         const boost::json::value& msg) {
  const boost::json::string* type = msg.if_string();
  if (type == nullptr) return UnknownMessage{};
  const absl::string_view t = View(*type);
  if (t == "connect") return DecodeConnect(obj);
  if (t == "ping") {
    PingMessage m;
    if (!OptionalString(obj, "id", &m.id)) m.id.reset();
    return m;
  }
  if (t == "pong") return PongMessage{};
  if (t == "sub") return DecodeSub(obj);
  if (t == "unsub") return DecodeUnsub(obj);
  if (t == "method") return DecodeMethod(obj);
  return UnknownMessage{};
}

}  // namespace

bool IsTruthy(const boost::json::value& v) {
  switch (v.kind()) {
    case boost::json::kind::null:
      return false;
    case boost::json::kind::bool_:
      return v.get_bool();
    case boost::json::kind::int64:
      return v.get_int64() != 0;
    case boost::json::kind::uint64:
      return v.get_uint64() != 0;
    case boost::json::kind::double_:
      return v.get_double() != 0 && !std::isnan(v.get_double());
    case boost::json::kind::string:
      return !v.get_string().empty();
    case boost::json::kind::array:
    case boost::json::kind::object:
      return true;
  }
  return true;
}

ParseResult ParseClientMessage(absl::string_view text,
                               const CodecOptions& options) {
  boost::json::parse_options parse_options;
  parse_options.max_depth =
      static_cast<size_t>(std::max(options.max_json_depth, 1));
  boost::system::error_code ec;
  boost::json::value raw =
      boost::json::parse(boost::json::string_view(text.data(), text.size()), ec,
                         boost::json::storage_ptr(), parse_options);
  if (ec || !(raw.is_object() || raw.is_array())) {
    return ErrorReply{
        WriteError("Bad request", nullptr, options.max_offending_echo)};
  }
  const boost::json::object* obj = raw.if_object();
  const boost::json::value* msg =
      obj != nullptr ? obj->if_contains("msg") : nullptr;
  if (msg == nullptr || !IsTruthy(*msg)) {
    return ErrorReply{
        WriteError("Bad request", &raw, options.max_offending_echo)};
  }
  ClientMessage out{DecodeBody(*obj, *msg), boost::json::value()};
  out.raw = std::move(raw);
  return out;
}

VersionDecision NegotiateVersion(const ConnectMessage& connect) {
  if (!connect.well_formed) {
    return {false, std::string(kSupportedVersions[0])};
  }
  std::string chosen(kSupportedVersions[0]);
  for (const std::string& v : connect.support) {
    if (std::find(std::begin(kSupportedVersions), std::end(kSupportedVersions),
                  v) != std::end(kSupportedVersions)) {
      chosen = v;
      break;
    }
  }
  const bool accepted = chosen == connect.version;
  return {accepted, std::move(chosen)};
}

}  // namespace vent::ddp
