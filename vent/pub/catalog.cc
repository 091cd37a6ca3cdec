#include "vent/pub/catalog.h"

#include <algorithm>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "vent/base/status_macros.h"

namespace vent::pub {
namespace {

// "publications.NAME.key (line 7)" — what an error message starts with.
std::string Where(absl::string_view path, const YAML::Node& node) {
  const YAML::Mark mark = node.Mark();
  if (mark.is_null() || mark.line < 0) return std::string(path);
  return absl::StrCat(path, " (line ", mark.line + 1, ")");
}

absl::Status Error(absl::string_view path, const YAML::Node& node,
                   absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(Where(path, node), ": ", why));
}

absl::StatusOr<std::string> Scalar(absl::string_view path,
                                   const YAML::Node& node,
                                   absl::string_view what) {
  if (!node.IsScalar()) {
    return Error(path, node, absl::StrCat("must be ", what));
  }
  return node.Scalar();
}

absl::StatusOr<std::vector<std::string>> StringList(absl::string_view path,
                                                    const YAML::Node& node) {
  if (!node.IsSequence()) {
    return Error(path, node, "must be a list of strings");
  }
  std::vector<std::string> out;
  for (std::size_t i = 0; i < node.size(); ++i) {
    VENT_ASSIGN_OR_RETURN(std::string s, Scalar(absl::StrCat(path, "[", i, "]"),
                                                node[i], "a string"));
    out.push_back(std::move(s));
  }
  return out;
}

// Refuses keys of the mapping `node` that are not in `allowed`.
absl::Status CheckKeys(absl::string_view path, const YAML::Node& node,
                       std::initializer_list<absl::string_view> allowed,
                       absl::string_view allowed_text) {
  std::vector<std::string> seen;
  for (const auto& kv : node) {
    if (!kv.first.IsScalar()) {
      return Error(path, kv.first, "keys must be strings");
    }
    const std::string& key = kv.first.Scalar();
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      return Error(path, kv.first,
                   absl::StrCat("unknown key '", key,
                                "' (allowed: ", allowed_text, ")"));
    }
    if (std::find(seen.begin(), seen.end(), key) != seen.end()) {
      return Error(path, kv.first, absl::StrCat("key '", key, "' is repeated"));
    }
    seen.push_back(key);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<ParamDecl>> ParseParams(const std::string& path,
                                                   const YAML::Node& node) {
  std::vector<ParamDecl> out;
  if (!node || node.IsNull()) return out;
  if (!node.IsMap()) {
    return Error(path, node,
                 "must be a mapping of param name to { type, pattern }");
  }
  for (const auto& kv : node) {
    if (!kv.first.IsScalar())
      return Error(path, kv.first, "keys must be strings");
    ParamDecl decl;
    decl.name = kv.first.Scalar();
    for (const ParamDecl& d : out) {
      if (d.name == decl.name) {
        return Error(path, kv.first,
                     absl::StrCat("param '", decl.name, "' is declared twice"));
      }
    }
    const std::string ppath = absl::StrCat(path, ".", decl.name);
    const YAML::Node& spec = kv.second;
    if (!spec.IsMap()) {
      return Error(ppath, spec,
                   "must be a mapping like { type: string, pattern: \"...\" }");
    }
    VENT_RETURN_IF_ERROR(
        CheckKeys(ppath, spec, {"type", "pattern"}, "type, pattern"));
    if (const YAML::Node type = spec["type"]; type && !type.IsNull()) {
      VENT_ASSIGN_OR_RETURN(std::string text,
                            Scalar(ppath + ".type", type, "a string"));
      absl::StatusOr<ParamType> t = ParseParamType(text);
      if (!t.ok()) return Error(ppath + ".type", type, t.status().message());
      decl.type = *t;
    }
    if (const YAML::Node pattern = spec["pattern"]; pattern) {
      VENT_ASSIGN_OR_RETURN(decl.pattern,
                            Scalar(ppath + ".pattern", pattern, "a string"));
    }
    out.push_back(std::move(decl));
  }
  return out;
}

absl::StatusOr<History> ParseHistory(const std::string& path,
                                     const YAML::Node& node) {
  if (!node.IsMap()) {
    return Error(path, node, "must be a mapping like {size: 1000, ttl: 10m}");
  }
  VENT_RETURN_IF_ERROR(CheckKeys(path, node, {"size", "ttl"}, "size, ttl"));
  const YAML::Node size = node["size"];
  const YAML::Node ttl = node["ttl"];
  if (!size || size.IsNull()) return Error(path, node, "size is required");
  if (!ttl || ttl.IsNull()) return Error(path, node, "ttl is required");
  History h;
  VENT_ASSIGN_OR_RETURN(std::string size_text,
                        Scalar(path + ".size", size, "an integer"));
  if (!absl::SimpleAtoi(size_text, &h.size) || h.size < 1 ||
      h.size > kMaxHistorySize) {
    return Error(
        path + ".size", size,
        absl::StrCat("must be an integer from 1 to ", kMaxHistorySize));
  }
  VENT_ASSIGN_OR_RETURN(std::string ttl_text,
                        Scalar(path + ".ttl", ttl, "a duration"));
  if (!absl::ParseDuration(ttl_text, &h.ttl) || h.ttl < kMinHistoryTtl ||
      h.ttl > kMaxHistoryTtl) {
    return Error(path + ".ttl", ttl,
                 "must be a duration from 1s to 168h (e.g. 90s, 10m, 24h)");
  }
  return h;
}

absl::StatusOr<std::unique_ptr<Publication>> ParseOne(const std::string& name,
                                                      const YAML::Node& node) {
  const std::string path = absl::StrCat("publications.", name);
  if (!node.IsMap()) {
    return Error(path, node,
                 "must be a mapping with keys auth, channels and optionally "
                 "params, fields, delivery, history");
  }
  VENT_RETURN_IF_ERROR(
      CheckKeys(path, node,
                {"params", "channels", "auth", "fields", "delivery", "history"},
                "params, channels, auth, fields, delivery, history"));

  const YAML::Node auth_node = node["auth"];
  if (!auth_node || auth_node.IsNull()) {
    return Error(path + ".auth", node,
                 "missing; one of public, user, authorizer is required");
  }
  VENT_ASSIGN_OR_RETURN(std::string auth_text,
                        Scalar(path + ".auth", auth_node, "a string"));
  absl::StatusOr<Auth> auth = ParseAuth(auth_text);
  if (!auth.ok())
    return Error(path + ".auth", auth_node, auth.status().message());

  VENT_ASSIGN_OR_RETURN(std::vector<ParamDecl> params,
                        ParseParams(path + ".params", node["params"]));

  const YAML::Node channels_node = node["channels"];
  if (!channels_node || channels_node.IsNull()) {
    return Error(path + ".channels", node,
                 "missing; list at least one channel");
  }
  VENT_ASSIGN_OR_RETURN(std::vector<std::string> channels,
                        StringList(path + ".channels", channels_node));

  std::optional<std::vector<std::string>> fields;
  if (const YAML::Node f = node["fields"]; f && !f.IsNull()) {
    VENT_ASSIGN_OR_RETURN(fields, StringList(path + ".fields", f));
  }

  Delivery delivery = Delivery::kVent;
  if (const YAML::Node d = node["delivery"]; d && !d.IsNull()) {
    VENT_ASSIGN_OR_RETURN(std::string text,
                          Scalar(path + ".delivery", d, "a string"));
    absl::StatusOr<Delivery> parsed = ParseDelivery(text);
    if (!parsed.ok()) {
      return Error(path + ".delivery", d, parsed.status().message());
    }
    delivery = *parsed;
  }

  std::optional<History> history;
  if (const YAML::Node h = node["history"]; h && !h.IsNull()) {
    VENT_ASSIGN_OR_RETURN(history, ParseHistory(path + ".history", h));
  }

  auto pub = Publication::Create(name, *auth, std::move(params), channels,
                                 std::move(fields), delivery);
  if (!pub.ok()) return Error(path, node, pub.status().message());
  if (history) (*pub)->set_history(*history);
  return pub;
}

}  // namespace

absl::StatusOr<std::shared_ptr<const Catalog>> Catalog::FromYaml(
    const YAML::Node& node) {
  std::shared_ptr<Catalog> catalog(new Catalog());
  if (!node || node.IsNull()) return catalog;
  if (!node.IsMap()) {
    return Error("publications", node,
                 "must be a mapping of publication name to definition");
  }
  for (const auto& kv : node) {
    if (!kv.first.IsScalar()) {
      return Error("publications", kv.first, "names must be strings");
    }
    const std::string& name = kv.first.Scalar();
    if (catalog->pubs_.contains(name)) {
      return Error(absl::StrCat("publications.", name), kv.first,
                   "is declared twice");
    }
    VENT_ASSIGN_OR_RETURN(std::unique_ptr<Publication> pub,
                          ParseOne(name, kv.second));
    if (pub->history()) catalog->history_pubs_.push_back(pub.get());
    catalog->pubs_.emplace(name, std::move(pub));
  }
  return catalog;
}

const Publication* Catalog::Find(absl::string_view name) const {
  auto it = pubs_.find(name);
  return it == pubs_.end() ? nullptr : it->second.get();
}

std::vector<std::string> Catalog::names() const {
  std::vector<std::string> out;
  out.reserve(pubs_.size());
  for (const auto& [name, pub] : pubs_) out.push_back(name);
  std::sort(out.begin(), out.end());
  return out;
}

std::optional<History> Catalog::HistoryFor(absl::string_view channel) const {
  std::optional<History> out;
  for (const Publication* pub : history_pubs_) {
    if (!pub->CoversChannel(channel)) continue;
    const History& h = *pub->history();
    if (!out) {
      out = h;
    } else {
      out->size = std::max(out->size, h.size);
      out->ttl = std::max(out->ttl, h.ttl);
    }
  }
  return out;
}

}  // namespace vent::pub
