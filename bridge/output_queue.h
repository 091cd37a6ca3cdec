// OutputQueue: one connection's outgoing bytes — framed (raw WebSocket,
// SockJS over WebSocket, or SockJS over HTTP), optionally sealed into TLS
// records — and the budgets they count against. No I/O: the transport takes
// Pending() bytes, writes what the socket accepts and reports it with
// Consume().
//
// SockJS over HTTP (kSockJsHttp) queues the ELEMENTS of the next a[...]
// frame: `"m1","m2"` (each a SockJS-escaped JSON string). The session takes
// all of them at once (Pending() then Consume(all)) and frames them for its
// receiving request; no close or control frames go through the queue.
//
// Budgets (docs/protocol.md, "Limits"):
//  * every byte queued for the client counts: Vent frames, DDP replies,
//    WebSocket pongs and close frames alike (a client cannot make the bridge
//    buffer replies it does not read);
//  * over_budget(): more than --max-outgoing queued, or more than 64 KiB
//    behind while the worker's total is over --max-worker-outgoing. The
//    transport then closes the connection as a slow client (4008);
//  * behind(): more than 64 KiB queued: the transport stops reading the
//    client until the queue drains (backpressure on requests).
// The worker's total (`*worker_total`) is kept equal to the sum of queued()
// over its connections: every change is added as a delta, and the destructor
// gives the rest back.
//
// Threading: the connection's worker thread only.
#ifndef VENT_BRIDGE_OUTPUT_QUEUE_H_
#define VENT_BRIDGE_OUTPUT_QUEUE_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "bridge/subscription.h"
#include "vent/ws/frame.h"

namespace vent::bridge {

// Turns plaintext into wire bytes (TLS records).
class Sealer {
 public:
  virtual ~Sealer() = default;
  virtual absl::Status Seal(absl::string_view plain, std::string* wire) = 0;
};

struct OutputBudget {
  size_t max_bytes = 4 * 1024 * 1024;           // --max-outgoing
  int64_t max_worker_bytes = 64 * 1024 * 1024;  // --max-worker-outgoing
  int64_t* worker_total = nullptr;              // the worker's sum
};

class OutputQueue {
 public:
  enum class Framing { kWebSocket, kSockJsWebSocket, kSockJsHttp };
  // More queued than this: behind (see the header comment).
  static constexpr size_t kBehindBytes = 64 * 1024;

  OutputQueue(Framing framing, OutputBudget budget);
  ~OutputQueue();
  OutputQueue(const OutputQueue&) = delete;
  OutputQueue& operator=(const OutputQueue&) = delete;

  // TLS: from now on Pending() seals plaintext first. Not owned.
  void set_sealer(Sealer* sealer) { sealer_ = sealer; }
  // permessage-deflate was negotiated (kWebSocket framing only): a Vent
  // frame goes compressed (RSV1) when that is smaller and every segment fits
  // the peer's `server_window_bits`, else as usual. The event's segment is
  // shared through Transformed, the prefix's kept in the Subscription; DDP
  // replies and control frames stay uncompressed (RFC 7692 allows both).
  void EnableDeflate(uint8_t server_window_bits) {
    deflate_bits_ = server_window_bits;
  }

  // Bytes already in wire form (the HTTP 101 response, SockJS's "o").
  void AppendRaw(absl::string_view bytes);
  // TLS records produced outside Pending() (alerts, post-handshake
  // messages from TlsSession::Feed). They precede everything not yet sealed.
  void AppendSealed(absl::string_view wire);
  // One DDP message: a text frame, or a["..."] in a text frame for SockJS.
  void AppendMessage(absl::string_view ddp_message);
  // One Vent frame for `sub` (see Subscription::prefix).
  void AppendVent(const Subscription& sub, Transformed& t);
  // A control frame (pong). REQUIRES: payload <= 125 bytes, not
  // kSockJsHttp.
  void AppendControl(ws::Opcode op, absl::string_view payload);
  // SockJS c[code,"reason"] (SockJS framing only), then the WebSocket close.
  // REQUIRES: not kSockJsHttp.
  void AppendClose(uint16_t code, absl::string_view reason);

  // The bytes to write next (sealing queued plaintext first when a sealer is
  // set). Empty when nothing is queued. An error means the TLS session is
  // broken: the caller terminates the connection.
  absl::StatusOr<absl::string_view> Pending();
  // `n` bytes of Pending() were written.
  void Consume(size_t n);
  // Drops everything not yet written (slow-client close) and frees memory.
  void Drop();
  // Gives the buffers' memory back if nothing is queued (an idle connection
  // holds no output buffer; busy ones keep theirs between writes).
  void ReleaseIfEmpty();

  size_t queued() const {
    return plain_.size() - plain_off_ + wire_.size() - wire_off_;
  }
  bool empty() const { return queued() == 0; }
  bool over_budget() const;
  bool behind() const { return queued() > kBehindBytes; }
  // True when a frame may have been partly written (nothing can be appended
  // safely after Drop()): some plaintext was consumed, or sealed records are
  // pending (records cannot be dropped: the next one would fail the peer's
  // sequence check).
  bool partly_written() const {
    return plain_off_ > 0 || wire_off_ < wire_.size();
  }

 private:
  // Adds the change of queued() since the last call to the worker's total.
  void Account();
  // The compressed Vent frame; false = send it uncompressed.
  // `tail`: the frame's end (the sub's suffix, or it with a history position).
  bool AppendDeflatedVent(const Subscription& sub, Transformed& t,
                          absl::string_view tail);
  static void ReleaseSent(std::string& buf, size_t& off);

  const Framing framing_;
  uint8_t deflate_bits_ = 0;  // 0: permessage-deflate off
  const OutputBudget budget_;
  Sealer* sealer_ = nullptr;
  std::string plain_;  // frames; plain_[plain_off_..] not yet written/sealed
  size_t plain_off_ = 0;
  std::string wire_;  // TLS only: sealed records; wire_[wire_off_..] unsent
  size_t wire_off_ = 0;
  int64_t accounted_ = 0;
};

}  // namespace vent::bridge

#endif  // VENT_BRIDGE_OUTPUT_QUEUE_H_
