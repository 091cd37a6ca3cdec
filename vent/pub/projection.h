// The `fields` projection of a publication: keeps only the listed keys of an
// event object. "a.b.c" reaches into nested objects and keeps the enclosing
// objects with only the selected keys ({"a":{"b":{"c":1}}}). Keys keep the
// event's order; values (falsy ones included) are copied unchanged in
// meaning and written compactly as JSON.stringify would. A key that is a
// prefix of another ("a" and "a.b") wins: all of "a" is kept.
//
// Immutable after Create(); Apply() is thread-safe and allocation-light
// (the DOM lives in a per-call monotonic buffer).
#ifndef VENT_PUB_PROJECTION_H_
#define VENT_PUB_PROJECTION_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "boost/json/object.hpp"

namespace vent::pub {

inline constexpr std::size_t kMaxFields = 64;
inline constexpr std::size_t kMaxFieldDepth = 16;  // segments in a dotted path

class Projection {
 public:
  // `fields`: 1..kMaxFields dotted paths of non-empty segments, no control
  // characters. Errors are InvalidArgument.
  static absl::StatusOr<Projection> Create(
      const std::vector<std::string>& fields);

  const std::vector<std::string>& fields() const { return fields_; }

  // The projected event, or nullopt when `json_text` is not valid JSON (same
  // rules as ScanJson), not an object, or none of the fields is present.
  std::optional<std::string> Apply(absl::string_view json_text) const;

 private:
  struct Node {
    std::string key;
    bool whole = false;  // keep the entire value
    std::vector<Node> children;
  };

  Projection() = default;
  static bool Emit(const boost::json::object& obj,
                   const std::vector<Node>& nodes, std::string* out);

  std::vector<std::string> fields_;
  std::vector<Node> root_;
};

}  // namespace vent::pub

#endif  // VENT_PUB_PROJECTION_H_
