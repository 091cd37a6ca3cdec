#include "server/http_emit_codec.h"

#include <cstdint>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "vent/base/json_write.h"
#include "vent/event/event.h"
#include "vent/event/validate.h"

namespace vent::server {
namespace {

// Walks a body that boost::json already accepted (ValidateJson), so the
// syntax is known to be right: the scanner only finds extents and decodes
// strings. No recursion: nesting is counted, never followed.
class Scanner {
 public:
  explicit Scanner(absl::string_view s) : s_(s) {}

  void SkipWs() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' ||
                                s_[pos_] == '\n' || s_[pos_] == '\r')) {
      ++pos_;
    }
  }
  char Peek() {
    SkipWs();
    return pos_ < s_.size() ? s_[pos_] : '\0';
  }
  void Take() { ++pos_; }

  // At '"': the decoded string.
  std::string String() {
    std::string out;
    ++pos_;  // "
    while (pos_ < s_.size() && s_[pos_] != '"') {
      char c = s_[pos_++];
      if (c != '\\') {
        out.push_back(c);
        continue;
      }
      char e = s_[pos_++];
      switch (e) {
        case 'b':
          out.push_back('\b');
          break;
        case 'f':
          out.push_back('\f');
          break;
        case 'n':
          out.push_back('\n');
          break;
        case 'r':
          out.push_back('\r');
          break;
        case 't':
          out.push_back('\t');
          break;
        case 'u': {
          uint32_t cp = Hex4();
          if (cp >= 0xD800 && cp <= 0xDBFF && pos_ + 1 < s_.size() &&
              s_[pos_] == '\\' && s_[pos_ + 1] == 'u') {
            pos_ += 2;
            uint32_t lo = Hex4();
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          }
          AppendUtf8(out, cp);
          break;
        }
        default:
          out.push_back(e);  // " \ /
      }
    }
    ++pos_;  // "
    return out;
  }

  // The raw text of the value at the current position.
  absl::string_view Value() {
    SkipWs();
    const size_t start = pos_;
    if (pos_ >= s_.size()) return {};
    char c = s_[pos_];
    if (c == '"') {
      SkipString();
    } else if (c == '{' || c == '[') {
      int depth = 0;
      while (pos_ < s_.size()) {
        c = s_[pos_];
        if (c == '"') {
          SkipString();
          continue;
        }
        ++pos_;
        if (c == '{' || c == '[') {
          ++depth;
        } else if ((c == '}' || c == ']') && --depth == 0) {
          break;
        }
      }
    } else {  // number, true, false, null
      while (pos_ < s_.size() && s_[pos_] != ',' && s_[pos_] != '}' &&
             s_[pos_] != ']' && s_[pos_] != ' ' && s_[pos_] != '\t' &&
             s_[pos_] != '\n' && s_[pos_] != '\r') {
        ++pos_;
      }
    }
    return s_.substr(start, pos_ - start);
  }

 private:
  void SkipString() {
    ++pos_;
    while (pos_ < s_.size() && s_[pos_] != '"')
      pos_ += s_[pos_] == '\\' ? 2 : 1;
    ++pos_;
  }
  uint32_t Hex4() {
    uint32_t v = 0;
    for (int i = 0; i < 4 && pos_ < s_.size(); ++i, ++pos_) {
      char c = s_[pos_];
      v = v * 16 + static_cast<uint32_t>(c <= '9'   ? c - '0'
                                         : c <= 'F' ? c - 'A' + 10
                                                    : c - 'a' + 10);
    }
    return v;
  }
  static void AppendUtf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
      out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }

  absl::string_view s_;
  size_t pos_ = 0;
};

// `wrappers` levels of the body enclose every `data_field` value, which may
// nest `data_depth` levels.
absl::Status ValidateBody(absl::string_view body, size_t data_depth,
                          size_t wrappers, absl::string_view data_field) {
  if (size_t bad; !event::IsValidUtf8(body, &bad)) {
    return absl::InvalidArgumentError(
        absl::StrCat("body: not valid UTF-8 at byte ", bad));
  }
  event::Limits l;
  l.max_payload = body.size();
  l.max_depth = data_depth + wrappers;
  absl::Status s = event::ValidateJson(body, l, "body");
  if (event::IsTooDeep(s)) {
    // The body's own levels are not the user's concern: report the data
    // limit (the deeper levels are all inside `data`).
    return absl::InvalidArgumentError(absl::StrCat(
        data_field, ": nesting deeper than ", data_depth, " levels"));
  }
  return s;
}

