#include "server/subscribe_event.h"

#include <cstdint>

#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/wire_format_lite.h"

namespace vent::server {
namespace {

using google::protobuf::internal::WireFormatLite;
using google::protobuf::io::CodedOutputStream;

constexpr uint8_t Tag(int field, WireFormatLite::WireType type) {
  return static_cast<uint8_t>((field << 3) | type);
}
constexpr auto kLen = WireFormatLite::WIRETYPE_LENGTH_DELIMITED;
constexpr auto kVarint = WireFormatLite::WIRETYPE_VARINT;

size_t VarintSize(uint64_t v) { return CodedOutputStream::VarintSize64(v); }
uint8_t* PutVarint(uint64_t v, uint8_t* p) {
  return CodedOutputStream::WriteVarint64ToArray(v, p);
}

void ReleasePayload(void* user_data) {
  delete static_cast<std::shared_ptr<const std::string>*>(user_data);
}

}  // namespace

std::shared_ptr<const SharedEvent> EncodeSubscribeEvent(
    absl::string_view channel, std::shared_ptr<const std::string> payload,
    absl::Time received) {
  // google.protobuf.Timestamp{seconds = 1, nanos = 2}.
  const int64_t nanos_total = absl::ToUnixNanos(received);
  int64_t seconds = nanos_total / 1000000000;
  int64_t nanos = nanos_total % 1000000000;
  if (nanos < 0) {
    nanos += 1000000000;
    --seconds;
  }
  uint8_t ts[32];
  uint8_t* t = ts;
  if (seconds != 0) {
    *t++ = Tag(1, kVarint);
    t = PutVarint(static_cast<uint64_t>(seconds), t);
  }
  if (nanos != 0) {
    *t++ = Tag(2, kVarint);
    t = PutVarint(static_cast<uint64_t>(nanos), t);
  }
  const size_t ts_len = static_cast<size_t>(t - ts);
  const size_t json_len = payload->size();
  // Event{channel = 1, json = 2, emitted_at = 5}.
  const size_t event_len = 1 + VarintSize(channel.size()) + channel.size() + 1 +
                           VarintSize(json_len) + json_len + 1 +
                           VarintSize(ts_len) + ts_len;

  // Slice 1: SubscribeResponse.event (= 2) header, the channel, json's header.
  const size_t head_len = 1 + VarintSize(event_len) + 1 +
                          VarintSize(channel.size()) + channel.size() + 1 +
                          VarintSize(json_len);
  grpc::Slice head(head_len);
  uint8_t* p = const_cast<uint8_t*>(head.begin());
  *p++ = Tag(2, kLen);
  p = PutVarint(event_len, p);
  *p++ = Tag(1, kLen);
  p = PutVarint(channel.size(), p);
  if (!channel.empty()) memcpy(p, channel.data(), channel.size());
  p += channel.size();
  *p++ = Tag(2, kLen);
  p = PutVarint(json_len, p);
  // Slice 2: the payload itself, owned by a shared_ptr the slice holds.
  const std::string& json = *payload;
  auto* owner = new std::shared_ptr<const std::string>(std::move(payload));
  grpc::Slice body(const_cast<char*>(json.data()), json_len, &ReleasePayload,
                   owner);
  // Slice 3: emitted_at (= 5).
  uint8_t tail_buf[40];
  uint8_t* q = tail_buf;
  *q++ = Tag(5, kLen);
  q = PutVarint(ts_len, q);
  memcpy(q, ts, ts_len);
  q += ts_len;
  grpc::Slice tail(tail_buf, static_cast<size_t>(q - tail_buf));

  auto e = std::make_shared<SharedEvent>();
  grpc::Slice slices[] = {head, body, tail};
  e->bytes = grpc::ByteBuffer(slices, 3);
  e->size = head_len + json_len + static_cast<size_t>(q - tail_buf);
  return e;
}

grpc::ByteBuffer EncodeReady() {
  static const uint8_t kReady[] = {Tag(1, kVarint), 1};
  grpc::Slice s(kReady, sizeof(kReady));
  return grpc::ByteBuffer(&s, 1);
}

}  // namespace vent::server
