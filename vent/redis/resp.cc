#include "vent/redis/resp.h"

#include <hiredis/hiredis.h>

#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace vent::redis {

void AppendCommand(std::string& out, absl::Span<const absl::string_view> args) {
  absl::StrAppend(&out, "*", args.size(), "\r\n");
  for (absl::string_view a : args) {
    absl::StrAppend(&out, "$", a.size(), "\r\n");
    out.append(a.data(), a.size());
    out.append("\r\n");
  }
}

namespace {

// Writes "$<n>\r\n" at `p`; returns the end.
char* PutBulkHeader(char* p, size_t n) {
  *p++ = '$';
  char digits[20];
  int k = 0;
  do {
    digits[k++] = static_cast<char>('0' + n % 10);
    n /= 10;
  } while (n != 0);
  while (k > 0) *p++ = digits[--k];
  *p++ = '\r';
  *p++ = '\n';
  return p;
}

}  // namespace

void AppendPublish(std::string& out, absl::string_view channel,
                   absl::string_view message, bool sharded) {
  const absl::string_view kHead =
      sharded ? absl::string_view("*3\r\n$8\r\nSPUBLISH\r\n")
              : absl::string_view("*3\r\n$7\r\nPUBLISH\r\n");
  const size_t old = out.size();
  // Two headers of at most 24 bytes each, two CRLFs.
  const size_t max =
      kHead.size() + 2 * 24 + channel.size() + message.size() + 4;
  out.resize(old + max);
  char* p = out.data() + old;
  std::memcpy(p, kHead.data(), kHead.size());
  p += kHead.size();
  p = PutBulkHeader(p, channel.size());
  std::memcpy(p, channel.data(), channel.size());
  p += channel.size();
  *p++ = '\r';
  *p++ = '\n';
  p = PutBulkHeader(p, message.size());
  std::memcpy(p, message.data(), message.size());
  p += message.size();
  *p++ = '\r';
  *p++ = '\n';
  out.resize(static_cast<size_t>(p - out.data()));
}

std::string EncodeCommand(std::initializer_list<absl::string_view> args) {
  std::string out;
  AppendCommand(out, args);
  return out;
}

void ReplyDeleter::operator()(redisReply* r) const { freeReplyObject(r); }

ReplyType TypeOf(const redisReply& r) {
  switch (r.type) {
    case REDIS_REPLY_STRING:
      return ReplyType::kString;
    case REDIS_REPLY_ARRAY:
      return ReplyType::kArray;
    case REDIS_REPLY_INTEGER:
      return ReplyType::kInteger;
    case REDIS_REPLY_STATUS:
      return ReplyType::kStatus;
    case REDIS_REPLY_ERROR:
      return ReplyType::kError;
    default:
      return ReplyType::kNil;
  }
}

absl::string_view StringOf(const redisReply& r) {
  if (r.type == REDIS_REPLY_STRING || r.type == REDIS_REPLY_STATUS ||
      r.type == REDIS_REPLY_ERROR) {
    return absl::string_view(r.str, r.len);
  }
  return {};
}

int64_t IntegerOf(const redisReply& r) {
  return r.type == REDIS_REPLY_INTEGER ? r.integer : 0;
}

size_t ArraySize(const redisReply& r) {
  return r.type == REDIS_REPLY_ARRAY ? r.elements : 0;
}

const redisReply& ElementOf(const redisReply& r, size_t i) {
  return *r.element[i];
}

std::string DebugString(const redisReply& r) {
  switch (r.type) {
    case REDIS_REPLY_STRING:
      return absl::StrCat("\"", StringOf(r), "\"");
    case REDIS_REPLY_STATUS:
      return absl::StrCat("+", StringOf(r));
    case REDIS_REPLY_ERROR:
      return absl::StrCat("-", StringOf(r));
    case REDIS_REPLY_INTEGER:
      return absl::StrCat(":", r.integer);
    case REDIS_REPLY_ARRAY: {
      std::string out = "[";
      for (size_t i = 0; i < r.elements; ++i) {
        if (i) out += ", ";
        out += DebugString(*r.element[i]);
      }
      return out + "]";
    }
    default:
      return "$-1";
  }
}

void RespReader::Deleter::operator()(redisReader* r) const {
  redisReaderFree(r);
}

RespReader::RespReader() : reader_(redisReaderCreate()) {
  // Keep the read buffer allocated (default would shrink it when idle past
  // 16 KiB; we feed 64 KiB chunks).
  reader_->maxbuf = 0;
}
RespReader::~RespReader() = default;
RespReader::RespReader(RespReader&&) noexcept = default;
RespReader& RespReader::operator=(RespReader&&) noexcept = default;

void RespReader::Feed(const char* data, size_t len) {
  if (failed_ || len == 0) return;
  if (redisReaderFeed(reader_.get(), data, len) != REDIS_OK) failed_ = true;
}

absl::StatusOr<ReplyPtr> RespReader::Next() {
  void* reply = nullptr;
  if (failed_ || redisReaderGetReply(reader_.get(), &reply) != REDIS_OK) {
    failed_ = true;
    return absl::InternalError(
        absl::StrCat("redis protocol error: ", reader_->errstr));
  }
  return ReplyPtr(static_cast<redisReply*>(reply));
}

}  // namespace vent::redis
