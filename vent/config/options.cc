#include "vent/config/options.h"

#include <cstdio>
#include <cstdlib>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/types/span.h"
#include "vent/base/log.h"
#include "vent/base/status_macros.h"
#include "vent/config/version.h"

extern char** environ;

namespace vent::config {
namespace {

std::string NormalizeKey(absl::string_view key) {
  return absl::StrReplaceAll(absl::AsciiStrToLower(key), {{"_", "-"}});
}

bool Contains(absl::Span<const absl::string_view> list, absl::string_view s) {
  for (absl::string_view x : list) {
    if (x == s) return true;
  }
  return false;
}

std::string EnvWord(absl::string_view name) {
  return absl::AsciiStrToUpper(absl::StrReplaceAll(name, {{"-", "_"}}));
}

// "line 3" of a YAML node (yaml-cpp counts from 0).
std::string LineOf(const YAML::Node& node) {
  return absl::StrCat("line ", node.Mark().line + 1);
}

// "redis://:pw@host" -> "redis://:REDACTED@host": URLs may carry passwords.
std::string RedactUrlPassword(const std::string& v) {
  size_t scheme = v.find("://");
  if (scheme == std::string::npos) return v;
  size_t at = v.find('@', scheme + 3);
  if (at == std::string::npos) return v;
  size_t colon = v.find(':', scheme + 3);
  if (colon == std::string::npos || colon > at) return v;
  return absl::StrCat(v.substr(0, colon + 1), "REDACTED", v.substr(at));
}

std::string FormatBytes(int64_t v) {
  if (v > 0 && v % (1 << 30) == 0) return absl::StrCat(v >> 30, "GiB");
  if (v > 0 && v % (1 << 20) == 0) return absl::StrCat(v >> 20, "MiB");
  if (v > 0 && v % (1 << 10) == 0) return absl::StrCat(v >> 10, "KiB");
  return absl::StrCat(v);
}

}  // namespace

absl::StatusOr<absl::Duration> ParseDuration(absl::string_view text) {
  absl::Duration d;
  std::string t(absl::StripAsciiWhitespace(text));
  if (t == "0") return absl::ZeroDuration();
  if (!absl::ParseDuration(t, &d) || d < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "\"", text, "\" is not a duration (examples: 15s, 250ms, 1m)"));
  }
  return d;
}

absl::StatusOr<int64_t> ParseBytes(absl::string_view text) {
  absl::string_view t = absl::StripAsciiWhitespace(text);
  int64_t mult = 1;
  struct Suffix {
    const char* s;
    int64_t m;
  };
  for (const Suffix& s : {Suffix{"KiB", 1 << 10}, Suffix{"MiB", 1 << 20},
                          Suffix{"GiB", int64_t{1} << 30}, Suffix{"KB", 1000},
                          Suffix{"MB", 1000 * 1000}, Suffix{"B", 1}}) {
    if (absl::ConsumeSuffix(&t, s.s)) {
      mult = s.m;
      break;
    }
  }
  int64_t v;
  if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(t), &v) || v < 0 ||
      v > (int64_t{1} << 50) / mult) {
    return absl::InvalidArgumentError(absl::StrCat(
        "\"", text, "\" is not a size (examples: 65536, 64KiB, 4MiB)"));
  }
  return v * mult;
}

absl::StatusOr<bool> ParseBool(absl::string_view text) {
  std::string t = absl::AsciiStrToLower(absl::StripAsciiWhitespace(text));
  if (t == "true" || t == "1" || t == "yes" || t == "on") return true;
  if (t == "false" || t == "0" || t == "no" || t == "off") return false;
  return absl::InvalidArgumentError(
      absl::StrCat("\"", text, "\" is not a boolean (true/false)"));
}

absl::string_view Version() { return VENT_VERSION; }

bool IsSharedOption(absl::string_view name) {
  return name == "redis" || absl::StartsWith(name, "redis-") ||
         absl::StartsWith(name, "log-");
}

OptionSet::OptionSet(std::string program, std::string summary)
    : program_(std::move(program)), summary_(std::move(summary)) {
  absl::string_view short_name = program_;
  absl::ConsumePrefix(&short_name, "vent-");
  section_ = std::string(short_name);
  env_prefix_ = absl::StrCat("VENT_", EnvWord(short_name), "_");
}

std::string OptionSet::EnvName(absl::string_view name) const {
  if (IsSharedOption(name)) return absl::StrCat("VENT_", EnvWord(name));
  return absl::StrCat(env_prefix_, EnvWord(name));
}

std::string OptionSet::VersionLine() const {
  return absl::StrCat(program_, " ", Version());
}

