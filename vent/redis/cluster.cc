#include "vent/redis/cluster.h"

#include <hiredis.h>

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "vent/redis/resp.h"

namespace vent::redis {
namespace {

uint16_t Crc16(absl::string_view s) {
  uint16_t crc = 0;
  for (unsigned char c : s) {
    crc ^= static_cast<uint16_t>(c) << 8;
    for (int i = 0; i < 8; ++i) {
      crc = (crc & 0x8000) ? static_cast<uint16_t>((crc << 1) ^ 0x1021)
                           : static_cast<uint16_t>(crc << 1);
    }
  }
  return crc;
}

absl::Status BadSlots(absl::string_view why) {
  return absl::InternalError(
      absl::StrCat("unexpected CLUSTER SLOTS reply: ", why));
}

}  // namespace

int KeySlot(absl::string_view key) {
  size_t open = key.find('{');
  if (open != absl::string_view::npos) {
    size_t close = key.find('}', open + 1);
    if (close != absl::string_view::npos && close > open + 1) {
      key = key.substr(open + 1, close - open - 1);
    }
  }
  return Crc16(key) & (kClusterSlots - 1);
}

std::optional<Redirect> ParseRedirect(absl::string_view message) {
  std::vector<absl::string_view> parts =
      absl::StrSplit(message, ' ', absl::SkipEmpty());
  if (parts.size() != 3 || (parts[0] != "MOVED" && parts[0] != "ASK")) {
    return std::nullopt;
  }
  Redirect r;
  r.ask = parts[0] == "ASK";
  if (!absl::SimpleAtoi(parts[1], &r.slot) || r.slot < 0 ||
      r.slot >= kClusterSlots) {
    return std::nullopt;
  }
  // The port is after the last ':' (IPv6 addresses come without brackets).
  size_t colon = parts[2].rfind(':');
  if (colon == absl::string_view::npos || colon == 0) return std::nullopt;
  uint32_t port = 0;
  if (!absl::SimpleAtoi(parts[2].substr(colon + 1), &port) || port == 0 ||
      port > 65535) {
    return std::nullopt;
  }
  absl::string_view host = parts[2].substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  r.to = HostPort{std::string(host), static_cast<uint16_t>(port)};
  return r;
}

std::optional<Redirect> RedirectOf(const absl::Status& status) {
  auto p = status.GetPayload(kRedirectPayload);
  if (!p) return std::nullopt;
  return ParseRedirect(std::string(*p));
}

SlotMap::SlotMap() : owner_(kClusterSlots, -1) {}

int SlotMap::IndexOf(const HostPort& hp) {
  auto it = std::find(masters_.begin(), masters_.end(), hp);
  if (it != masters_.end()) return static_cast<int>(it - masters_.begin());
  masters_.push_back(hp);
  if (std::find(nodes_.begin(), nodes_.end(), hp) == nodes_.end()) {
    nodes_.push_back(hp);
  }
  return static_cast<int>(masters_.size() - 1);
}

absl::StatusOr<SlotMap> SlotMap::FromClusterSlots(
    const redisReply& reply, absl::string_view queried_host) {
  if (TypeOf(reply) != ReplyType::kArray) return BadSlots("not an array");
  SlotMap map;
  auto node_of = [&](const redisReply& n) -> absl::StatusOr<HostPort> {
    if (TypeOf(n) != ReplyType::kArray || ArraySize(n) < 2 ||
        TypeOf(ElementOf(n, 1)) != ReplyType::kInteger) {
      return BadSlots("node entry is not [host, port, ...]");
    }
    std::string host;
    if (TypeOf(ElementOf(n, 0)) == ReplyType::kString) {
      host = std::string(StringOf(ElementOf(n, 0)));
    }
    if (host.empty() || host == "?") host = std::string(queried_host);
    int64_t port = IntegerOf(ElementOf(n, 1));
    if (port <= 0 || port > 65535) return BadSlots("port out of range");
    return HostPort{host, static_cast<uint16_t>(port)};
  };
  for (size_t i = 0; i < ArraySize(reply); ++i) {
    const redisReply& range = ElementOf(reply, i);
    if (TypeOf(range) != ReplyType::kArray || ArraySize(range) < 3 ||
        TypeOf(ElementOf(range, 0)) != ReplyType::kInteger ||
        TypeOf(ElementOf(range, 1)) != ReplyType::kInteger) {
      return BadSlots("range entry is not [start, end, master, ...]");
    }
    int64_t start = IntegerOf(ElementOf(range, 0));
    int64_t end = IntegerOf(ElementOf(range, 1));
    if (start < 0 || end >= kClusterSlots || start > end) {
      return BadSlots("slot range out of bounds");
    }
    absl::StatusOr<HostPort> master = node_of(ElementOf(range, 2));
    if (!master.ok()) return master.status();
    int index = map.IndexOf(*master);
    for (int64_t s = start; s <= end; ++s) {
      if (map.owner_[s] < 0) --map.uncovered_;
      map.owner_[s] = static_cast<int16_t>(index);
    }
    for (size_t r = 3; r < ArraySize(range); ++r) {
      absl::StatusOr<HostPort> replica = node_of(ElementOf(range, r));
      if (!replica.ok()) return replica.status();
      if (std::find(map.nodes_.begin(), map.nodes_.end(), *replica) ==
          map.nodes_.end()) {
        map.nodes_.push_back(*replica);
      }
    }
  }
  return map;
}

const HostPort* SlotMap::MasterOf(int slot) const {
  if (slot < 0 || slot >= kClusterSlots || owner_[slot] < 0) return nullptr;
  return &masters_[owner_[slot]];
}

std::vector<HostPort> SlotMap::masters() const {
  std::vector<bool> used(masters_.size(), false);
  for (int16_t o : owner_) {
    if (o >= 0) used[o] = true;
  }
  std::vector<HostPort> out;
  for (size_t i = 0; i < masters_.size(); ++i) {
    if (used[i]) out.push_back(masters_[i]);
  }
  return out;
}

void SlotMap::Assign(int slot, const HostPort& to) {
  if (slot < 0 || slot >= kClusterSlots) return;
  if (owner_[slot] < 0) --uncovered_;
  owner_[slot] = static_cast<int16_t>(IndexOf(to));
}

bool SlotMap::SameOwners(const SlotMap& other) const {
  for (int s = 0; s < kClusterSlots; ++s) {
    const HostPort* a = MasterOf(s);
    const HostPort* b = other.MasterOf(s);
    if ((a == nullptr) != (b == nullptr)) return false;
    if (a != nullptr && !(*a == *b)) return false;
  }
  return true;
}

}  // namespace vent::redis
