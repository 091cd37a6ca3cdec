// One declared publication parameter: its type, its value check, and how its
// value is written into a channel name.
//
// Immutable after Create(); all methods are const and thread-safe (RE2
// matching is thread-safe). Copies share the compiled pattern.
#ifndef VENT_PUB_PARAM_SPEC_H_
#define VENT_PUB_PARAM_SPEC_H_

#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "boost/json/value.hpp"
#include "re2/re2.h"

namespace vent::pub {

enum class ParamType { kString, kNumber, kInteger, kBoolean };

// "string" | "number" | "integer" | "boolean".
absl::StatusOr<ParamType> ParseParamType(absl::string_view text);
absl::string_view ParamTypeName(ParamType type);

// String values longer than this are refused before any pattern runs (no
// channel could hold them: see kMaxChannelBytes).
inline constexpr std::size_t kMaxStringParamBytes = 1024;
// Used for string params declared without `pattern`.
inline constexpr absl::string_view kDefaultStringPattern =
    "[A-Za-z0-9_.-]{1,128}";

class ParamSpec {
 public:
  // `name` must match [A-Za-z_][A-Za-z0-9_]{0,63} and not be "userId".
  // `pattern` (RE2 syntax, always matched against the WHOLE value) is only
  // allowed for kString. Errors are InvalidArgument naming the problem.
  static absl::StatusOr<ParamSpec> Create(std::string name, ParamType type,
                                          std::optional<std::string> pattern);

  const std::string& name() const { return name_; }
  ParamType type() const { return type_; }
  // The effective pattern source (the default one when none was declared);
  // empty for non-string types.
  const std::string& pattern_source() const;
  // Null for non-string types.
  const RE2* pattern() const { return pattern_.get(); }

  // Checks `v` against the type (and pattern). OK -> the normalized value:
  // integers written as 5.0 become int64 5. Error -> InvalidArgument whose
  // message names the param but never echoes the value.
  absl::StatusOr<boost::json::value> Check(const boost::json::value& v) const;

  // Appends the channel form of a value Check() accepted: strings verbatim,
  // integers in decimal, numbers as JavaScript's String(n), booleans
  // true/false.
  void Render(const boost::json::value& v, std::string* out) const;

  // True when `text` is what Render() writes for some value Check() accepts
  // (the reverse of rendering, used to tell which publication a concrete
  // channel name belongs to).
  bool MatchesRendered(absl::string_view text) const;

 private:
  ParamSpec(std::string name, ParamType type, std::shared_ptr<const RE2> re)
      : name_(std::move(name)), type_(type), pattern_(std::move(re)) {}

  std::string name_;
  ParamType type_;
  std::shared_ptr<const RE2> pattern_;
};

}  // namespace vent::pub

#endif  // VENT_PUB_PARAM_SPEC_H_
