#include "vent/redis/history.h"

#include <hiredis/hiredis.h>

#include <algorithm>
#include <random>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace vent::redis {
namespace {

// KEYS: meta, stream. ARGV: epoch suffix, size, ttl ms, PUBLISH|SPUBLISH,
// channel, event. Returns {offset, epoch, receivers}. A new epoch is Redis'
// TIME (seconds and microseconds, fixed-width hex) + the random suffix, so
// a channel's epochs sort in creation order.
constexpr absl::string_view kPublishScript =
    "local e=redis.call('HGET',KEYS[1],'ep') "
    "if not e then local t=redis.call('TIME') "
    "e=string.format('%010x%05x',tonumber(t[1]),tonumber(t[2]))..ARGV[1] "
    "redis.call('DEL',KEYS[2]) "
    "redis.call('HSET',KEYS[1],'ep',e,'n',0) end "
    "local n=redis.call('HINCRBY',KEYS[1],'n',1) "
    "redis.call('XADD',KEYS[2],'MAXLEN',ARGV[2],n..'-0','d',ARGV[6]) "
    "redis.call('PEXPIRE',KEYS[1],ARGV[3]) "
    "redis.call('PEXPIRE',KEYS[2],ARGV[3]) "
    "local r=redis.call(ARGV[4],ARGV[5],"
    "'{\"__vent_h\":\"'..e..':'..n..'\",\"e\":'..ARGV[6]..'}') "
    "return {n,e,r}";

// KEYS: meta, stream. ARGV: after (exclusive), max count, create ttl (ms, 0 =
// do not create), epoch suffix. Returns {epoch, last, first, entries}, or {}
// when there is no history and none is created.
constexpr absl::string_view kReadScript =
    "local m=redis.call('HMGET',KEYS[1],'ep','n') "
    "if not m[1] then "
    "if tonumber(ARGV[3])<=0 then return {} end "
    "local t=redis.call('TIME') "
    "local e=string.format('%010x%05x',tonumber(t[1]),tonumber(t[2]))..ARGV[4] "
    "redis.call('DEL',KEYS[2]) "
    "redis.call('HSET',KEYS[1],'ep',e,'n',0) "
    "redis.call('PEXPIRE',KEYS[1],ARGV[3]) "
    "return {e,0,0,{}} end "
    "local f=redis.call('XRANGE',KEYS[2],'-','+','COUNT',1) "
    "local first=0 "
    "if #f>0 then first=tonumber(string.match(f[1][1],'^(%d+)')) end "
    "local e={} "
    "if tonumber(ARGV[1])<tonumber(m[2]) then "
    "e=redis.call('XRANGE',KEYS[2],'('..ARGV[1]..'-0','+','COUNT',ARGV[2]) "
    "end "
    "return {m[1],tonumber(m[2]),first,e}";

constexpr absl::string_view kEnvelopePrefix = "{\"__vent_h\":\"";

// The part of `channel` Redis Cluster hashes: the content of the first
// {...} when it is non-empty, else the whole name.
absl::string_view HashTagOf(absl::string_view channel) {
  size_t open = channel.find('{');
  if (open == absl::string_view::npos) return channel;
  size_t close = channel.find('}', open + 1);
  if (close == absl::string_view::npos || close == open + 1) return channel;
  return channel.substr(open + 1, close - open - 1);
}

int64_t OffsetOfId(absl::string_view id) {
  int64_t n = 0;
  size_t dash = id.find('-');
  if (!absl::SimpleAtoi(id.substr(0, dash), &n)) return -1;
  return n;
}

}  // namespace

absl::StatusOr<HistoryKeys> HistoryKeysFor(absl::string_view channel) {
  absl::string_view tag = HashTagOf(channel);
  if (tag.find('{') != absl::string_view::npos ||
      tag.find('}') != absl::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrCat(
        "channel \"", channel,
        "\" has history but braces without a Redis Cluster hash tag; use no "
        "braces or one non-empty {tag}"));
  }
  HistoryKeys k;
  k.meta = absl::StrCat("vent:{", tag, "}:m:", channel);
  k.stream = absl::StrCat("vent:{", tag, "}:h:", channel);
  return k;
}

std::string NewEpoch() {
  static constexpr char kAlphabet[] =
      "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::string out(6, '0');
  for (char& c : out) c = kAlphabet[rng() % 62];
  return out;
}

void AppendHistoryPublish(std::string& out, absl::string_view channel,
                          const HistoryKeys& keys, absl::string_view event,
                          const HistorySpec& spec, bool sharded,
                          absl::string_view epoch_candidate) {
  std::string size = absl::StrCat(spec.size);
  std::string ttl_ms = absl::StrCat(absl::ToInt64Milliseconds(spec.ttl));
  AppendCommand(out, {"EVAL", kPublishScript, "2", keys.meta, keys.stream,
                      epoch_candidate, size, ttl_ms,
                      sharded ? "SPUBLISH" : "PUBLISH", channel, event});
}

