#include "vent/event/event.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "vent/base/json_write.h"
#include "vent/base/status_macros.h"

namespace vent::event {
namespace {

using google::protobuf::ListValue;
using google::protobuf::Struct;
using google::protobuf::Value;

absl::Status AppendValue(std::string& out, const Value& v,
                         absl::string_view field);

absl::Status AppendStruct(std::string& out, const Struct& s,
                          absl::string_view field) {
  out.push_back('{');
  bool first = true;
  for (const auto& [key, value] : s.fields()) {
    if (!first) out.push_back(',');
    first = false;
    AppendJsonString(&out, key);
    out.push_back(':');
    VENT_RETURN_IF_ERROR(AppendValue(out, value, field));
  }
  out.push_back('}');
  return absl::OkStatus();
}

absl::Status AppendList(std::string& out, const ListValue& l,
                        absl::string_view field) {
  out.push_back('[');
  for (int i = 0; i < l.values_size(); ++i) {
    if (i) out.push_back(',');
    VENT_RETURN_IF_ERROR(AppendValue(out, l.values(i), field));
  }
  out.push_back(']');
  return absl::OkStatus();
}

absl::Status AppendNumber(std::string& out, double d, absl::string_view field) {
  if (!std::isfinite(d)) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, ": number ", d, " (NaN or infinity) is not valid JSON"));
  }
  AppendJsNumber(&out, d);
  return absl::OkStatus();
}

absl::Status AppendValue(std::string& out, const Value& v,
                         absl::string_view field) {
  switch (v.kind_case()) {
    case Value::kNullValue:
    case Value::KIND_NOT_SET:
      out.append("null");
      return absl::OkStatus();
    case Value::kNumberValue:
      return AppendNumber(out, v.number_value(), field);
    case Value::kStringValue:
      AppendJsonString(&out, v.string_value());
      return absl::OkStatus();
    case Value::kBoolValue:
      out.append(v.bool_value() ? "true" : "false");
      return absl::OkStatus();
    case Value::kStructValue:
      return AppendStruct(out, v.struct_value(), field);
    case Value::kListValue:
      return AppendList(out, v.list_value(), field);
  }
  return absl::InternalError("unknown Value kind");
}

}  // namespace

absl::StatusOr<std::string> StructToJson(const Struct& data,
                                         absl::string_view field) {
  std::string out;
  VENT_RETURN_IF_ERROR(AppendStruct(out, data, field));
  return out;
}

absl::StatusOr<RedisMessage> Encode(std::string channel, std::string json,
                                    const Struct* data, const Limits& limits,
                                    absl::string_view where) {
  VENT_RETURN_IF_ERROR(ValidateChannel(channel, limits, where));
  if (json.empty()) {
    if (data == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": no payload (set json or data)"));
    }
    std::string field = absl::StrCat(where, ".data");
    VENT_ASSIGN_OR_RETURN(json, StructToJson(*data, field));
    VENT_RETURN_IF_ERROR(ValidateJson(json, limits, field));
  } else if (absl::Status s = ValidateJson(json, limits, ""); !s.ok()) {
    // Validated with an empty field name (no string building on the hot
    // path); the message starts with the field, so prefix it now.
    return absl::Status(s.code(), absl::StrCat(where, ".json", s.message()));
  }
  return RedisMessage{std::move(channel), std::move(json)};
}

ReceivedEvent Decode(std::string channel,
                     std::shared_ptr<const std::string> message) {
  return ReceivedEvent{std::move(channel), std::move(message)};
}

}  // namespace vent::event
