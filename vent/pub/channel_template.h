// A channel name template such as "threads::{threadId}::new_message".
//
// Syntax: `{name}` is replaced by the value of the declared param `name`;
// `{userId}` by the logged-in user's id; `{{` and `}}` are a literal `{` and
// `}` (e.g. Redis Cluster hash tags: "{{{tenant}}}::events" renders
// "{acme}::events"). Anything else with braces is a load error.
//
// Immutable after Parse(); thread-safe.
#ifndef VENT_PUB_CHANNEL_TEMPLATE_H_
#define VENT_PUB_CHANNEL_TEMPLATE_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "boost/json/value.hpp"
#include "vent/pub/param_spec.h"

namespace vent::pub {

// Rendered channel names longer than this are refused.
inline constexpr std::size_t kMaxChannelBytes = 1024;

class ChannelTemplate {
 public:
  // `params` are the publication's declared params; a placeholder naming any
  // other param is an InvalidArgument error. The template must be non-empty,
  // at most kMaxChannelBytes long, and contain no control characters.
  static absl::StatusOr<ChannelTemplate> Parse(
      absl::string_view text, const std::vector<ParamSpec>& params);

  const std::string& text() const { return text_; }
  bool uses_user_id() const { return uses_user_id_; }

  // Renders with `values[i]` = the checked value of params[i] (same order as
  // given to Parse). REQUIRES: values.size() == params.size(), and user_id
  // non-empty when uses_user_id(). Errors (InvalidArgument): the result is
  // longer than kMaxChannelBytes or contains a control character (a value
  // allowed by a permissive pattern, or a strange user id).
  absl::StatusOr<std::string> Render(
      const std::vector<ParamSpec>& params,
      const std::vector<const boost::json::value*>& values,
      absl::string_view user_id) const;

  // True when some params (and user id) accepted by the publication render
  // exactly `channel`. Each placeholder must cover a non-empty part that
  // passes its param's check ({userId}: any non-empty part); every way of
  // splitting `channel` at the literals is tried.
  bool Matches(absl::string_view channel,
               const std::vector<ParamSpec>& params) const;

 private:
  struct Segment {
    enum Kind { kLiteral, kParam, kUserId } kind;
    std::string literal;    // kLiteral
    std::size_t param = 0;  // kParam: index into params
  };

  ChannelTemplate() = default;
  bool MatchFrom(std::size_t segment, absl::string_view rest,
                 const std::vector<ParamSpec>& params) const;

  std::string text_;
  std::vector<Segment> segments_;
  bool uses_user_id_ = false;
};

// True when `s` contains a byte < 0x20 or 0x7f.
bool HasControlChar(absl::string_view s);

}  // namespace vent::pub

#endif  // VENT_PUB_CHANNEL_TEMPLATE_H_