std::string OptionSet::Describe(const Option& o) {
  switch (o.kind) {
    case Kind::kString:
      return absl::StrCat("\"", *static_cast<std::string*>(o.dest), "\"");
    case Kind::kSecret:
      return static_cast<std::string*>(o.dest)->empty() ? "(none)" : "(set)";
    case Kind::kInt:
      return absl::StrCat(*static_cast<int64_t*>(o.dest));
    case Kind::kBytes:
      return FormatBytes(*static_cast<int64_t*>(o.dest));
    case Kind::kDuration:
      return absl::FormatDuration(*static_cast<absl::Duration*>(o.dest));
    case Kind::kBool:
      return *static_cast<bool*>(o.dest) ? "true" : "false";
    case Kind::kList:
      return absl::StrCat(
          "[",
          absl::StrJoin(*static_cast<std::vector<std::string>*>(o.dest), ","),
          "]");
    case Kind::kSection:
      return "";
  }
  return "";
}

void OptionSet::Add(std::string name, Kind kind, void* dest, std::string help) {
  Option o{std::move(name), kind, dest, std::move(help), "", ""};
  o.default_text = Describe(o);
  options_.push_back(std::move(o));
}

void OptionSet::String(std::string n, std::string* d, std::string h) {
  Add(std::move(n), Kind::kString, d, std::move(h));
}
void OptionSet::Secret(std::string n, std::string* d, std::string h) {
  Add(std::move(n), Kind::kSecret, d, std::move(h));
}
void OptionSet::Int(std::string n, int64_t* d, std::string h) {
  Add(std::move(n), Kind::kInt, d, std::move(h));
}
void OptionSet::Bytes(std::string n, int64_t* d, std::string h) {
  Add(std::move(n), Kind::kBytes, d, std::move(h));
}
void OptionSet::Duration(std::string n, absl::Duration* d, std::string h) {
  Add(std::move(n), Kind::kDuration, d, std::move(h));
}
void OptionSet::Bool(std::string n, bool* d, std::string h) {
  Add(std::move(n), Kind::kBool, d, std::move(h));
}
void OptionSet::List(std::string n, std::vector<std::string>* d,
                     std::string h) {
  Add(std::move(n), Kind::kList, d, std::move(h));
}
void OptionSet::Section(std::string n, std::string h) {
  Add(std::move(n), Kind::kSection, nullptr, std::move(h));
}

const OptionSet::Option* OptionSet::Find(absl::string_view name) const {
  std::string key = NormalizeKey(name);
  for (const Option& o : options_) {
    if (o.name == key) return &o;
  }
  return nullptr;
}

absl::Status OptionSet::Apply(const Option& o, absl::string_view value,
                              absl::string_view source) const {
  auto wrap = [&](const absl::Status& s) {
    return absl::InvalidArgumentError(
        absl::StrCat("option ", o.name, " (from ", source, "): ", s.message()));
  };
  o.source = std::string(source);
  switch (o.kind) {
    case Kind::kString:
    case Kind::kSecret:
      *static_cast<std::string*>(o.dest) = std::string(value);
      return absl::OkStatus();
    case Kind::kInt: {
      int64_t v;
      if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(value), &v)) {
        return wrap(absl::InvalidArgumentError(
            absl::StrCat("\"", value, "\" is not an integer")));
      }
      *static_cast<int64_t*>(o.dest) = v;
      return absl::OkStatus();
    }
    case Kind::kBytes: {
      auto v = ParseBytes(value);
      if (!v.ok()) return wrap(v.status());
      *static_cast<int64_t*>(o.dest) = *v;
      return absl::OkStatus();
    }
    case Kind::kDuration: {
      auto v = ParseDuration(value);
      if (!v.ok()) return wrap(v.status());
      *static_cast<absl::Duration*>(o.dest) = *v;
      return absl::OkStatus();
    }
    case Kind::kBool: {
      auto v = ParseBool(value);
      if (!v.ok()) return wrap(v.status());
      *static_cast<bool*>(o.dest) = *v;
      return absl::OkStatus();
    }
    case Kind::kList: {
      auto* list = static_cast<std::vector<std::string>*>(o.dest);
      list->clear();
      for (absl::string_view part :
           absl::StrSplit(value, ',', absl::SkipWhitespace())) {
        list->emplace_back(absl::StripAsciiWhitespace(part));
      }
      return absl::OkStatus();
    }
    case Kind::kSection:
      return absl::InvalidArgumentError(
          absl::StrCat("option ", o.name, " (from ", source,
                       ") can only be set in the config file"));
  }
  return absl::OkStatus();
}

