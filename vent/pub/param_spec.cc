#include "vent/pub/param_spec.h"

#include <cmath>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "boost/json/parse.hpp"
#include "vent/base/json_write.h"

namespace vent::pub {
namespace {

namespace json = boost::json;

// Largest magnitude at which every integer is exactly representable as a
// double (and in JavaScript): 2^53.
constexpr double kMaxSafeInteger = 9007199254740992.0;

bool ValidParamName(absl::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  if (!absl::ascii_isalpha(name[0]) && name[0] != '_') return false;
  for (char c : name) {
    if (!absl::ascii_isalnum(c) && c != '_') return false;
  }
  return true;
}

const std::string& EmptyString() {
  static const std::string* const kEmpty = new std::string();
  return *kEmpty;
}

}  // namespace

absl::StatusOr<ParamType> ParseParamType(absl::string_view text) {
  if (text == "string") return ParamType::kString;
  if (text == "number") return ParamType::kNumber;
  if (text == "integer") return ParamType::kInteger;
  if (text == "boolean") return ParamType::kBoolean;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown type '", text,
                   "' (expected string, number, integer or boolean)"));
}

absl::string_view ParamTypeName(ParamType type) {
  switch (type) {
    case ParamType::kString:
      return "string";
    case ParamType::kNumber:
      return "number";
    case ParamType::kInteger:
      return "integer";
    case ParamType::kBoolean:
      return "boolean";
  }
  return "?";
}

absl::StatusOr<ParamSpec> ParamSpec::Create(
    std::string name, ParamType type, std::optional<std::string> pattern) {
  if (!ValidParamName(name)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "param name '", name, "' must match [A-Za-z_][A-Za-z0-9_]{0,63}"));
  }
  if (name == "userId") {
    return absl::InvalidArgumentError(
        "param name 'userId' is reserved for the logged-in user's id");
  }
  if (type != ParamType::kString) {
    if (pattern.has_value()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "param '", name, "': pattern is only allowed on type string"));
    }
    return ParamSpec(std::move(name), type, nullptr);
  }
  std::string source = pattern.has_value() ? *std::move(pattern)
                                           : std::string(kDefaultStringPattern);
  RE2::Options options;
  options.set_log_errors(false);  // errors are reported through the Status
  auto re = std::make_shared<const RE2>(source, options);
  if (!re->ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("param '", name, "': pattern '", source,
                     "' does not compile: ", re->error()));
  }
  return ParamSpec(std::move(name), type, std::move(re));
}

const std::string& ParamSpec::pattern_source() const {
  return pattern_ ? pattern_->pattern() : EmptyString();
}

absl::StatusOr<json::value> ParamSpec::Check(const json::value& v) const {
  auto refuse = [&](absl::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat("param '", name_, "' ", why));
  };
  switch (type_) {
    case ParamType::kString: {
      if (!v.is_string()) return refuse("must be a string");
      const json::string& s = v.get_string();
      if (s.size() > kMaxStringParamBytes) {
        return refuse(
            absl::StrCat("is longer than ", kMaxStringParamBytes, " bytes"));
      }
      // FullMatch anchors at both ends whatever the pattern says.
      if (!RE2::FullMatch(re2::StringPiece(s.data(), s.size()), *pattern_)) {
        return refuse(absl::StrCat("does not match ", pattern_->pattern()));
      }
      return v;
    }
    case ParamType::kBoolean:
      if (!v.is_bool()) return refuse("must be a boolean");
      return v;
    case ParamType::kNumber:
      if (v.is_int64() || v.is_uint64()) return v;
      if (v.is_double() && std::isfinite(v.get_double())) return v;
      return refuse("must be a finite number");
    case ParamType::kInteger:
      if (v.is_int64() || v.is_uint64()) return v;
      if (v.is_double()) {
        double d = v.get_double();
        if (std::trunc(d) == d && std::fabs(d) <= kMaxSafeInteger) {
          return json::value(static_cast<int64_t>(d));
        }
      }
      return refuse("must be an integer");
  }
  return refuse("has an unknown type");
}

void ParamSpec::Render(const json::value& v, std::string* out) const {
  if (v.is_string()) {
    out->append(v.get_string().data(), v.get_string().size());
    return;
  }
  // Check() accepts only strings, booleans and numbers: the JSON text of a
  // boolean or number is its rendering (integers exact, doubles as
  // JavaScript's String(x)).
  AppendJsonValue(out, v);
}

bool ParamSpec::MatchesRendered(absl::string_view text) const {
  if (text.empty()) return false;
  if (type_ == ParamType::kString) {
    return RE2::FullMatch(re2::StringPiece(text.data(), text.size()),
                          *pattern_);
  }
  boost::system::error_code ec;
  json::value v = json::parse(json::string_view(text.data(), text.size()), ec);
  if (ec) return false;
  absl::StatusOr<json::value> checked = Check(v);
  if (!checked.ok()) return false;
  std::string again;
  Render(*checked, &again);
  return again == text;
}

}  // namespace vent::pub
