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
  absl::string_view json = *payload;
  return EncodeSubscribeEvent(channel, std::move(payload), json, 0, "",
                              received);
}

std::shared_ptr<const SharedEvent> EncodeSubscribeEvent(
    absl::string_view channel, std::shared_ptr<const std::string> payload,
    absl::string_view json, int64_t offset, absl::string_view epoch,
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
  const size_t json_len = json.size();

  // Slice 3: emitted_at (= 5), then offset (= 7) and epoch (= 8) when set.
  std::string tail;
  tail.resize(
      2 + ts_len + (offset > 0 ? 11 : 0) +
      (epoch.empty() ? 0 : 1 + VarintSize(epoch.size()) + epoch.size()));
  uint8_t* q = reinterpret_cast<uint8_t*>(tail.data());
  *q++ = Tag(5, kLen);
  q = PutVarint(ts_len, q);
  memcpy(q, ts, ts_len);
  q += ts_len;
  if (offset > 0) {
    *q++ = Tag(7, kVarint);
    q = PutVarint(static_cast<uint64_t>(offset), q);
  }
  if (!epoch.empty()) {
    *q++ = Tag(8, kLen);
    q = PutVarint(epoch.size(), q);
    memcpy(q, epoch.data(), epoch.size());
    q += epoch.size();
  }
  const size_t tail_len =
      static_cast<size_t>(q - reinterpret_cast<const uint8_t*>(tail.data()));

  // Event{channel = 1, json = 2, emitted_at = 5, offset = 7, epoch = 8}.
  const size_t event_len = 1 + VarintSize(channel.size()) + channel.size() + 1 +
                           VarintSize(json_len) + json_len + tail_len;

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
  // Slice 2: the JSON itself, inside the payload a shared_ptr the slice holds
  // keeps alive.
  auto* owner = new std::shared_ptr<const std::string>(std::move(payload));
  grpc::Slice body(const_cast<char*>(json.data()), json_len, &ReleasePayload,
                   owner);
  grpc::Slice tail_slice(tail.data(), tail_len);

  auto e = std::make_shared<SharedEvent>();
  grpc::Slice slices[] = {head, body, tail_slice};
  e->bytes = grpc::ByteBuffer(slices, 3);
  e->size = head_len + json_len + tail_len;
  if (offset > 0) {
    e->channel = std::string(channel);
    e->offset = offset;
    e->epoch = std::string(epoch);
  }
  return e;
}

grpc::ByteBuffer EncodeReady() {
  static const uint8_t kReady[] = {Tag(1, kVarint), 1};
  grpc::Slice s(kReady, sizeof(kReady));
  return grpc::ByteBuffer(&s, 1);
}

}  // namespace vent::server
