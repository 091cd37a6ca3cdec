// File: vent/ddp/messages.h
//
// Serialization of server->client DDP messages, byte-compatible with what a
// Meteor server writes (JSON.stringify of an object literal): keys in
// Meteor's insertion order, no whitespace, optional keys omitted rather than
// written as null.
//
// Values (ids, reasons, error details, method results, offendingMessage)
// are written by the project's one JSON writer, vent/base/json_write.h:
// JSON.stringify's output, integers with their exact digits.
//
// All functions are pure and thread-compatible.
#ifndef VENT_DDP_MESSAGES_H_
#define VENT_DDP_MESSAGES_H_

#include <cstddef>
#include <optional>
#include <string>
#include <variant>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "boost/json/value.hpp"

namespace vent::ddp {

// A Meteor.Error as sent to clients: `error` is a number (HTTP-ish legacy
// codes such as 404) or a string code ("too-many-requests").
struct Error {
  std::variant<int, std::string> error;
  std::string reason;
  std::optional<boost::json::value> details;
};

// Convenience constructors.
Error MakeError(int code, std::string reason);
Error MakeError(std::string code, std::string reason);

// Appends the serialized Meteor.Error:
// {"isClientSafe":true,"error":E,"reason":R[,"details":D],
//  "message":"R [E]","errorType":"Meteor.Error"}.
// `message` is "[E]" when the reason is empty; `reason` is always written.
void AppendMeteorError(std::string* out, const Error& error);

// {"msg":"connected","session":"<session>"}
std::string WriteConnected(absl::string_view session);
// {"msg":"failed","version":"<version>"}
std::string WriteFailed(absl::string_view version);
// {"msg":"ping"[,"id":"<id>"]}
std::string WritePing(const std::optional<std::string>& id);
// {"msg":"pong"[,"id":"<id>"]}
std::string WritePong(const std::optional<std::string>& id);
// {"msg":"ready","subs":[ids...][,"recovered":true|false][,"h":POSITIONS]}.
// Vent extensions (docs/protocol.md, "Recovery"), ignored by stock DDP
// clients: `recovered` says whether every event since the client's last
// position was delivered (false on a repeated `ready` after a Redis outage:
// events may have been missed); `positions_json`, when not empty, is the
// JSON array of [channel index, offset, epoch] of a history publication.
std::string WriteReady(absl::Span<const std::string> sub_ids,
                       std::optional<bool> recovered = std::nullopt,
                       absl::string_view positions_json = {});
// {"msg":"nosub"[,"id":"<id>"][,"error":{Meteor.Error}]}
std::string WriteNosub(const std::optional<std::string>& id,
                       const Error* error = nullptr);
// {"msg":"result","id":"<id>"[,"result":R | ,"error":{Meteor.Error}]}.
// At most one of `result` / `error` may be non-null; `error` wins if both.
std::string WriteResult(absl::string_view id, const boost::json::value* result,
                        const Error* error);
// {"msg":"updated","methods":[ids...]}
std::string WriteUpdated(absl::Span<const std::string> method_ids);
// {"msg":"error","reason":"<reason>"[,"offendingMessage":M]}. M is written
// only when `offending` is non-null and its JSON is <= max_offending_echo
// bytes (no amplification of large inputs).
std::string WriteError(absl::string_view reason,
                       const boost::json::value* offending,
                       size_t max_offending_echo);

// The bytes of a Vent frame before the event JSON:
//   {"msg":"changed","__vent":"1","id":"<rand>.<pub>","e":
// A full frame is VentFramePrefix(rand, pub) + <event JSON> + "}". The first
// 28 bytes are what Meteor's Vent client matches literally. `rand` and `pub`
// are JSON-escaped (normally they need no escaping).
std::string VentFramePrefix(absl::string_view rand, absl::string_view pub);

}  // namespace vent::ddp

#endif  // VENT_DDP_MESSAGES_H_