absl::StatusOr<HistoryPublishReply> ParseHistoryPublishReply(
    const redisReply& reply) {
  if (TypeOf(reply) != ReplyType::kArray || ArraySize(reply) != 3 ||
      TypeOf(ElementOf(reply, 0)) != ReplyType::kInteger ||
      TypeOf(ElementOf(reply, 1)) != ReplyType::kString ||
      TypeOf(ElementOf(reply, 2)) != ReplyType::kInteger) {
    return absl::InternalError(
        absl::StrCat("unexpected history publish reply: ", DebugString(reply)));
  }
  HistoryPublishReply r;
  r.offset = IntegerOf(ElementOf(reply, 0));
  r.epoch = std::string(StringOf(ElementOf(reply, 1)));
  r.receivers = IntegerOf(ElementOf(reply, 2));
  return r;
}

std::vector<std::string> HistoryReadCommand(const HistoryKeys& keys,
                                            int64_t after, int64_t max,
                                            absl::Duration create_ttl,
                                            absl::string_view epoch_suffix) {
  return {"EVAL",
          std::string(kReadScript),
          "2",
          keys.meta,
          keys.stream,
          absl::StrCat(after),
          absl::StrCat(max),
          absl::StrCat(absl::ToInt64Milliseconds(create_ttl)),
          std::string(epoch_suffix)};
}

absl::StatusOr<HistoryState> ParseHistoryReadReply(const redisReply& reply) {
  auto bad = [&] {
    return absl::InternalError(
        absl::StrCat("unexpected history read reply: ", DebugString(reply)));
  };
  if (TypeOf(reply) != ReplyType::kArray) return bad();
  HistoryState st;
  if (ArraySize(reply) == 0) return st;
  if (ArraySize(reply) != 4 ||
      TypeOf(ElementOf(reply, 0)) != ReplyType::kString ||
      TypeOf(ElementOf(reply, 1)) != ReplyType::kInteger ||
      TypeOf(ElementOf(reply, 2)) != ReplyType::kInteger ||
      TypeOf(ElementOf(reply, 3)) != ReplyType::kArray) {
    return bad();
  }
  st.exists = true;
  st.epoch = std::string(StringOf(ElementOf(reply, 0)));
  st.last = IntegerOf(ElementOf(reply, 1));
  st.first = IntegerOf(ElementOf(reply, 2));
  const redisReply& entries = ElementOf(reply, 3);
  st.entries.reserve(ArraySize(entries));
  for (size_t i = 0; i < ArraySize(entries); ++i) {
    const redisReply& e = ElementOf(entries, i);
    // [id, [field, value, ...]]
    if (TypeOf(e) != ReplyType::kArray || ArraySize(e) != 2 ||
        TypeOf(ElementOf(e, 0)) != ReplyType::kString ||
        TypeOf(ElementOf(e, 1)) != ReplyType::kArray) {
      return bad();
    }
    const redisReply& fields = ElementOf(e, 1);
    HistoryEntry entry;
    entry.offset = OffsetOfId(StringOf(ElementOf(e, 0)));
    for (size_t f = 0; f + 1 < ArraySize(fields); f += 2) {
      if (StringOf(ElementOf(fields, f)) == "d") {
        entry.event = std::string(StringOf(ElementOf(fields, f + 1)));
      }
    }
    if (entry.offset <= 0) return bad();
    st.entries.push_back(std::move(entry));
  }
  return st;
}

std::optional<Envelope> ParseEnvelope(absl::string_view message) {
  if (message.size() < kEnvelopePrefix.size() + 10 ||
      message.substr(0, kEnvelopePrefix.size()) != kEnvelopePrefix ||
      message.back() != '}') {
    return std::nullopt;
  }
  absl::string_view rest = message.substr(kEnvelopePrefix.size());
  size_t quote = rest.find('"');
  if (quote == absl::string_view::npos) return std::nullopt;
  absl::string_view pos = rest.substr(0, quote);
  size_t colon = pos.rfind(':');
  if (colon == absl::string_view::npos) return std::nullopt;
  Envelope env;
  env.epoch = pos.substr(0, colon);
  // Epochs are [0-9A-Za-z] (ours are 21 characters): anything else is not
  // ours and must not reach a frame, which writes the epoch unescaped.
  if (env.epoch.empty() || env.epoch.size() > kMaxEpochSize ||
      !std::all_of(env.epoch.begin(), env.epoch.end(),
                   [](char c) { return absl::ascii_isalnum(c); })) {
    return std::nullopt;
  }
  if (!absl::SimpleAtoi(pos.substr(colon + 1), &env.offset) ||
      env.offset <= 0) {
    return std::nullopt;
  }
  rest = rest.substr(quote);
  constexpr absl::string_view kE = "\",\"e\":";
  if (rest.substr(0, kE.size()) != kE) return std::nullopt;
  env.event = rest.substr(kE.size(), rest.size() - kE.size() - 1);
  if (env.event.empty()) return std::nullopt;
  return env;
}

std::string MakeEnvelope(absl::string_view epoch, int64_t offset,
                         absl::string_view event) {
  return absl::StrCat(kEnvelopePrefix, epoch, ":", offset, "\",\"e\":", event,
                      "}");
}

bool PositionBefore(absl::string_view epoch_a, int64_t offset_a,
                    absl::string_view epoch_b, int64_t offset_b) {
  if (epoch_a != epoch_b) return epoch_a < epoch_b;
  return offset_a < offset_b;
}

}  // namespace vent::redis
