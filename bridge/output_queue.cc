#include "bridge/output_queue.h"

#include <array>
#include <cstdio>
#include <vector>

#include "absl/strings/str_cat.h"
#include "vent/base/check.h"
#include "vent/ws/deflate.h"
#include "vent/ws/sockjs.h"

namespace vent::bridge {
namespace {
// Buffers up to this size are kept for reuse once empty; bigger ones are
// given back so an idle connection holds no large block.
constexpr size_t kKeepBufferBytes = 16 * 1024;

// The DEFLATE segment of a Vent frame's suffix ("}" or "}}": static
// storage), computed once per thread.
const std::string* SuffixSegment(absl::string_view suffix) {
  struct Entry {
    const char* data;
    size_t size;
    std::string segment;
  };
  static thread_local std::vector<Entry> cache;
  for (const Entry& e : cache) {
    if (e.data == suffix.data() && e.size == suffix.size()) return &e.segment;
  }
  std::string seg;
  if (!ws::ThreadDeflater().AppendSegment(suffix, &seg)) return nullptr;
  cache.push_back(Entry{suffix.data(), suffix.size(), std::move(seg)});
  return &cache.back().segment;
}
}  // namespace

OutputQueue::OutputQueue(Framing framing, OutputBudget budget)
    : framing_(framing), budget_(budget) {}

OutputQueue::~OutputQueue() {
  if (budget_.worker_total != nullptr) *budget_.worker_total -= accounted_;
}

void OutputQueue::AppendRaw(absl::string_view bytes) {
  plain_.append(bytes.data(), bytes.size());
  Account();
}

void OutputQueue::AppendSealed(absl::string_view wire) {
  wire_.append(wire.data(), wire.size());
  Account();
}

void OutputQueue::AppendMessage(absl::string_view ddp_message) {
  if (framing_ == Framing::kWebSocket) {
    ws::AppendFrame(plain_, ws::Opcode::kText, ddp_message);
  } else if (framing_ == Framing::kSockJsHttp) {
    if (plain_.size() > plain_off_) plain_.push_back(',');
    plain_.push_back('"');
    plain_.append(ws::SockJsEscape(ddp_message));
    plain_.push_back('"');
  } else {
    std::string framed;
    std::array<absl::string_view, 1> one = {ddp_message};
    ws::AppendArrayFrame(framed, one);
    ws::AppendFrame(plain_, ws::Opcode::kText, framed);
  }
  Account();
}

void OutputQueue::AppendVent(const Subscription& sub, Transformed& t) {
  const std::string& e = *t.e;
  const bool escaped = framing_ != Framing::kWebSocket;  // inside a string
  // The end of the frame: the sub's suffix ("}" or "}}"), with a history
  // event's position inserted before its last '}'.
  char tail_buf[128];
  absl::string_view tail = sub.suffix;
  if (t.offset > 0) {
    size_t ci = 0;
    while (ci < sub.channels.size() && sub.channels[ci] != t.channel) ++ci;
    absl::string_view head = sub.suffix.substr(0, sub.suffix.size() - 1);
    // The epoch is [0-9A-Za-z] (vent/redis/history.h): no escaping needed
    // beyond SockJS's quotes.
    int n = std::snprintf(tail_buf, sizeof(tail_buf),
                          escaped ? "%.*s,\\\"h\\\":[%zu,%lld,\\\"%.40s\\\"]}"
                                  : "%.*s,\"h\":[%zu,%lld,\"%.40s\"]}",
                          static_cast<int>(head.size()), head.data(), ci,
                          static_cast<long long>(t.offset), t.epoch.c_str());
    if (n > 0 && static_cast<size_t>(n) < sizeof(tail_buf)) {
      tail = absl::string_view(tail_buf, static_cast<size_t>(n));
    }
  }
  if (!escaped) {
    if (deflate_bits_ != 0 && AppendDeflatedVent(sub, t, tail)) {
      Account();
      return;
    }
    ws::AppendFrameHeader(plain_, ws::Opcode::kText,
                          sub.prefix.size() + e.size() + tail.size());
    plain_.append(sub.prefix);
    plain_.append(e);
    plain_.append(tail.data(), tail.size());
  } else {
    if (!t.sockjs_ready) {
      t.sockjs_e = ws::SockJsEscape(e);
      t.sockjs_ready = true;
    }
    if (framing_ == Framing::kSockJsHttp) {
      if (plain_.size() > plain_off_) plain_.push_back(',');
      absl::StrAppend(&plain_, "\"", sub.sockjs_prefix, t.sockjs_e, tail, "\"");
      Account();
      return;
    }
    ws::AppendTextFrameParts(
        plain_, {"a[\"", sub.sockjs_prefix, t.sockjs_e, tail, "\"]"});
  }
  Account();
}

bool OutputQueue::AppendDeflatedVent(const Subscription& sub, Transformed& t,
                                     absl::string_view tail) {
  const std::string& e = *t.e;
  if (t.deflate_state == 0) {
    t.deflate_state = -1;
    if (ws::ThreadDeflater().AppendSegment(e, &t.deflated_e) &&
        t.deflated_e.size() < e.size()) {
      t.deflate_state = 1;
    }
  }
  if (t.deflate_state < 0 || !ws::FitsWindow(e.size(), deflate_bits_) ||
      !ws::FitsWindow(sub.prefix.size(), deflate_bits_) ||
      !ws::FitsWindow(tail.size(), deflate_bits_)) {
    return false;
  }
  if (sub.deflated_prefix.empty() &&
      !ws::ThreadDeflater().AppendSegment(sub.prefix, &sub.deflated_prefix)) {
    return false;
  }
  // A history event's tail carries its position: deflated per frame.
  static thread_local std::string tail_segment;
  const std::string* suffix = &tail_segment;
  if (tail.data() == sub.suffix.data()) {
    suffix = SuffixSegment(sub.suffix);
  } else {
    tail_segment.clear();
    if (!ws::ThreadDeflater().AppendSegment(tail, &tail_segment)) return false;
  }
  if (suffix == nullptr) return false;
  // The message is the three segments without the last one's tail.
  const size_t size = sub.deflated_prefix.size() + t.deflated_e.size() +
                      suffix->size() - ws::kDeflateTail.size();
  if (size >= sub.prefix.size() + e.size() + tail.size()) return false;
  ws::AppendFrameHeader(plain_, ws::Opcode::kText, size, /*compressed=*/true);
  plain_.append(sub.deflated_prefix);
  plain_.append(t.deflated_e);
  plain_.append(suffix->data(), suffix->size() - ws::kDeflateTail.size());
  return true;
}

void OutputQueue::AppendControl(ws::Opcode op, absl::string_view payload) {
  VENT_DCHECK(payload.size() <= ws::kMaxControlPayload);
  VENT_DCHECK(framing_ != Framing::kSockJsHttp);
  ws::AppendFrame(plain_, op, payload);
  Account();
}

void OutputQueue::AppendClose(uint16_t code, absl::string_view reason) {
  VENT_DCHECK(framing_ != Framing::kSockJsHttp);
  if (framing_ == Framing::kSockJsWebSocket) {
    ws::AppendFrame(plain_, ws::Opcode::kText, ws::CloseFrame(code, reason));
  }
  ws::AppendClose(plain_, code, reason);
  Account();
}

absl::StatusOr<absl::string_view> OutputQueue::Pending() {
  if (sealer_ == nullptr) {
    return absl::string_view(plain_).substr(plain_off_);
  }
  if (plain_off_ < plain_.size()) {
    // Everything queued becomes records at once: plaintext is never
    // half-sealed, so plain_ is free again.
    absl::Status st =
        sealer_->Seal(absl::string_view(plain_).substr(plain_off_), &wire_);
    plain_off_ = plain_.size();
    ReleaseSent(plain_, plain_off_);
    Account();
    if (!st.ok()) return st;
  }
  return absl::string_view(wire_).substr(wire_off_);
}

void OutputQueue::Consume(size_t n) {
  if (n == 0) return;
  if (sealer_ == nullptr) {
    VENT_DCHECK(plain_off_ + n <= plain_.size());
    plain_off_ += n;
    ReleaseSent(plain_, plain_off_);
  } else {
    VENT_DCHECK(wire_off_ + n <= wire_.size());
    wire_off_ += n;
    ReleaseSent(wire_, wire_off_);
  }
  Account();
}

void OutputQueue::Drop() {
  std::string().swap(plain_);
  std::string().swap(wire_);
  plain_off_ = wire_off_ = 0;
  Account();
}

void OutputQueue::ReleaseIfEmpty() {
  if (plain_off_ == plain_.size()) {
    std::string().swap(plain_);
    plain_off_ = 0;
  }
  if (wire_off_ == wire_.size()) {
    std::string().swap(wire_);
    wire_off_ = 0;
  }
}

bool OutputQueue::over_budget() const {
  size_t q = queued();
  if (q > budget_.max_bytes) return true;
  return q > kBehindBytes && budget_.worker_total != nullptr &&
         *budget_.worker_total > budget_.max_worker_bytes;
}

void OutputQueue::Account() {
  int64_t now = static_cast<int64_t>(queued());
  if (budget_.worker_total != nullptr) {
    *budget_.worker_total += now - accounted_;
  }
  accounted_ = now;
}

// Drops the sent prefix [0, off) of `buf` when that is cheap or worth it;
// gives big buffers back once empty.
void OutputQueue::ReleaseSent(std::string& buf, size_t& off) {
  if (off == buf.size()) {
    buf.clear();
    off = 0;
    if (buf.capacity() > kKeepBufferBytes) std::string().swap(buf);
  } else if (off > kKeepBufferBytes && off * 2 > buf.size()) {
    buf.erase(0, off);
    off = 0;
  }
}

}  // namespace vent::bridge
