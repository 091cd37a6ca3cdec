// File: vent/ddp/codec.h
//
// Parsing of one inbound DDP text message (one WebSocket text frame / one
// SockJS array element) into a typed ClientMessage, following Meteor's
// ddp-server rules (docs/protocol.md, "Handshake", "Subscriptions", "Methods"
// and "Bad input"):
//
//  * invalid JSON, JSON nested deeper than max_json_depth, or a JSON value
//    that is neither object nor array  -> ErrorReply
//    {"msg":"error","reason":"Bad request"}
//  * an object/array whose `msg` is missing or falsy (JS truthiness)
//                                        -> ErrorReply "Bad request" +
//                                        offendingMessage
//  * otherwise a ClientMessage. Field validation of sub/unsub/method yields a
//    MalformedMessage (the session decides whether "Must connect first"
//    takes precedence, as Meteor does).
//
// Deliberate deviations from Meteor (documented choices):
//  * offendingMessage is the parsed JSON re-serialized JSON.stringify-style
//    but without EJSON decoding ({"$date":1} stays as is, not an ISO string),
//    and it is omitted when longer than max_offending_echo bytes.
//  * `unsub` with a non-string id (Meteor wedges the session) ->
//    MalformedMessage "Malformed unsubscription".
//  * `ping` with a non-string id is answered with {"msg":"pong"} (Meteor's
//    serializer throws and sends nothing).
//  * Lone UTF-16 surrogate escapes ("\ud800") are rejected as invalid JSON
//    by Boost.JSON although JSON.parse accepts them.
//
// Pure functions; thread-compatible.
#ifndef VENT_DDP_CODEC_H_
#define VENT_DDP_CODEC_H_

#include <cstddef>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "absl/strings/string_view.h"
#include "boost/json/array.hpp"
#include "boost/json/value.hpp"

namespace vent::ddp {

// Server DDP versions in preference order.
inline constexpr absl::string_view kSupportedVersions[] = {"1", "pre2", "pre1"};

struct CodecOptions {
  int max_json_depth = 64;           // nesting of arrays/objects; 64 allowed
  size_t max_offending_echo = 1024;  // bytes of offendingMessage JSON
};

// {"msg":"connect","version":V,"support":[...],"session"?:ignored}
struct ConnectMessage {
  // version is a string, support is an array of strings containing version.
  bool well_formed = false;
  std::string version;
  std::vector<std::string> support;
};

// {"msg":"ping","id"?:S}. id is set only when the client sent a string id.
struct PingMessage {
  std::optional<std::string> id;
};

struct PongMessage {};

// {"msg":"sub","id":S,"name":S,"params"?:[...]}
struct SubMessage {
  std::string id;
  std::string name;
  boost::json::array params;  // [] when absent
  // Vent extension (docs/protocol.md, "Recovery"): the positions a client
  // resubscribes from, as sent; the host validates it. Stock clients never
  // send it, and DDP servers ignore unknown fields.
  std::optional<boost::json::value> since;
};

// {"msg":"unsub","id"?:S}
struct UnsubMessage {
  std::optional<std::string> id;
};

// {"msg":"method","id":S,"method":S,"params"?:[...],"randomSeed"?:S}
struct MethodMessage {
  std::string id;
  std::string method;
  boost::json::array params;  // [] when absent
  std::optional<std::string> random_seed;
};

// A sub/unsub/method whose fields have the wrong types. `reason` is the
// Meteor error reason ("Malformed subscription", ...); the reply echoes the
// message.
struct MalformedMessage {
  std::string reason;
};

// A truthy `msg` that is not one of the above (also non-string `msg`).
struct UnknownMessage {};

struct ClientMessage {
  std::variant<ConnectMessage, PingMessage, PongMessage, SubMessage,
               UnsubMessage, MethodMessage, MalformedMessage, UnknownMessage>
      body;
  boost::json::value raw;  // the whole parsed message, for offendingMessage
};

// A message rejected before it could be typed: `frame` is the complete reply.
struct ErrorReply {
  std::string frame;
};

using ParseResult = std::variant<ClientMessage, ErrorReply>;

ParseResult ParseClientMessage(absl::string_view text,
                               const CodecOptions& options);

// Meteor's _handleConnect negotiation. accepted: use `version`; otherwise
// reply {"msg":"failed","version":<version>} and close.
struct VersionDecision {
  bool accepted = false;
  std::string version;
};
VersionDecision NegotiateVersion(const ConnectMessage& connect);

// JavaScript truthiness of a parsed JSON value (false, 0, "", null are falsy).
bool IsTruthy(const boost::json::value& v);

}  // namespace vent::ddp

#endif  // VENT_DDP_CODEC_H_
