// Declarative command-line/environment/YAML options shared by every binary.
//
// Each option is declared once with a name ("max-payload", lower-case words
// joined by '-') and a pointer to its destination, which already holds the
// default. Values are applied in this order, later ones winning:
//   1. the YAML file named by --config FILE or $VENT_CONFIG: top-level keys
//      ("max-payload" or "max_payload"), then the program's own section
//      (vent-bridge: "bridge:", vent-server: "server:"),
//   2. the environment,
//   3. flags (--max-payload=V or --max-payload V).
//
// Environment names. Options whose meaning is the same in every Vent program
// (IsSharedOption: redis, redis-*, log-*) and the config file are
// VENT_<NAME> (VENT_REDIS, VENT_REDIS_TLS_CA, VENT_LOG_LEVEL, VENT_CONFIG);
// every other option is VENT_<PROGRAM>_<NAME> for the program "vent-<program>"
// (VENT_SERVER_MAX_MESSAGE, VENT_BRIDGE_MAX_MESSAGE), so one environment can
// configure both binaries without one reading the other's values. A VENT_*
// variable that is none of these, nor another program's VENT_<PROGRAM>_*, nor
// a variable of Vent's clients and scripts (kToolVariables), is reported in
// Parsed::warnings (with the new name when it is a pre-0.2 one). Shared-name
// variables this program does not declare (VENT_REDIS_COMMAND_TIMEOUT in
// vent-bridge) may be another program's and are not reported.
//
// One config file for all programs: the top level may hold the shared options,
// options of this program, sections this program declares with Section(),
// the shared sections (kSharedSections: "publications") and the per-program
// sections ("server:", "bridge:"); other programs' sections and undeclared
// shared sections are ignored. Any other key is an error that names its line
// (typos must not be silently ignored). Sections are handed back in
// Parsed::yaml.
//
// Built-in flags: --config FILE, --help, --version, --print-config.
//
// Value syntax: durations "15s", "250ms", "1m"; sizes "65536", "64KiB", "4MiB",
// "1GiB"; booleans true/false/1/0/yes/no/on/off.
//
// Not thread-safe; used once in main().
#ifndef VENT_CONFIG_OPTIONS_H_
#define VENT_CONFIG_OPTIONS_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "yaml-cpp/yaml.h"

namespace vent::config {

// Options with one meaning in every Vent program, environment VENT_<NAME>:
// the Redis connection ("redis" and "redis-*": both programs must reach the
// same Redis the same way) and logging ("log-*").
bool IsSharedOption(absl::string_view name);

// Programs sharing one environment and config file: each reads its own
// "VENT_<PROGRAM>_*" variables and "<program>:" section.
inline constexpr absl::string_view kPrograms[] = {"server", "bridge"};
// Top-level sections of the shared config file; a program that does not
// declare one ignores it.
inline constexpr absl::string_view kSharedSections[] = {"publications"};
// VENT_* variables read by Vent's clients, demo and scripts (never warned
// about): the emit address and key, the proto path, the options of
// scripts/test.sh and scripts/up.sh.
inline constexpr absl::string_view kToolVariables[] = {
    "VENT_SERVER",    "VENT_API_KEY",   "VENT_PROTO",       "VENT_BIN_DIR",
    "VENT_BUILD_DIR", "VENT_TEST_JOBS", "VENT_FUZZ_SECONDS"};

// The project version (CMake project(VERSION)), e.g. "0.2.0".
absl::string_view Version();

struct Parsed {
  bool help = false;          // --help was given; Help() should be printed.
  bool version = false;       // --version was given.
  bool print_config = false;  // --print-config was given.
  std::string config_path;    // "" when no file was used.
  YAML::Node yaml;            // the whole file (Null when none).
  std::vector<std::string> positional;  // non-flag arguments, in order.
  // Not errors, but worth telling the operator (unknown VENT_* variables).
  std::vector<std::string> warnings;
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

  // `getenv` is injectable for tests; `env_names` lists the variables to
  // check for unknown VENT_* names (default: the process environment when
  // `getenv` is not given, none otherwise). Errors are InvalidArgument with a
  // message naming the option and where its bad value came from.
  absl::StatusOr<Parsed> Parse(
      int argc, const char* const* argv,
      const std::function<const char*(const char*)>& getenv = nullptr,
      const std::vector<std::string>* env_names = nullptr);

  // What every Vent program's main() does: Parse(); on an error print it to
  // stderr and return 2; print Help(), VersionLine() or EffectiveConfig() to
  // stdout for --help, --version, --print-config and return 0; apply the
  // options named log-level and log-format (when declared) to vent::log and
  // log the warnings. nullopt: go on running with *parsed.
  std::optional<int> ParseMain(int argc, const char* const* argv,
                               Parsed* parsed);

  std::string Help() const;
  // "vent-bridge 0.2.0".
  std::string VersionLine() const;
  // The configuration in effect after file, environment and flags, as a YAML
  // file this program reads back unchanged: every option with its value and,
  // in a comment, where it came from; secrets and URL passwords redacted (a
  // set secret is a comment line); declared sections copied from the file;
  // the warnings as comments at the top.
  std::string EffectiveConfig(const Parsed& parsed) const;

  // "max-payload" -> "VENT_BRIDGE_MAX_PAYLOAD" for vent-bridge; shared
  // options -> "VENT_REDIS".
  std::string EnvName(absl::string_view name) const;

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
    mutable std::string source;  // where the value came from; "" = default
  };
  void Add(std::string name, Kind kind, void* dest, std::string help);
  const Option* Find(absl::string_view name) const;
  absl::Status Apply(const Option& opt, absl::string_view value,
                     absl::string_view source) const;
  absl::Status ApplyYaml(const Option& opt, const YAML::Node& node,
                         absl::string_view source) const;
  // Applies one mapping of the file (the top level or the own section).
  absl::Status ApplyMapping(const YAML::Node& map, bool top_level,
                            const std::string& path);
  void CheckEnvironment(const std::vector<std::string>& names,
                        Parsed* parsed) const;
  static std::string Describe(const Option& opt);

  std::string program_;
  std::string summary_;
  std::string section_;     // "bridge" for vent-bridge
  std::string env_prefix_;  // "VENT_BRIDGE_"
  std::string positional_usage_;
  std::vector<Option> options_;
};

// Parsers shared with other config readers (publication files etc.).
absl::StatusOr<absl::Duration> ParseDuration(absl::string_view text);
absl::StatusOr<int64_t> ParseBytes(absl::string_view text);
absl::StatusOr<bool> ParseBool(absl::string_view text);

}  // namespace vent::config

#endif  // VENT_CONFIG_OPTIONS_H_
