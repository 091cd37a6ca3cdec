// A Vent publication declared in the config: which params a `sub` must carry,
// which Redis channels it listens to, who may subscribe, and how each Redis
// message becomes the `e` payload of a Vent frame. No I/O.
//
// Immutable after Create(); every method is const and thread-safe, so one
// instance is shared by all bridge workers.
#ifndef VENT_PUB_PUBLICATION_H_
#define VENT_PUB_PUBLICATION_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "boost/json/array.hpp"
#include "boost/json/object.hpp"
#include "vent/pub/channel_template.h"
#include "vent/pub/param_spec.h"
#include "vent/pub/projection.h"

namespace vent::pub {

enum class Auth { kPublic, kUser, kAuthorizer };

// "public" | "user" | "authorizer".
absl::StatusOr<Auth> ParseAuth(absl::string_view text);
absl::string_view AuthName(Auth auth);

// How events reach the client (vent/pub/README.md, "delivery"):
//  kVent: {"msg":"changed","__vent":"1","id":"<rand>.<pub>","e":<event>}
//    (redis-oplog's Vent fast path);
//  kCollection: one document "i" of collection "__vent.<rand>.<pub>":
//    `added` before `ready`, `changed` with fields {"e":<event>} per event,
//    `removed` when the sub ends (redis-oplog's first Vent; any DDP client
//    that tracks collections can consume it).
enum class Delivery { kVent, kCollection };

// "vent" | "collection".
absl::StatusOr<Delivery> ParseDelivery(absl::string_view text);
absl::string_view DeliveryName(Delivery delivery);

inline constexpr std::size_t kMaxParams = 16;
inline constexpr std::size_t kMaxChannels = 16;

// `history:` of a publication (docs/history.md): the last `size` events of
// each of its channels are kept in Redis for `ttl` after the last one, so a
// client that reconnects can recover what it missed.
struct History {
  int64_t size = 0;
  absl::Duration ttl;
};
inline constexpr int64_t kMaxHistorySize = 100000;
inline constexpr absl::Duration kMinHistoryTtl = absl::Seconds(1);
inline constexpr absl::Duration kMaxHistoryTtl = absl::Hours(7 * 24);

// A declared param before validation (what the config says).
struct ParamDecl {
  std::string name;
  ParamType type = ParamType::kString;
  std::optional<std::string> pattern = std::nullopt;  // string only
};

class Publication {
 public:
  // Checks everything the config can get wrong: the name (1..128 printable
  // ASCII bytes, no space, '"' or '\\' — it is written raw into frames),
  // 0..kMaxParams unique params, 1..kMaxChannels unique templates that only
  // reference declared params or {userId}, and the fields. Errors are
  // InvalidArgument with a message naming the key at fault (without the
  // publication name; Catalog adds it).
  static absl::StatusOr<std::unique_ptr<Publication>> Create(
      std::string name, Auth auth, std::vector<ParamDecl> params,
      const std::vector<std::string>& channels,
      std::optional<std::vector<std::string>> fields,
      Delivery delivery = Delivery::kVent);

  Publication(const Publication&) = delete;
  Publication& operator=(const Publication&) = delete;

  const std::string& name() const { return name_; }
  Auth auth() const { return auth_; }
  Delivery delivery() const { return delivery_; }
  // auth() == kUser, or a channel template uses {userId}.
  bool needs_user() const { return needs_user_; }
  // Set when the publication keeps history.
  const std::optional<History>& history() const { return history_; }
  // Loading only (Catalog), before the publication is shared.
  void set_history(History h) { history_ = h; }
  // True when `channel` is one of this publication's channels for some
  // params and user (see ChannelTemplate::Matches).
  bool CoversChannel(absl::string_view channel) const;
  const std::vector<ParamSpec>& params() const { return params_; }
  const std::vector<ChannelTemplate>& channel_templates() const {
    return channels_;
  }
  // nullptr when the publication has no `fields`.
  const Projection* projection() const {
    return projection_ ? &*projection_ : nullptr;
  }

  // `args` = the sub's params after params[0] (the client's rand id).
  // Accepted: [] or [{}] when no params are declared; otherwise exactly
  // [{...}] with every declared param and nothing else. OK -> the checked
  // params (integers normalized). Error -> InvalidArgument with a human
  // detail that never echoes values (the bridge answers 400 "Match failed").
  absl::StatusOr<boost::json::object> ValidateParams(
      const boost::json::array& args) const;

  // Renders every channel for params returned by ValidateParams (they are
  // checked again here). `user_id` empty = not logged in.
  // PermissionDenied: needs_user() and user_id is empty.
  // InvalidArgument: bad params, or a rendered channel over kMaxChannelBytes
  // or with a control character.
  // Duplicates (two templates rendering the same name) are returned once,
  // in template order.
  absl::StatusOr<std::vector<std::string>> Channels(
      const boost::json::object& params, absl::string_view user_id) const;

  // The `e` payload for one Redis message, or nullopt when nothing is sent.
  // Without fields: the message bytes verbatim, unless it is invalid JSON or
  // falsy (null, false, "", a number equal to 0). With fields: see
  // Projection::Apply. Pure; hot path.
  std::optional<std::string> Transform(absl::string_view redis_message) const;

 private:
  Publication() = default;

  std::string name_;
  Auth auth_ = Auth::kPublic;
  Delivery delivery_ = Delivery::kVent;
  bool needs_user_ = false;
  std::vector<ParamSpec> params_;
  std::vector<ChannelTemplate> channels_;
  std::optional<Projection> projection_;
  std::optional<History> history_;
};

}  // namespace vent::pub

#endif  // VENT_PUB_PUBLICATION_H_
