#include "vent/ddp/messages.h"

#include <cstdint>

#include "absl/strings/str_cat.h"
#include "vent/base/json_write.h"

namespace vent::ddp {
namespace {

void AppendIdArray(std::string* out, absl::Span<const std::string> ids) {
  out->push_back('[');
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i > 0) out->push_back(',');
    AppendJsonString(out, ids[i]);
  }
  out->push_back(']');
}

std::string ErrorCodeText(const Error& error) {
  if (const int* code = std::get_if<int>(&error.error)) {
    return absl::StrCat(*code);
  }
  return std::get<std::string>(error.error);
}

// {"msg":"<msg>"[,"id":"<id>"]}
std::string WriteMsgWithOptionalId(absl::string_view msg,
                                   const std::optional<std::string>& id) {
  std::string out = absl::StrCat("{\"msg\":\"", msg, "\"");
  if (id.has_value()) {
    out.append(",\"id\":");
    AppendJsonString(&out, *id);
  }
  out.push_back('}');
  return out;
}

}  // namespace

Error MakeError(int code, std::string reason) {
  return Error{code, std::move(reason), std::nullopt};
}

Error MakeError(std::string code, std::string reason) {
  return Error{std::move(code), std::move(reason), std::nullopt};
}

void AppendMeteorError(std::string* out, const Error& error) {
  out->append("{\"isClientSafe\":true,\"error\":");
  if (const int* code = std::get_if<int>(&error.error)) {
    AppendJsonInteger(out, int64_t{*code});
  } else {
    AppendJsonString(out, std::get<std::string>(error.error));
  }
  out->append(",\"reason\":");
  AppendJsonString(out, error.reason);
  if (error.details.has_value()) {
    out->append(",\"details\":");
    AppendJsonValue(out, *error.details);
  }
  out->append(",\"message\":");
  const std::string code = ErrorCodeText(error);
  AppendJsonString(out, error.reason.empty()
                            ? absl::StrCat("[", code, "]")
                            : absl::StrCat(error.reason, " [", code, "]"));
  out->append(",\"errorType\":\"Meteor.Error\"}");
}

std::string WriteConnected(absl::string_view session) {
  std::string out = "{\"msg\":\"connected\",\"session\":";
  AppendJsonString(&out, session);
  out.push_back('}');
  return out;
}

std::string WriteFailed(absl::string_view version) {
  std::string out = "{\"msg\":\"failed\",\"version\":";
  AppendJsonString(&out, version);
  out.push_back('}');
  return out;
}

std::string WritePing(const std::optional<std::string>& id) {
  return WriteMsgWithOptionalId("ping", id);
}

std::string WritePong(const std::optional<std::string>& id) {
  return WriteMsgWithOptionalId("pong", id);
}

std::string WriteReady(absl::Span<const std::string> sub_ids,
                       std::optional<bool> recovered,
                       absl::string_view positions_json) {
  std::string out = "{\"msg\":\"ready\",\"subs\":";
  AppendIdArray(&out, sub_ids);
  if (recovered.has_value()) {
    out.append(*recovered ? ",\"recovered\":true" : ",\"recovered\":false");
  }
  if (!positions_json.empty()) {
    out.append(",\"h\":");
    out.append(positions_json.data(), positions_json.size());
  }
  out.push_back('}');
  return out;
}

std::string WriteNosub(const std::optional<std::string>& id,
                       const Error* error) {
  std::string out = "{\"msg\":\"nosub\"";
  if (id.has_value()) {
    out.append(",\"id\":");
    AppendJsonString(&out, *id);
  }
  if (error != nullptr) {
    out.append(",\"error\":");
    AppendMeteorError(&out, *error);
  }
  out.push_back('}');
  return out;
}

std::string WriteResult(absl::string_view id, const boost::json::value* result,
                        const Error* error) {
  std::string out = "{\"msg\":\"result\",\"id\":";
  AppendJsonString(&out, id);
  if (error != nullptr) {
    out.append(",\"error\":");
    AppendMeteorError(&out, *error);
  } else if (result != nullptr) {
    out.append(",\"result\":");
    AppendJsonValue(&out, *result);
  }
  out.push_back('}');
  return out;
}

std::string WriteUpdated(absl::Span<const std::string> method_ids) {
  std::string out = "{\"msg\":\"updated\",\"methods\":";
  AppendIdArray(&out, method_ids);
  out.push_back('}');
  return out;
}

std::string WriteError(absl::string_view reason,
                       const boost::json::value* offending,
                       size_t max_offending_echo) {
  std::string out = "{\"msg\":\"error\",\"reason\":";
  AppendJsonString(&out, reason);
  if (offending != nullptr) {
    std::string echo = JsonText(*offending);
    if (echo.size() <= max_offending_echo) {
      out.append(",\"offendingMessage\":");
      out.append(echo);
    }
  }
  out.push_back('}');
  return out;
}

std::string VentFramePrefix(absl::string_view rand, absl::string_view pub) {
  std::string out = "{\"msg\":\"changed\",\"__vent\":\"1\",\"id\":";
  AppendJsonString(&out, absl::StrCat(rand, ".", pub));
  out.append(",\"e\":");
  return out;
}

}  // namespace vent::ddp
