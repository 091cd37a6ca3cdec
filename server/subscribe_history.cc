#include "server/subscribe_history.h"

#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"

namespace vent::server {
namespace {

constexpr char kWindowExceeded[] =
    "window exceeded: more events were published since this position than "
    "the channel's history keeps";
constexpr char kEpochChanged[] =
    "epoch changed: the channel's history expired or was lost since this "
    "position";
constexpr char kFuture[] =
    "position from the future: the channel's history has not reached it";
constexpr char kNoHistory[] =
    "the channel keeps no history (no publication with history: in "
    "vent-server's --config covers it)";

}  // namespace

SubscribeHistory::SubscribeHistory(std::vector<Channel> channels, Limits limits)
    : limits_(limits) {
  for (Channel& c : channels) {
    if (c.size <= 0 && !c.since) continue;
    if (c.size > 0) ++pending_;
    channels_.push_back(std::move(c));
  }
  reads_.resize(channels_.size());
}

std::vector<SubscribeHistory::Read> SubscribeHistory::Reads() const {
  std::vector<Read> out;
  for (size_t i = 0; i < channels_.size(); ++i) {
    const Channel& c = channels_[i];
    if (c.size <= 0) continue;
    // After the position; everything for "nothing seen yet"; only the
    // channel's state without a position.
    int64_t after = std::numeric_limits<int64_t>::max();
    if (c.since) after = c.since->epoch.empty() ? 0 : c.since->offset;
    out.push_back({i, c.name, after, c.size});
  }
  return out;
}

absl::Status SubscribeHistory::Capture(std::shared_ptr<const SharedEvent> e) {
  const int64_t n = static_cast<int64_t>(e->size);
  if (!captured_.empty() && (captured_.size() >= limits_.max_events ||
                             captured_bytes_ + n > limits_.max_bytes)) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "more live events arrived while the history was read than a call "
        "may queue (",
        captured_.size(), " events, ", captured_bytes_,
        " bytes; --subscribe-queue, --subscribe-queue-bytes); re-subscribe "
        "with your positions to resume"));
  }
  captured_bytes_ += n;
  captured_.push_back(std::move(e));
  return absl::OkStatus();
}

void SubscribeHistory::OnRead(size_t index,
                              absl::StatusOr<redis::HistoryState> state) {
  if (index >= reads_.size() || reads_[index].has_value() || pending_ == 0)
    return;
  reads_[index] = std::move(state);
  --pending_;
}

absl::StatusOr<SubscribeHistory::Finished> SubscribeHistory::Finish(
    absl::Time now) {
  finished_ = true;
  Finished out;
  for (size_t i = 0; i < channels_.size(); ++i) {
    const Channel& c = channels_[i];
    if (c.size > 0 && (!reads_[i].has_value() || !reads_[i]->ok())) {
      return absl::UnavailableError(absl::StrCat(
          "the history of channel \"", c.name, "\" could not be read (",
          reads_[i].has_value() ? reads_[i]->status().message() : "no answer",
          "); retry"));
    }
  }
  for (size_t i = 0; i < channels_.size(); ++i) {
    const Channel& c = channels_[i];
    Start start;
    start.channel = c.name;
    if (c.size <= 0) {
      start.reason = kNoHistory;
      ++out.not_recovered;
      out.starts.push_back(std::move(start));
      continue;
    }
    redis::HistoryState& st = **reads_[i];
    const Position top{st.exists ? st.last : 0, st.exists ? st.epoch : ""};
    sent_[c.name] = top;
    start.position = top;
    if (!c.since) {
      out.starts.push_back(std::move(start));
      continue;
    }
    const Position& p = *c.since;
    bool ok = false;
    int64_t from = 0;  // replay offsets > from
    const char* reason = kWindowExceeded;
    if (!st.exists) {
      ok = p.epoch.empty() && p.offset == 0;  // nothing then, nothing now
      reason = kEpochChanged;
    } else if (p.epoch.empty()) {
      // Nothing seen yet: all of this epoch is new to the caller.
      ok = p.offset == 0 && (st.last == 0 || st.first == 1);
    } else if (p.epoch != st.epoch) {
      reason = redis::PositionBefore(st.epoch, st.last, p.epoch, p.offset)
                   ? kFuture
                   : kEpochChanged;
    } else if (p.offset > st.last) {
      reason = kFuture;
    } else {
      from = p.offset;
      ok = p.offset == st.last || (st.first > 0 && p.offset + 1 >= st.first);
    }
    // The read is capped at `size` entries; a gap that large is not
    // recoverable anyway.
    if (ok && static_cast<int64_t>(st.entries.size()) != st.last - from &&
        st.exists) {
      ok = false;
    }
    if (!ok) {
      start.reason = reason;
      ++out.not_recovered;
      out.starts.push_back(std::move(start));
      continue;
    }
    ++out.recovered;
    start.recovered = true;
    start.position = p.epoch.empty() ? Position{} : p;
    out.starts.push_back(std::move(start));
    for (redis::HistoryEntry& entry : st.entries) {
      auto payload =
          std::make_shared<const std::string>(std::move(entry.event));
      absl::string_view json = *payload;
      out.replay.push_back(EncodeSubscribeEvent(
          c.name, std::move(payload), json, entry.offset, st.epoch, now));
    }
  }
  reads_.clear();
  // Live events captured meanwhile, in arrival order: on a history channel
  // only those after the read's position (earlier ones were in the read, or
  // belong to an epoch already replaced).
  for (std::shared_ptr<const SharedEvent>& e : captured_) {
    if (Admit(*e)) out.captured.push_back(std::move(e));
  }
  captured_.clear();
  captured_bytes_ = 0;
  return out;
}

bool SubscribeHistory::Admit(const SharedEvent& e) {
  if (e.offset <= 0) return true;  // no position: a raw PUBLISH
  auto it = sent_.find(e.channel);
  if (it == sent_.end()) return true;
  Position& last = it->second;
  if (!redis::PositionBefore(last.epoch, last.offset, e.epoch, e.offset))
    return false;
  last.offset = e.offset;
  last.epoch = e.epoch;
  return true;
}

}  // namespace vent::server
