#include "vent/pub/channel_template.h"

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace vent::pub {

bool HasControlChar(absl::string_view s) {
  for (char ch : s) {
    unsigned char c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7f) return true;
  }
  return false;
}

absl::StatusOr<ChannelTemplate> ChannelTemplate::Parse(
    absl::string_view text, const std::vector<ParamSpec>& params) {
  auto refuse = [&](absl::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat("channel template '", text, "': ", why));
  };
  if (text.empty()) return refuse("is empty");
  if (text.size() > kMaxChannelBytes) {
    return refuse(absl::StrCat("is longer than ", kMaxChannelBytes, " bytes"));
  }
  if (HasControlChar(text)) return refuse("contains a control character");

  ChannelTemplate t;
  t.text_ = std::string(text);
  std::string literal;
  auto flush = [&] {
    if (literal.empty()) return;
    t.segments_.push_back({Segment::kLiteral, std::move(literal), 0});
    literal.clear();
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '}') {
      if (i + 1 < text.size() && text[i + 1] == '}') {
        literal.push_back('}');
        ++i;
        continue;
      }
      return refuse("has an unmatched '}' (write '}}' for a literal brace)");
    }
    if (c != '{') {
      literal.push_back(c);
      continue;
    }
    if (i + 1 < text.size() && text[i + 1] == '{') {
      literal.push_back('{');
      ++i;
      continue;
    }
    std::size_t close = text.find('}', i + 1);
    if (close == absl::string_view::npos) {
      return refuse("has an unclosed '{' (write '{{' for a literal brace)");
    }
    absl::string_view name = text.substr(i + 1, close - i - 1);
    i = close;
    flush();
    if (name == "userId") {
      t.segments_.push_back({Segment::kUserId, "", 0});
      t.uses_user_id_ = true;
      continue;
    }
    std::size_t index = 0;
    while (index < params.size() && params[index].name() != name) ++index;
    if (index == params.size()) {
      std::vector<std::string> names;
      for (const ParamSpec& p : params) names.push_back(p.name());
      names.push_back("userId");
      return refuse(absl::StrCat("references undeclared param '{", name,
                                 "}' (available: ", absl::StrJoin(names, ", "),
                                 ")"));
    }
    t.segments_.push_back({Segment::kParam, "", index});
  }
  flush();
  return t;
}

absl::StatusOr<std::string> ChannelTemplate::Render(
    const std::vector<ParamSpec>& params,
    const std::vector<const boost::json::value*>& values,
    absl::string_view user_id) const {
  std::string out;
  for (const Segment& s : segments_) {
    switch (s.kind) {
      case Segment::kLiteral:
        out.append(s.literal);
        break;
      case Segment::kUserId:
        out.append(user_id.data(), user_id.size());
        break;
      case Segment::kParam:
        params[s.param].Render(*values[s.param], &out);
        break;
    }
    if (out.size() > kMaxChannelBytes) {
      return absl::InvalidArgumentError(
          absl::StrCat("channel for template '", text_,
                       "' would be longer than ", kMaxChannelBytes, " bytes"));
    }
  }
  if (HasControlChar(out)) {
    return absl::InvalidArgumentError(
        absl::StrCat("channel for template '", text_,
                     "' would contain a control character"));
  }
  return out;
}

bool ChannelTemplate::Matches(absl::string_view channel,
                              const std::vector<ParamSpec>& params) const {
  if (channel.empty() || channel.size() > kMaxChannelBytes) return false;
  return MatchFrom(0, channel, params);
}

bool ChannelTemplate::MatchFrom(std::size_t segment, absl::string_view rest,
                                const std::vector<ParamSpec>& params) const {
  if (segment == segments_.size()) return rest.empty();
  const Segment& s = segments_[segment];
  if (s.kind == Segment::kLiteral) {
    if (!absl::StartsWith(rest, s.literal)) return false;
    return MatchFrom(segment + 1, rest.substr(s.literal.size()), params);
  }
  auto accepts = [&](absl::string_view part) {
    return s.kind == Segment::kUserId ? !HasControlChar(part)
                                      : params[s.param].MatchesRendered(part);
  };
  // The placeholder ends where the next literal starts (or at the end).
  if (segment + 1 == segments_.size()) {
    return !rest.empty() && accepts(rest);
  }
  const Segment& next = segments_[segment + 1];
  if (next.kind != Segment::kLiteral) {
    // Two placeholders in a row: try every split.
    for (std::size_t n = 1; n < rest.size(); ++n) {
      if (accepts(rest.substr(0, n)) &&
          MatchFrom(segment + 1, rest.substr(n), params)) {
        return true;
      }
    }
    return false;
  }
  for (std::size_t at = rest.find(next.literal, 1);
       at != absl::string_view::npos; at = rest.find(next.literal, at + 1)) {
    if (accepts(rest.substr(0, at)) &&
        MatchFrom(segment + 1, rest.substr(at), params)) {
      return true;
    }
  }
  return false;
}

}  // namespace vent::pub
