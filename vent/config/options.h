// Declarative command-line/environment/YAML options shared by every binary.
//
// Each option is declared once with a name ("max-payload", lower-case words
// joined by '-') and a pointer to its destination, which already holds the
// default. Values are applied in this order, later ones winning:
//   1. the YAML file named by --config FILE or $VENT_CONFIG (key "max-payload"
//      or "max_payload", top level),
//   2. the environment ($VENT_MAX_PAYLOAD),
//   3. flags (--max-payload=V or --max-payload V).
// Unknown flags and unknown top-level YAML keys are errors (typos must not be
// silently ignored); sections parsed elsewhere (e.g. "publications") are
// declared with Section() and handed back in Parsed::yaml.
//
// Value syntax: durations "15s", "250ms", "1m"; sizes "65536", "64KiB", "4MiB",
// "1GiB"; booleans true/false/1/0/yes/no/on/off.
//
// Not thread-safe; used once in main().
#ifndef VENT_CONFIG_OPTIONS_H_
#define VENT_CONFIG_OPTIONS_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "yaml-cpp/yaml.h"

namespace vent::config {

struct Parsed {
  bool help = false;        // --help was given; Help() should be printed.
  std::string config_path;  // "" when no file was used.
  YAML::Node yaml;          // the whole file (Null when none).
  std::vector<std::string> positional;  // non-flag arguments, in order.
};

class OptionSet {
 public:
  OptionSet(std::string program, std::string summary);
  OptionSet(const OptionSet&) = delete;
  OptionSet& operator=(const OptionSet&) = delete;

  void String(std::string name, std::string* dest, std::string help);
  // Like String, but the value is never printed (help shows "(set)").
  void Secret(std::string name, std::string* dest, std::string help);
  void Int(std::string name, int64_t* dest, std::string help);
  void Bytes(std::string name, int64_t* dest, std::string help);
  void Duration(std::string name, absl::Duration* dest, std::string help);
  void Bool(std::string name, bool* dest, std::string help);
  // A list of strings: YAML sequence, or comma-separated in env/flags.
  void List(std::string name, std::vector<std::string>* dest, std::string help);
  // A top-level YAML key that is parsed by someone else.
  void Section(std::string name, std::string help);
  // Accept positional (non-flag) arguments instead of rejecting them.
  void AllowPositional(std::string usage) {
    positional_usage_ = std::move(usage);
  }

  // `getenv` is injectable for tests. Errors are InvalidArgument with a
  // message naming the option and where its bad value came from.
  absl::StatusOr<Parsed> Parse(
      int argc, const char* const* argv,
      const std::function<const char*(const char*)>& getenv = nullptr);

  std::string Help() const;

  // "max-payload" -> "VENT_MAX_PAYLOAD".
  static std::string EnvName(absl::string_view name);

 private:
  enum class Kind {
    kString,
    kSecret,
    kInt,
    kBytes,
    kDuration,
    kBool,
    kList,
    kSection
  };
  struct Option {
    std::string name;
    Kind kind;
    void* dest;
    std::string help;
    std::string default_text;
  };
  void Add(std::string name, Kind kind, void* dest, std::string help);
  const Option* Find(absl::string_view name) const;
  absl::Status Apply(const Option& opt, absl::string_view value,
                     absl::string_view source) const;
  absl::Status ApplyYaml(const Option& opt, const YAML::Node& node,
                         absl::string_view source) const;
  static std::string Describe(const Option& opt);

  std::string program_;
  std::string summary_;
  std::string positional_usage_;
  std::vector<Option> options_;
};

// Parsers shared with other config readers (publication files etc.).
absl::StatusOr<absl::Duration> ParseDuration(absl::string_view text);
absl::StatusOr<int64_t> ParseBytes(absl::string_view text);
absl::StatusOr<bool> ParseBool(absl::string_view text);

}  // namespace vent::config

#endif  // VENT_CONFIG_OPTIONS_H_