// Reads the members of one event object at `sc` (after its '{').
absl::StatusOr<HttpEvent> ParseEvent(Scanner& sc, absl::string_view where) {
  HttpEvent ev;
  bool has_channel = false, has_data = false, has_key = false;
  auto field = [&](absl::string_view f) {
    return where.empty() ? std::string(f) : absl::StrCat(where, ".", f);
  };
  if (sc.Peek() == '}') {
    sc.Take();
  } else {
    for (;;) {
      std::string key = sc.String();
      sc.Peek();
      sc.Take();  // :
      const char t = sc.Peek();
      bool* seen = nullptr;
      if (key == "channel" || key == "idempotency_key") {
        seen = key == "channel" ? &has_channel : &has_key;
        if (*seen) {
          return absl::InvalidArgumentError(
              absl::StrCat(field(key), ": given twice"));
        }
        if (t != '"') {
          return absl::InvalidArgumentError(
              absl::StrCat(field(key), ": must be a JSON string"));
        }
        (key == "channel" ? ev.channel : ev.idempotency_key) = sc.String();
      } else if (key == "data") {
        if (has_data) {
          return absl::InvalidArgumentError(
              absl::StrCat(field("data"), ": given twice"));
        }
        ev.data = sc.Value();
        seen = &has_data;
      } else {
        std::string shown;
        AppendJsonString(&shown, key.substr(0, 64));
        return absl::InvalidArgumentError(absl::StrCat(
            where.empty() ? "body" : where, ": unknown field ", shown,
            " (the fields are channel, data, idempotency_key)"));
      }
      *seen = true;
      if (sc.Peek() == ',') {
        sc.Take();
        sc.Peek();
        continue;
      }
      sc.Take();  // }
      break;
    }
  }
  if (!has_channel) {
    return absl::InvalidArgumentError(
        absl::StrCat(field("channel"), ": missing"));
  }
  if (!has_data) {
    return absl::InvalidArgumentError(absl::StrCat(field("data"), ": missing"));
  }
  return ev;
}

}  // namespace

absl::StatusOr<HttpEvent> ParseEmitBody(absl::string_view body,
                                        size_t max_depth) {
  // object -> data: the data's own limit plus the body level, and one more
  // so that data one level too deep reaches the exact check.
  if (absl::Status s = ValidateBody(body, max_depth, 2, "data"); !s.ok()) {
    return s;
  }
  Scanner sc(body);
  if (sc.Peek() != '{') {
    return absl::InvalidArgumentError(
        "body: must be a JSON object {\"channel\": ..., \"data\": ...}");
  }
  sc.Take();
  return ParseEvent(sc, "");
}

