// DdpHost, history publications: parsing a sub's `since`, reading the
// channels' history, replaying what the client missed, then `ready`
// (docs/history.md). The rest of DdpHost is in ddp_host.cc.
#include <limits>

#include "absl/strings/str_cat.h"
#include "bridge/ddp_host.h"
#include "vent/base/check.h"
#include "vent/base/log.h"
#include "vent/base/log_limiter.h"

namespace vent::bridge {

namespace {
constexpr size_t kMaxEpochBytes = 64;
constexpr char kMalformed[] = "Malformed position";
constexpr char kHistoryUnavailable[] =
    "History is unavailable, try again later";
base::LogLimiter history_error_log(absl::Seconds(10));
}  // namespace

struct Recovery {
  struct Position {
    int64_t offset = 0;
    std::string epoch;
  };
  struct Captured {
    size_t channel = 0;
    int64_t offset = 0;  // 0: a raw publish (no position)
    std::string epoch;
    std::string e;
  };
  bool asked = false;                          // the client sent `since`
  std::vector<std::optional<Position>> since;  // per channel index
  int round = 0;       // reads in flight belong to this round
  size_t pending = 0;  // reads of the round not answered yet
  std::vector<std::optional<absl::StatusOr<redis::HistoryState>>> reads;
  std::vector<Captured> captured;  // live events while reading, in order
  size_t captured_bytes = 0;
  bool overflow = false;  // captured more than --max-outgoing: events lost
};

void RecoveryDeleter::operator()(Recovery* r) const { delete r; }

absl::Status DdpHost::ParseSince(const ddp::SubRequest& req,
                                 Subscription& sub) {
  sub.since_given = req.since.has_value();
  const std::optional<pub::History>& history = sub.pub->history();
  if (!history) return absl::OkStatus();  // ignored: ready says not recovered
  std::unique_ptr<Recovery, RecoveryDeleter> rec(new Recovery());
  const size_t n = sub.channels.size();
  rec->since.resize(n);
  if (req.since) {
    rec->asked = true;
    const boost::json::array* list = req.since->if_array();
    if (list == nullptr || list->size() > n) {
      return absl::InvalidArgumentError(kMalformed);
    }
    for (const boost::json::value& v : *list) {
      const boost::json::array* p = v.if_array();
      if (p == nullptr || p->size() != 3 || !(*p)[0].is_int64() ||
          !(*p)[1].is_int64() || !(*p)[2].is_string()) {
        return absl::InvalidArgumentError(kMalformed);
      }
      int64_t ci = (*p)[0].get_int64();
      int64_t offset = (*p)[1].get_int64();
      const boost::json::string& epoch = (*p)[2].get_string();
      if (ci < 0 || static_cast<size_t>(ci) >= n || offset < 0 ||
          epoch.size() > kMaxEpochBytes || rec->since[ci].has_value()) {
        return absl::InvalidArgumentError(kMalformed);
      }
      rec->since[ci] = Recovery::Position{offset, std::string(epoch)};
    }
  }
  sub.recovery = std::move(rec);
  return absl::OkStatus();
}

void DdpHost::BeginRecovery(Subscription& sub) {
  Recovery& r = *sub.recovery;
  if (ctx_.history == nullptr) {
    Fail(sub.id, 503, kHistoryUnavailable);
    return;
  }
  sub.capturing = true;
  const int round = ++r.round;
  const size_t n = sub.channels.size();
  r.pending = n;
  r.reads.assign(n, std::nullopt);
  const int64_t max = sub.pub->history()->size;
  HostOutput* output = deps_.output;
  for (size_t ci = 0; ci < n; ++ci) {
    // After the client's offset; everything for a client that never saw an
    // epoch; only the channel's state (no entries) without a position.
    int64_t after = std::numeric_limits<int64_t>::max();
    if (r.since[ci])
      after = r.since[ci]->epoch.empty() ? 0 : r.since[ci]->offset;
    ctx_.history->Read(
        sub.channels[ci], after, max,
        [output, id = sub.id, generation = sub.generation, round,
         ci](absl::StatusOr<redis::HistoryState> st) mutable {
          output->Defer([id = std::move(id), generation, round, ci,
                         st = std::move(st)](DdpHost& host) mutable {
            host.OnHistoryRead(id, generation, round, ci, std::move(st));
          });
        });
  }
}

void DdpHost::OnHistoryRead(const std::string& id, uint64_t generation,
                            int round, size_t channel,
                            absl::StatusOr<redis::HistoryState> state) {
  if (released_) return;
  auto it = subs_.find(id);
  if (it == subs_.end() || it->second->generation != generation) return;
  Subscription& sub = *it->second;
  // Stale: a later round started (a Redis gap during the recovery).
  if (sub.recovery == nullptr || !sub.capturing ||
      sub.recovery->round != round) {
    return;
  }
  Recovery& r = *sub.recovery;
  VENT_DCHECK(channel < r.reads.size() && !r.reads[channel].has_value());
  r.reads[channel] = std::move(state);
  if (--r.pending == 0) FinishRecovery(sub);
  CheckConsistency();
}

void DdpHost::OnCapture(Subscription& sub, const Transformed& t) {
  if (sub.recovery == nullptr) return;
  Recovery& r = *sub.recovery;
  if (r.overflow) return;
  r.captured_bytes += t.e->size() + 64;
  if (r.captured_bytes > static_cast<size_t>(ctx_.options.max_outgoing)) {
    // More live traffic than a connection may have queued: give up on a
    // gap-free start (told recovered:false) rather than buffer without end.
    r.overflow = true;
    r.captured.clear();
    r.captured.shrink_to_fit();
    return;
  }
  size_t ci = 0;
  while (ci < sub.channels.size() && sub.channels[ci] != t.channel) ++ci;
  r.captured.push_back({ci, t.offset, t.epoch, *t.e});
}

void DdpHost::SendHistoryEvent(Subscription& sub, size_t channel,
                               int64_t offset, const std::string& epoch,
                               const std::string& e) {
  Transformed t;
  t.pub = sub.pub;
  t.e = e;
  t.channel = sub.channels[channel];
  t.offset = offset;
  t.epoch = epoch;
  deps_.sink->QueueVent(sub, t);
}

void DdpHost::FinishRecovery(Subscription& sub) {
  Recovery& r = *sub.recovery;
  const size_t n = sub.channels.size();
  for (size_t ci = 0; ci < n; ++ci) {
    if (!r.reads[ci]->ok()) {
      ctx_.metrics->history_errors->Add();
      if (int64_t count = history_error_log.Note(); count > 0) {
        VENT_LOG_WARN("history read failed", "channel", sub.channels[ci],
                      "error", r.reads[ci]->status().message(), "count", count);
      }
      Fail(sub.id, 503, kHistoryUnavailable);
      return;
    }
  }
  bool recovered = r.asked && !r.overflow;
  std::vector<Recovery::Position> top(n);  // per channel, the latest seen
  for (size_t ci = 0; ci < n; ++ci) {
    const redis::HistoryState& st = **r.reads[ci];
    top[ci] = {st.exists ? st.last : 0, st.exists ? st.epoch : ""};
    if (!r.asked) continue;
    const std::optional<Recovery::Position>& p = r.since[ci];
    bool ok = false;
    int64_t from = 0;  // replay offsets > from
    if (!p) {
      ok = false;  // no position for this channel: nothing to recover from
    } else if (!st.exists) {
      ok = p->epoch.empty() && p->offset == 0;  // nothing then, nothing now
    } else if (p->epoch.empty()) {
      // The client never saw an epoch: all of this one is new to it.
      ok = p->offset == 0 && (st.last == 0 || st.first == 1);
    } else if (p->epoch != st.epoch || p->offset > st.last) {
      ok = false;  // history lost since, or a position from the future
    } else {
      from = p->offset;
      ok = p->offset == st.last || (st.first > 0 && p->offset + 1 >= st.first);
    }
    if (ok && static_cast<int64_t>(st.entries.size()) != st.last - from) {
      ok = false;  // the read was capped (cannot happen within `size`)
    }
    if (!ok) {
      recovered = false;
      continue;
    }
    for (const redis::HistoryEntry& entry : st.entries) {
      std::optional<std::string> e = sub.pub->Transform(entry.event);
      if (!e) continue;
      SendHistoryEvent(sub, ci, entry.offset, st.epoch, *e);
      ctx_.metrics->replayed->Add();
    }
  }
  // Live events captured meanwhile, in publish order: only those after the
  // read's position (or after the last one sent) — earlier ones are in the
  // read, or belong to an epoch that was already replaced.
  for (const Recovery::Captured& c : r.captured) {
    Recovery::Position& t = top[c.channel];
    if (c.offset > 0) {
      if (!redis::PositionBefore(t.epoch, t.offset, c.epoch, c.offset)) {
        continue;
      }
      t = {c.offset, c.epoch};
    }
    SendHistoryEvent(sub, c.channel, c.offset, c.epoch, c.e);
  }
  if (r.asked) {
    (recovered ? ctx_.metrics->recovered : ctx_.metrics->not_recovered)->Add();
  }
  std::string positions = "[";
  for (size_t ci = 0; ci < n; ++ci) {
    absl::StrAppend(&positions, ci ? "," : "", "[", ci, ",", top[ci].offset,
                    ",\"", top[ci].epoch, "\"]");
  }
  positions.push_back(']');
  const bool asked = r.asked;
  sub.capturing = false;
  sub.recovery.reset();
  sub.sent_epoch.resize(n);
  sub.sent_offset.resize(n);
  for (size_t ci = 0; ci < n; ++ci) {
    sub.sent_epoch[ci] = top[ci].epoch;
    sub.sent_offset[ci] = top[ci].offset;
  }
  MarkReady(sub, asked ? std::optional<bool>(recovered) : std::nullopt,
            positions);
}

}  // namespace vent::bridge