absl::Status OptionSet::ApplyYaml(const Option& o, const YAML::Node& node,
                                  absl::string_view source) const {
  if (o.kind == Kind::kSection) return absl::OkStatus();
  if (o.kind == Kind::kList && node.IsSequence()) {
    auto* list = static_cast<std::vector<std::string>*>(o.dest);
    list->clear();
    o.source = std::string(source);
    for (const auto& item : node) {
      if (!item.IsScalar()) {
        return absl::InvalidArgumentError(
            absl::StrCat("option ", o.name, " (from ", source,
                         "): list items must be scalars"));
      }
      list->push_back(item.Scalar());
    }
    return absl::OkStatus();
  }
  if (!node.IsScalar()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "option ", o.name, " (from ", source, "): expected a single value"));
  }
  return Apply(o, node.Scalar(), source);
}

absl::Status OptionSet::ApplyMapping(const YAML::Node& map, bool top_level,
                                     const std::string& path) {
  for (const auto& kv : map) {
    if (!kv.first.IsScalar()) {
      return absl::InvalidArgumentError(absl::StrCat("config file ", path, " (",
                                                     LineOf(kv.first),
                                                     "): keys must be names"));
    }
    std::string key = NormalizeKey(kv.first.Scalar());
    std::string where = absl::StrCat(
        path, " (", top_level ? "" : section_ + ": ", LineOf(kv.first), ")");
    const Option* o = Find(key);
    if (o != nullptr && (top_level || o->kind != Kind::kSection)) {
      VENT_RETURN_IF_ERROR(
          ApplyYaml(*o, kv.second, absl::StrCat(path, " ", LineOf(kv.first))));
      continue;
    }
    if (top_level && (key == section_ || Contains(kPrograms, key) ||
                      Contains(kSharedSections, key))) {
      continue;  // own section: applied next; the others: not ours
    }
    std::string hint;
    if (top_level && !Contains(kPrograms, section_)) {
      hint = " (see --help)";
    } else if (top_level) {
      hint = absl::StrCat(
          " (see --help; in a file shared by several programs, put options "
          "of one program under its section, e.g. \"",
          section_, ":\")");
    } else {
      hint = " (see --help)";
    }
    return absl::InvalidArgumentError(
        absl::StrCat("config file ", where, ": unknown key \"",
                     kv.first.Scalar(), "\"", hint));
  }
  return absl::OkStatus();
}

void OptionSet::CheckEnvironment(const std::vector<std::string>& names,
                                 Parsed* parsed) const {
  for (const std::string& var : names) {
    absl::string_view name = var;
    if (!absl::StartsWith(name, "VENT_") || name == "VENT_CONFIG" ||
        Contains(kToolVariables, name)) {
      continue;
    }
    bool known = false;
    for (const Option& o : options_) {
      if (o.kind != Kind::kSection && EnvName(o.name) == name) known = true;
    }
    if (name == "VENT_REDIS" || absl::StartsWith(name, "VENT_REDIS_") ||
        absl::StartsWith(name, "VENT_LOG_")) {
      known = true;  // shared namespace: maybe another program's option
    }
    for (absl::string_view program : kPrograms) {
      if (program != section_ &&
          absl::StartsWith(name,
                           absl::StrCat("VENT_", EnvWord(program), "_"))) {
        known = true;  // another program's variable
      }
    }
    if (known) continue;
    // A pre-0.2 name (VENT_MAX_MESSAGE) of one of our options?
    absl::string_view rest = name.substr(5);
    const Option* o = Find(absl::AsciiStrToLower(rest));
    if (o != nullptr && o->kind != Kind::kSection) {
      parsed->warnings.push_back(absl::StrCat(
          "environment variable ", name, " is ignored: ", program_, " reads ",
          EnvName(o->name), " (renamed in 0.2.0, see CHANGELOG.md)"));
    } else {
      parsed->warnings.push_back(absl::StrCat("environment variable ", name,
                                              " is ignored: not an "
                                              "option of ",
                                              program_, " (see --help)"));
    }
  }
}