absl::StatusOr<std::vector<HttpEvent>> ParseEmitBatchBody(
    absl::string_view body, size_t max_depth, size_t max_events) {
  // object -> events array -> event object -> data.
  if (absl::Status s = ValidateBody(body, max_depth, 4, "events[].data");
      !s.ok()) {
    return s;
  }
  Scanner sc(body);
  const std::string shape =
      "body: must be a JSON object {\"events\": [{\"channel\": ..., "
      "\"data\": ...}, ...]}";
  if (sc.Peek() != '{') return absl::InvalidArgumentError(shape);
  sc.Take();
  if (sc.Peek() != '"') return absl::InvalidArgumentError(shape);
  if (std::string key = sc.String(); key != "events") {
    std::string shown;
    AppendJsonString(&shown, key.substr(0, 64));
    return absl::InvalidArgumentError(absl::StrCat(
        "body: unknown field ", shown, " (the only field is events)"));
  }
  sc.Peek();
  sc.Take();  // :
  if (sc.Peek() != '[') {
    return absl::InvalidArgumentError("events: must be a JSON array");
  }
  sc.Take();
  std::vector<HttpEvent> out;
  if (sc.Peek() == ']') {
    return absl::InvalidArgumentError("events: empty batch");
  }
  for (;;) {
    if (out.size() == max_events) {
      size_t n = out.size();
      // Count the rest only to say how many (cheap: the body is valid).
      while (sc.Peek() == '{' || sc.Peek() == ',') {
        if (sc.Peek() == ',') sc.Take();
        sc.Value();
        ++n;
      }
      return absl::InvalidArgumentError(
          absl::StrCat("events: ", n, " events is over the ", max_events,
                       "-event limit (--max-batch)"));
    }
    const std::string where = absl::StrCat("events[", out.size(), "]");
    if (sc.Peek() != '{') {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": must be a JSON object"));
    }
    sc.Take();
    auto ev = ParseEvent(sc, where);
    if (!ev.ok()) return ev.status();
    out.push_back(*std::move(ev));
    if (sc.Peek() == ',') {
      sc.Take();
      continue;
    }
    sc.Take();  // ]
    break;
  }
  if (sc.Peek() == ',') {
    return absl::InvalidArgumentError(
        "body: unknown field after events (the only field is events)");
  }
  return out;
}

std::string EncodeEmitReply(const HttpEmitResult& r) {
  return absl::StrCat("{\"id\":\"", r.id, "\",\"receivers\":", r.receivers,
                      ",\"duplicate\":", r.duplicate ? "true" : "false", "}");
}

std::string EncodeEmitBatchReply(const std::vector<HttpEmitResult>& results) {
  std::string out = "{\"results\":[";
  for (size_t i = 0; i < results.size(); ++i) {
    if (i > 0) out.push_back(',');
    out += EncodeEmitReply(results[i]);
  }
  out += "]}";
  return out;
}

std::string EncodeError(absl::StatusCode code, absl::string_view message) {
  std::string out = absl::StrCat("{\"error\":{\"code\":\"", CodeName(code),
                                 "\",\"message\":");
  AppendJsonString(&out, message);
  out += "}}";
  return out;
}

int HttpStatusFor(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kOk:
      return 200;
    case absl::StatusCode::kInvalidArgument:
      return 400;
    case absl::StatusCode::kUnauthenticated:
      return 401;
    case absl::StatusCode::kPermissionDenied:
      return 403;
    case absl::StatusCode::kNotFound:
      return 404;
    case absl::StatusCode::kResourceExhausted:
      return 429;
    case absl::StatusCode::kUnavailable:
      return 503;
    case absl::StatusCode::kDeadlineExceeded:
      return 504;
    default:
      return 500;
  }
}

const char* CodeName(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kOk:
      return "OK";
    case absl::StatusCode::kCancelled:
      return "CANCELLED";
    case absl::StatusCode::kInvalidArgument:
      return "INVALID_ARGUMENT";
    case absl::StatusCode::kDeadlineExceeded:
      return "DEADLINE_EXCEEDED";
    case absl::StatusCode::kNotFound:
      return "NOT_FOUND";
    case absl::StatusCode::kPermissionDenied:
      return "PERMISSION_DENIED";
    case absl::StatusCode::kResourceExhausted:
      return "RESOURCE_EXHAUSTED";
    case absl::StatusCode::kFailedPrecondition:
      return "FAILED_PRECONDITION";
    case absl::StatusCode::kUnimplemented:
      return "UNIMPLEMENTED";
    case absl::StatusCode::kUnavailable:
      return "UNAVAILABLE";
    case absl::StatusCode::kUnauthenticated:
      return "UNAUTHENTICATED";
    default:
      return "INTERNAL";
  }
}

std::string HttpFieldNames(absl::string_view message) {
  std::string m(message);
  if (absl::StartsWith(m, "event.")) m = m.substr(6);
  if (absl::StartsWith(m, "json:")) return absl::StrCat("data", m.substr(4));
  if (absl::StartsWith(m, "events[")) {
    size_t close = m.find("].json:");
    if (close != std::string::npos && close < m.find(' ')) {
      m.replace(close, 7, "].data:");
    }
  }
  return m;
}

}  // namespace vent::server
