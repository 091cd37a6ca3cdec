#include "server/subscribe_queue.h"

#include "absl/strings/str_cat.h"

namespace vent::server {

absl::Status SubscribeBudget::AddCall() {
  size_t cur = calls_.load(std::memory_order_relaxed);
  do {
    if (cur >= max_calls_) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "too many Subscribe calls (", cur, " open, the limit of ", max_calls_,
          ", --max-subscribers); retry later or elsewhere"));
    }
  } while (
      !calls_.compare_exchange_weak(cur, cur + 1, std::memory_order_relaxed));
  return absl::OkStatus();
}

absl::Status SubscribeQueue::Push(std::shared_ptr<const SharedEvent> e,
                                  absl::Time now) {
  const int64_t n = static_cast<int64_t>(e->size);
  const bool holding = held_ > 0 || !queue_.empty() || writing_ != nullptr;
  // Live events only (a replay ahead is exempt).
  const size_t queued = queue_.size() - replay_queued_;
  const int64_t held = held_ - replay_held_;
  if (held > 0 || queued > 0 || (writing_ != nullptr && !writing_replay_)) {
    if (queued >= limits_.max_events) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "client reads too slowly: ", queued,
          " events queued (--subscribe-queue); re-subscribe to resume"));
    }
    if (held + n > limits_.max_bytes) {
      return absl::ResourceExhaustedError(
          absl::StrCat("client reads too slowly: ", held, " bytes queued + ", n,
                       " over the limit of ", limits_.max_bytes,
                       " (--subscribe-queue-bytes); re-subscribe to resume"));
    }
  }
  budget_->Charge(n);
  if (!holding) last_progress_ = now;
  held_ += n;
  queue_.push_back(std::move(e));
  return absl::OkStatus();
}

void SubscribeQueue::PushReplay(std::shared_ptr<const SharedEvent> e,
                                absl::Time now) {
  const int64_t n = static_cast<int64_t>(e->size);
  const bool holding = held_ > 0 || !queue_.empty() || writing_ != nullptr;
  budget_->Charge(n);
  if (!holding) last_progress_ = now;
  held_ += n;
  replay_held_ += n;
  ++replay_queued_;
  queue_.push_back(std::move(e));
}

std::shared_ptr<const SharedEvent> SubscribeQueue::StartWrite() {
  if (writing_ != nullptr || queue_.empty()) return nullptr;
  writing_ = std::move(queue_.front());
  queue_.pop_front();
  writing_replay_ = replay_queued_ > 0;
  if (writing_replay_) --replay_queued_;
  return writing_;
}

void SubscribeQueue::WriteDone(absl::Time now) {
  if (writing_ == nullptr) return;
  const int64_t n = static_cast<int64_t>(writing_->size);
  held_ -= n;
  if (writing_replay_) replay_held_ -= n;
  writing_replay_ = false;
  VENT_DCHECK(held_ >= 0);  // held_ is the sum of queue_ and writing_
  budget_->Release(n);
  writing_.reset();
  last_progress_ = now;
}

void SubscribeQueue::Clear() {
  budget_->Release(held_);
  held_ = 0;
  replay_held_ = 0;
  replay_queued_ = 0;
  writing_replay_ = false;
  queue_.clear();
  writing_.reset();
}

}  // namespace vent::server
