#include "vent/pub/projection.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "boost/json/monotonic_resource.hpp"
#include "boost/json/parse.hpp"
#include "vent/base/json_write.h"
#include "vent/pub/channel_template.h"
#include "vent/pub/json_text.h"

namespace vent::pub {
namespace {
namespace json = boost::json;
}  // namespace

absl::StatusOr<Projection> Projection::Create(
    const std::vector<std::string>& fields) {
  if (fields.empty()) {
    return absl::InvalidArgumentError(
        "fields is empty (nothing would ever be sent); remove it to send "
        "events unchanged");
  }
  if (fields.size() > kMaxFields) {
    return absl::InvalidArgumentError(absl::StrCat(
        "fields has ", fields.size(), " entries (max ", kMaxFields, ")"));
  }
  Projection p;
  p.fields_ = fields;
  for (const std::string& field : fields) {
    auto refuse = [&](absl::string_view why) {
      return absl::InvalidArgumentError(
          absl::StrCat("field '", field, "' ", why));
    };
    if (HasControlChar(field)) return refuse("contains a control character");
    std::vector<absl::string_view> path = absl::StrSplit(field, '.');
    if (path.size() > kMaxFieldDepth) {
      return refuse(
          absl::StrCat("has more than ", kMaxFieldDepth, " segments"));
    }
    std::vector<Node>* level = &p.root_;
    for (std::size_t i = 0; i < path.size(); ++i) {
      if (path[i].empty()) {
        return refuse("has an empty segment (use a.b, not a..b, .a or a.)");
      }
      Node* node = nullptr;
      for (Node& n : *level) {
        if (n.key == path[i]) node = &n;
      }
      if (node == nullptr) {
        level->push_back(Node{std::string(path[i]), false, {}});
        node = &level->back();
      }
      if (node->whole) break;  // a shorter path already keeps all of it
      if (i + 1 == path.size()) {
        node->whole = true;
        node->children.clear();
        break;
      }
      level = &node->children;
    }
  }
  return p;
}

bool Projection::Emit(const json::object& obj, const std::vector<Node>& nodes,
                      std::string* out) {
  bool any = false;
  for (const json::key_value_pair& kv : obj) {
    const Node* node = nullptr;
    for (const Node& n : nodes) {
      if (n.key == absl::string_view(kv.key().data(), kv.key().size())) {
        node = &n;
        break;
      }
    }
    if (node == nullptr) continue;
    std::size_t rollback = out->size();
    out->push_back(any ? ',' : '{');
    AppendJsonString(out, absl::string_view(kv.key().data(), kv.key().size()));
    out->push_back(':');
    if (node->whole) {
      AppendJsonValue(out, kv.value());
    } else if (!kv.value().is_object() ||
               !Emit(kv.value().get_object(), node->children, out)) {
      out->resize(rollback);  // nothing selected below this key
      continue;
    }
    any = true;
  }
  if (any) out->push_back('}');
  return any;
}

std::optional<std::string> Projection::Apply(
    absl::string_view json_text) const {
  unsigned char buffer[4096];
  json::monotonic_resource resource(buffer, sizeof(buffer));
  json::parse_options options;
  options.max_depth = kMaxJsonDepth;
  json::error_code ec;
  json::value v =
      json::parse(json::string_view(json_text.data(), json_text.size()), ec,
                  json::storage_ptr(&resource), options);
  if (ec || !v.is_object()) return std::nullopt;
  std::string out;
  if (!Emit(v.get_object(), root_, &out)) return std::nullopt;
  return out;
}

}  // namespace vent::pub
