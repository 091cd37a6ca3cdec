// Structured logging: one line per event on stderr, logfmt by default
//   ts=2026-11-28T13:46:29.123Z level=info msg="redis connected"
//   addr=127.0.0.1:6379
// or, with SetFormat("json"), one JSON object per line (for log shippers):
//   {"ts":"2026-11-28T13:46:29.123Z","level":"info","msg":"redis connected",
//    "addr":"127.0.0.1:6379","db":3}
// In JSON, numbers and booleans are JSON numbers and booleans, everything
// else a string (invalid UTF-8 replaced by U+FFFD, so every line parses).
// Thread-safe (each line is written with one write(2)). There is no global
// logger object to construct; level and format are process-wide and set once
// at startup (before other threads log).
//
// Usage: VENT_LOG_INFO("redis connected", "addr", addr, "db", 3);
// Keys and values alternate; values are anything absl::StrCat accepts.
// Never log secrets (passwords, API keys, tokens): pass a redacted form.
#ifndef VENT_BASE_LOG_H_
#define VENT_BASE_LOG_H_

#include <atomic>
#include <string>
#include <type_traits>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace vent::log {

enum class Level { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

// Parses "debug" | "info" | "warn" | "error".
absl::Status SetLevel(absl::string_view name);
void SetLevel(Level level);
Level GetLevel();
inline bool Enabled(Level level) { return level >= GetLevel(); }

enum class Format { kText = 0, kJson = 1 };
// Parses "text" (logfmt, the default) | "json".
absl::Status SetFormat(absl::string_view name);
void SetFormat(Format format);
Format GetFormat();

// Appends one field in the current format: ` key=value` (quoted when needed)
// or `,"key":"value"`. `literal` marks a value that is a JSON number or
// boolean as written (used unquoted in JSON).
void AppendField(std::string& line, absl::string_view key,
                 absl::string_view value, bool literal = false);
// Writes one complete line (adds ts, level, msg) from fields appended by
// AppendField in the current format.
void Write(Level level, absl::string_view msg, absl::string_view fields);

namespace internal {
// Value formatting: absl::StrCat for everything, Status through ToString().
inline std::string LogValue(const absl::Status& v) { return v.ToString(); }
template <typename V>
std::string LogValue(const V& v) {
  if constexpr (std::is_same_v<V, bool>) {
    return v ? "true" : "false";
  } else {
    return absl::StrCat(v);
  }
}
// Integers and booleans are JSON literals (floats may be inf/nan: strings).
template <typename V>
constexpr bool IsLiteral() {
  return std::is_integral_v<V> && !std::is_same_v<V, char>;
}
inline void AppendFields(std::string&) {}
template <typename V, typename... Rest>
void AppendFields(std::string& line, absl::string_view key, const V& value,
                  const Rest&... rest) {
  AppendField(line, key, LogValue(value), IsLiteral<V>());
  AppendFields(line, rest...);
}
}  // namespace internal

template <typename... KV>
void Log(Level level, absl::string_view msg, const KV&... kv) {
  if (!Enabled(level)) return;
  std::string fields;
  internal::AppendFields(fields, kv...);
  Write(level, msg, fields);
}

}  // namespace vent::log

#define VENT_LOG_DEBUG(...) \
  ::vent::log::Log(::vent::log::Level::kDebug, __VA_ARGS__)
#define VENT_LOG_INFO(...) \
  ::vent::log::Log(::vent::log::Level::kInfo, __VA_ARGS__)
#define VENT_LOG_WARN(...) \
  ::vent::log::Log(::vent::log::Level::kWarn, __VA_ARGS__)
#define VENT_LOG_ERROR(...) \
  ::vent::log::Log(::vent::log::Level::kError, __VA_ARGS__)

#endif  // VENT_BASE_LOG_H_
