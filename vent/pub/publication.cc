#include "vent/pub/publication.h"

#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "vent/pub/json_text.h"

namespace vent::pub {
namespace {

namespace json = boost::json;

bool ValidPublicationName(absl::string_view name) {
  if (name.empty() || name.size() > 128) return false;
  for (char ch : name) {
    unsigned char c = static_cast<unsigned char>(ch);
    if (c <= 0x20 || c >= 0x7f || c == '"' || c == '\\') return false;
  }
  return true;
}

// A client-chosen key, safe to put in a log line.
std::string Printable(absl::string_view key) {
  constexpr std::size_t kMax = 64;
  std::string s = absl::CHexEscape(key.substr(0, kMax));
  if (key.size() > kMax) s.append("...");
  return s;
}

}  // namespace

absl::StatusOr<Auth> ParseAuth(absl::string_view text) {
  if (text == "public") return Auth::kPublic;
  if (text == "user") return Auth::kUser;
  if (text == "authorizer") return Auth::kAuthorizer;
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown auth '", text, "' (expected public, user or authorizer)"));
}

absl::string_view AuthName(Auth auth) {
  switch (auth) {
    case Auth::kPublic:
      return "public";
    case Auth::kUser:
      return "user";
    case Auth::kAuthorizer:
      return "authorizer";
  }
  return "?";
}

absl::StatusOr<Delivery> ParseDelivery(absl::string_view text) {
  if (text == "vent") return Delivery::kVent;
  if (text == "collection") return Delivery::kCollection;
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown delivery '", text, "' (expected vent or collection)"));
}

absl::string_view DeliveryName(Delivery delivery) {
  return delivery == Delivery::kCollection ? "collection" : "vent";
}

absl::StatusOr<std::unique_ptr<Publication>> Publication::Create(
    std::string name, Auth auth, std::vector<ParamDecl> params,
    const std::vector<std::string>& channels,
    std::optional<std::vector<std::string>> fields, Delivery delivery) {
  if (!ValidPublicationName(name)) {
    return absl::InvalidArgumentError(
        "name must be 1-128 printable ASCII characters without space, '\"' "
        "or '\\'");
  }
  std::unique_ptr<Publication> pub(new Publication());
  pub->name_ = std::move(name);
  pub->auth_ = auth;
  pub->delivery_ = delivery;

  if (params.size() > kMaxParams) {
    return absl::InvalidArgumentError(absl::StrCat(
        "params: ", params.size(), " declared (max ", kMaxParams, ")"));
  }
  absl::flat_hash_set<std::string> seen;
  for (ParamDecl& decl : params) {
    if (!seen.insert(decl.name).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("params: '", decl.name, "' is declared twice"));
    }
    auto spec = ParamSpec::Create(std::move(decl.name), decl.type,
                                  std::move(decl.pattern));
    if (!spec.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("params: ", spec.status().message()));
    }
    pub->params_.push_back(*std::move(spec));
  }

  if (channels.empty()) {
    return absl::InvalidArgumentError("channels: at least one is required");
  }
  if (channels.size() > kMaxChannels) {
    return absl::InvalidArgumentError(absl::StrCat(
        "channels: ", channels.size(), " listed (max ", kMaxChannels, ")"));
  }
  seen.clear();
  pub->needs_user_ = auth == Auth::kUser;
  for (const std::string& text : channels) {
    if (!seen.insert(text).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("channels: '", text, "' is listed twice"));
    }
    auto t = ChannelTemplate::Parse(text, pub->params_);
    if (!t.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("channels: ", t.status().message()));
    }
    pub->needs_user_ = pub->needs_user_ || t->uses_user_id();
    pub->channels_.push_back(*std::move(t));
  }

  if (fields.has_value()) {
    auto p = Projection::Create(*fields);
    if (!p.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("fields: ", p.status().message()));
    }
    pub->projection_ = *std::move(p);
  }
  return pub;
}

absl::StatusOr<json::object> Publication::ValidateParams(
    const json::array& args) const {
  if (args.empty()) {
    if (params_.empty()) return json::object();
    return absl::InvalidArgumentError(absl::StrCat(
        "publication '", name_, "' needs a params object after the id"));
  }
  if (args.size() > 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("expected one params object after the id, got ",
                     args.size(), " values"));
  }
  if (!args[0].is_object()) {
    return absl::InvalidArgumentError("params must be a JSON object");
  }
  const json::object& given = args[0].get_object();
  json::object checked;
  for (const ParamSpec& spec : params_) {
    const json::value* v = given.if_contains(spec.name());
    if (v == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("missing param '", spec.name(), "'"));
    }
    absl::StatusOr<json::value> ok = spec.Check(*v);
    if (!ok.ok()) return ok.status();
    checked.emplace(spec.name(), *std::move(ok));
  }
  if (given.size() != checked.size()) {
    for (const json::key_value_pair& kv : given) {
      if (!checked.contains(kv.key())) {
        return absl::InvalidArgumentError(absl::StrCat(
            "unknown param '",
            Printable(absl::string_view(kv.key().data(), kv.key().size())),
            "'"));
      }
    }
  }
  return checked;
}

absl::StatusOr<std::vector<std::string>> Publication::Channels(
    const json::object& params, absl::string_view user_id) const {
  if (needs_user_ && user_id.empty()) {
    return absl::PermissionDeniedError(
        absl::StrCat("publication '", name_, "' needs a logged-in user"));
  }
  if (params.size() != params_.size()) {
    return absl::InvalidArgumentError("params do not match the declaration");
  }
  std::vector<json::value> checked;  // Check() may normalize
  checked.reserve(params_.size());
  std::vector<const json::value*> values;
  for (const ParamSpec& spec : params_) {
    const json::value* v = params.if_contains(spec.name());
    if (v == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("missing param '", spec.name(), "'"));
    }
    absl::StatusOr<json::value> ok = spec.Check(*v);
    if (!ok.ok()) return ok.status();
    checked.push_back(*std::move(ok));
  }
  for (const json::value& v : checked) values.push_back(&v);

  std::vector<std::string> out;
  out.reserve(channels_.size());
  for (const ChannelTemplate& t : channels_) {
    absl::StatusOr<std::string> channel = t.Render(params_, values, user_id);
    if (!channel.ok()) return channel.status();
    bool duplicate = false;
    for (const std::string& c : out) duplicate = duplicate || c == *channel;
    if (!duplicate) out.push_back(*std::move(channel));
  }
  return out;
}

std::optional<std::string> Publication::Transform(
    absl::string_view redis_message) const {
  if (projection_) return projection_->Apply(redis_message);
  JsonScan scan = ScanJson(redis_message);
  if (!scan.valid || scan.falsy) return std::nullopt;
  return std::string(redis_message);
}

bool Publication::CoversChannel(absl::string_view channel) const {
  for (const ChannelTemplate& t : channels_) {
    if (t.Matches(channel, params_)) return true;
  }
  return false;
}

}  // namespace vent::pub