absl::StatusOr<Parsed> OptionSet::Parse(
    int argc, const char* const* argv,
    const std::function<const char*(const char*)>& getenv_fn,
    const std::vector<std::string>* env_names) {
  auto env = [&](const std::string& name) -> const char* {
    return getenv_fn ? getenv_fn(name.c_str()) : std::getenv(name.c_str());
  };
  for (Option& o : options_) o.source.clear();
  Parsed parsed;
  // Pass 1: flags into a list (so --config is known before the file is read).
  std::vector<std::pair<const Option*, std::string>> flag_values;
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      parsed.help = true;
      continue;
    }
    if (arg == "--version") {
      parsed.version = true;
      continue;
    }
    if (arg == "--print-config") {
      parsed.print_config = true;
      continue;
    }
    if (!absl::ConsumePrefix(&arg, "--")) {
      if (positional_usage_.empty()) {
        return absl::InvalidArgumentError(
            absl::StrCat("unexpected argument \"", arg, "\" (see --help)"));
      }
      parsed.positional.emplace_back(arg);
      continue;
    }
    std::string name;
    std::optional<std::string> value;
    if (size_t eq = arg.find('='); eq != absl::string_view::npos) {
      name = std::string(arg.substr(0, eq));
      value = std::string(arg.substr(eq + 1));
    } else {
      name = std::string(arg);
    }
    if (name == "config") {
      if (!value) {
        if (i + 1 >= argc)
          return absl::InvalidArgumentError("--config needs a file");
        value = argv[++i];
      }
      parsed.config_path = *value;
      continue;
    }
    const Option* o = Find(name);
    bool negated = false;
    if (o == nullptr && absl::StartsWith(name, "no-")) {
      o = Find(name.substr(3));
      negated = o != nullptr && o->kind == Kind::kBool;
      if (!negated) o = nullptr;
    }
    if (o == nullptr || o->kind == Kind::kSection) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown flag --", name, " (see --help)"));
    }
    if (!value) {
      if (o->kind == Kind::kBool) {
        value = negated ? "false" : "true";
      } else {
        if (i + 1 >= argc) {
          return absl::InvalidArgumentError(
              absl::StrCat("--", name, " needs a value"));
        }
        value = argv[++i];
      }
    }
    flag_values.emplace_back(o, *value);
  }
  if (parsed.help || parsed.version) return parsed;

  // 1. YAML file: top level, then the own section.
  if (parsed.config_path.empty()) {
    if (const char* c = env("VENT_CONFIG"); c != nullptr && *c != '\0')
      parsed.config_path = c;
  }
  if (!parsed.config_path.empty()) {
    const std::string& path = parsed.config_path;
    try {
      parsed.yaml = YAML::LoadFile(path);
    } catch (const YAML::Exception& e) {
      return absl::InvalidArgumentError(
          absl::StrCat("config file ", path, ": ", e.what()));
    }
    if (parsed.yaml && !parsed.yaml.IsNull() && !parsed.yaml.IsMap()) {
      return absl::InvalidArgumentError(
          absl::StrCat("config file ", path, ": top level must be a mapping"));
    }
    if (parsed.yaml.IsMap()) {
      VENT_RETURN_IF_ERROR(ApplyMapping(parsed.yaml, true, path));
      for (const auto& kv : parsed.yaml) {
        if (!kv.first.IsScalar() || NormalizeKey(kv.first.Scalar()) != section_)
          continue;
        if (kv.second.IsNull()) continue;
        if (!kv.second.IsMap()) {
          return absl::InvalidArgumentError(
              absl::StrCat("config file ", path, " (", LineOf(kv.first),
                           "): section \"", section_, "\" must be a mapping"));
        }
        VENT_RETURN_IF_ERROR(ApplyMapping(kv.second, false, path));
      }
    }
  }
  // 2. Environment.
  for (const Option& o : options_) {
    if (o.kind == Kind::kSection) continue;
    std::string name = EnvName(o.name);
    if (const char* v = env(name); v != nullptr) {
      VENT_RETURN_IF_ERROR(Apply(o, v, absl::StrCat("$", name)));
    }
  }
  if (env_names != nullptr) {
    CheckEnvironment(*env_names, &parsed);
  } else if (!getenv_fn) {
    std::vector<std::string> names;
    for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
      absl::string_view kv = *e;
      names.emplace_back(kv.substr(0, kv.find('=')));
    }
    CheckEnvironment(names, &parsed);
  }
  // 3. Flags.
  for (const auto& [o, v] : flag_values) {
    VENT_RETURN_IF_ERROR(Apply(*o, v, absl::StrCat("--", o->name)));
  }
  return parsed;
}

