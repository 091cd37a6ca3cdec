#include "vent/base/log.h"

#include <unistd.h>

#include "absl/strings/ascii.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "vent/base/json_write.h"
#include "vent/base/utf8.h"

namespace vent::log {
namespace {
std::atomic<int> g_level{static_cast<int>(Level::kInfo)};
std::atomic<int> g_format{static_cast<int>(Format::kText)};

const char* LevelName(Level level) {
  switch (level) {
    case Level::kDebug:
      return "debug";
    case Level::kInfo:
      return "info";
    case Level::kWarn:
      return "warn";
    case Level::kError:
      return "error";
  }
  return "info";
}

bool NeedsQuotes(absl::string_view v) {
  if (v.empty()) return true;
  for (char c : v) {
    if (c <= ' ' || c == '"' || c == '=' || c == '\\' || c == 0x7f) return true;
  }
  return false;
}
// A JSON string of `s`; invalid UTF-8 sequences become U+FFFD so the line
// stays valid JSON whatever a value holds.
void AppendJsonText(std::string& out, absl::string_view s) {
  size_t bad;
  if (IsValidUtf8(s, &bad)) {
    AppendJsonString(&out, s);
    return;
  }
  std::string clean;
  while (!IsValidUtf8(s, &bad)) {
    clean.append(s.data(), bad);
    clean.append("\xEF\xBF\xBD");
    s.remove_prefix(bad + 1);
  }
  clean.append(s.data(), s.size());
  AppendJsonString(&out, clean);
}
}  // namespace

absl::Status SetFormat(absl::string_view name) {
  std::string n = absl::AsciiStrToLower(name);
  if (n == "text" || n == "logfmt")
    SetFormat(Format::kText);
  else if (n == "json")
    SetFormat(Format::kJson);
  else
    return absl::InvalidArgumentError(
        absl::StrCat("log format must be text or json, got \"", name, "\""));
  return absl::OkStatus();
}
void SetFormat(Format format) { g_format.store(static_cast<int>(format)); }
Format GetFormat() {
  return static_cast<Format>(g_format.load(std::memory_order_relaxed));
}

absl::Status SetLevel(absl::string_view name) {
  std::string n = absl::AsciiStrToLower(name);
  if (n == "debug")
    SetLevel(Level::kDebug);
  else if (n == "info")
    SetLevel(Level::kInfo);
  else if (n == "warn" || n == "warning")
    SetLevel(Level::kWarn);
  else if (n == "error")
    SetLevel(Level::kError);
  else
    return absl::InvalidArgumentError(absl::StrCat(
        "log level must be debug, info, warn or error, got \"", name, "\""));
  return absl::OkStatus();
}
void SetLevel(Level level) { g_level.store(static_cast<int>(level)); }
Level GetLevel() {
  return static_cast<Level>(g_level.load(std::memory_order_relaxed));
}

void AppendField(std::string& line, absl::string_view key,
                 absl::string_view value, bool literal) {
  if (GetFormat() == Format::kJson) {
    line.push_back(',');
    AppendJsonText(line, key);
    line.push_back(':');
    if (literal) {
      line.append(value.data(), value.size());
    } else {
      AppendJsonText(line, value);
    }
    return;
  }
  line.push_back(' ');
  line.append(key.data(), key.size());
  line.push_back('=');
  if (!NeedsQuotes(value)) {
    line.append(value.data(), value.size());
    return;
  }
  line.push_back('"');
  for (unsigned char c : value) {
    if (c == '"' || c == '\\') {
      line.push_back('\\');
      line.push_back(static_cast<char>(c));
    } else if (c == '\n') {
      line.append("\\n");
    } else if (c < 0x20 || c == 0x7f) {
      absl::StrAppend(&line, "\\x", absl::Hex(c, absl::kZeroPad2));
    } else {
      line.push_back(static_cast<char>(c));
    }
  }
  line.push_back('"');
}

void Write(Level level, absl::string_view msg, absl::string_view fields) {
  if (GetFormat() == Format::kJson) {
    std::string line =
        absl::StrCat("{\"ts\":\"",
                     absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(),
                                      absl::UTCTimeZone()),
                     "\",\"level\":\"", LevelName(level), "\",\"msg\":");
    AppendJsonText(line, msg);
    line.append(fields.data(), fields.size());
    line.append("}\n");
    ssize_t unused = ::write(STDERR_FILENO, line.data(), line.size());
    (void)unused;
    return;
  }
  std::string line =
      absl::StrCat("ts=",
                   absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(),
                                    absl::UTCTimeZone()),
                   " level=", LevelName(level));
  AppendField(line, "msg", msg);
  line.append(fields.data(), fields.size());
  line.push_back('\n');
  // One write(2) per line keeps lines whole across threads.
  ssize_t unused = ::write(STDERR_FILENO, line.data(), line.size());
  (void)unused;
}

}  // namespace vent::log