std::optional<int> OptionSet::ParseMain(int argc, const char* const* argv,
                                        Parsed* parsed) {
  auto result = Parse(argc, argv);
  if (!result.ok()) {
    std::fprintf(
        stderr, "%s: %s\nRun '%s --help' for the options.\n", program_.c_str(),
        std::string(result.status().message()).c_str(), program_.c_str());
    return 2;
  }
  *parsed = *std::move(result);
  if (parsed->help) {
    std::fputs(Help().c_str(), stdout);
    return 0;
  }
  if (parsed->version) {
    std::printf("%s\n", VersionLine().c_str());
    return 0;
  }
  if (parsed->print_config) {
    std::fputs(EffectiveConfig(*parsed).c_str(), stdout);
    return 0;
  }
  if (const Option* o = Find("log-format");
      o != nullptr && o->kind == Kind::kString) {
    if (absl::Status s = log::SetFormat(*static_cast<std::string*>(o->dest));
        !s.ok()) {
      std::fprintf(stderr, "%s: log-format: %s\n", program_.c_str(),
                   std::string(s.message()).c_str());
      return 2;
    }
  }
  if (const Option* o = Find("log-level");
      o != nullptr && o->kind == Kind::kString) {
    if (absl::Status s = log::SetLevel(*static_cast<std::string*>(o->dest));
        !s.ok()) {
      std::fprintf(stderr, "%s: log-level: %s\n", program_.c_str(),
                   std::string(s.message()).c_str());
      return 2;
    }
  }
  for (const std::string& w : parsed->warnings) {
    VENT_LOG_WARN("configuration warning", "warning", w);
  }
  return std::nullopt;
}

std::string OptionSet::EffectiveConfig(const Parsed& parsed) const {
  auto quote = [](const std::string& v) {
    YAML::Emitter e;
    e << YAML::DoubleQuoted << v;
    return std::string(e.c_str());
  };
  std::string out = absl::StrCat(
      "# ", VersionLine(), ": configuration in effect (file ",
      parsed.config_path.empty() ? "none" : parsed.config_path,
      ", then environment, then flags).\n# Reads back with --config.\n");
  for (const std::string& w : parsed.warnings) {
    absl::StrAppend(&out, "# warning: ", w, "\n");
  }
  for (const Option& o : options_) {
    if (o.kind == Kind::kSection) continue;
    std::string value;
    switch (o.kind) {
      case Kind::kSecret: {
        const auto* v = static_cast<std::string*>(o.dest);
        if (!v->empty()) {
          absl::StrAppend(&out, "# ", o.name, ": (set, redacted)  # ",
                          o.source.empty() ? "default" : o.source, "\n");
          continue;
        }
        value = "\"\"";
        break;
      }
      case Kind::kString:
        value = quote(RedactUrlPassword(*static_cast<std::string*>(o.dest)));
        break;
      case Kind::kList: {
        std::vector<std::string> items;
        for (const std::string& item :
             *static_cast<std::vector<std::string>*>(o.dest)) {
          items.push_back(quote(RedactUrlPassword(item)));
        }
        value = absl::StrCat("[", absl::StrJoin(items, ", "), "]");
        break;
      }
      default:
        value = Describe(o);
        break;
    }
    absl::StrAppend(&out, o.name, ": ", value, "  # ",
                    o.source.empty() ? "default" : o.source, "\n");
  }
  for (const Option& o : options_) {
    if (o.kind != Kind::kSection || !parsed.yaml.IsMap()) continue;
    for (const auto& kv : parsed.yaml) {
      if (!kv.first.IsScalar() || NormalizeKey(kv.first.Scalar()) != o.name)
        continue;
      YAML::Emitter e;
      e << YAML::BeginMap << YAML::Key << o.name << YAML::Value << kv.second
        << YAML::EndMap;
      absl::StrAppend(&out, "# from ", parsed.config_path, "\n", e.c_str(),
                      "\n");
    }
  }
  return out;
}

std::string OptionSet::Help() const {
  std::string out = absl::StrCat(
      "Usage: ", program_, " [--config FILE] [options]",
      positional_usage_.empty() ? "" : " ", positional_usage_, "\n", summary_,
      "\n\nOptions (flag / environment; ",
      "flags override the environment, which overrides the file):\n");
  absl::StrAppend(&out,
                  "  --config FILE  /  $VENT_CONFIG\n      YAML config file "
                  "(top-level keys, then the \"",
                  section_, ":\" section).\n");
  for (const Option& o : options_) {
    if (o.kind == Kind::kSection) {
      absl::StrAppend(&out, "  ", o.name, ":  (config file section)\n      ",
                      o.help, "\n");
      continue;
    }
    absl::StrAppend(&out, "  --", o.name, "  /  $", EnvName(o.name), "\n      ",
                    o.help, " (default: ", o.default_text, ")\n");
  }
  absl::StrAppend(
      &out,
      "  --print-config\n      Print the configuration in effect (as a config "
      "file; secrets redacted) and exit.\n",
      "  --version\n      Print the version and exit.\n",
      "  --help\n      Print this help and exit.\n");
  return out;
}

}  // namespace vent::config
