// RESP2 on the wire: command encoding (ours) and reply parsing (hiredis'
// redisReader, used standalone; no hiredis I/O).
//
// Encoding: every command is an array of bulk strings, so arguments are
// binary safe ("*2\r\n$4\r\nPING\r\n$1\r\nx\r\n").
//
// RespReader is not thread-safe; one per connection, fed from its read loop.
#ifndef VENT_REDIS_RESP_H_
#define VENT_REDIS_RESP_H_

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

struct redisReply;
struct redisReader;

namespace vent::redis {

// Appends one encoded command to `out` (several appends = a pipeline).
void AppendCommand(std::string& out, absl::Span<const absl::string_view> args);
inline void AppendCommand(std::string& out,
                          std::initializer_list<absl::string_view> args) {
  AppendCommand(out,
                absl::Span<const absl::string_view>(args.begin(), args.size()));
}
std::string EncodeCommand(std::initializer_list<absl::string_view> args);
// Appends `PUBLISH channel message` (`SPUBLISH` when `sharded`; same bytes
// as AppendCommand), with one size computation and no intermediate
// formatting: the publish hot path.
void AppendPublish(std::string& out, absl::string_view channel,
                   absl::string_view message, bool sharded = false);

struct ReplyDeleter {
  void operator()(redisReply* r) const;
};
// An owned hiredis reply tree (type/str/len/integer/element as in hiredis).
using ReplyPtr = std::unique_ptr<redisReply, ReplyDeleter>;

// Helpers that read a reply without hiredis headers in the caller.
enum class ReplyType { kString, kArray, kInteger, kNil, kStatus, kError };
ReplyType TypeOf(const redisReply& r);
absl::string_view StringOf(const redisReply& r);  // string, status or error
int64_t IntegerOf(const redisReply& r);
size_t ArraySize(const redisReply& r);
const redisReply& ElementOf(const redisReply& r, size_t i);
// Compact human form for logs and test failures: +OK, :42, $-1, "bulk", -ERR x,
// [a, b].
std::string DebugString(const redisReply& r);

class RespReader {
 public:
  RespReader();
  ~RespReader();
  RespReader(const RespReader&) = delete;
  RespReader& operator=(const RespReader&) = delete;
  RespReader(RespReader&&) noexcept;
  RespReader& operator=(RespReader&&) noexcept;

  // Appends raw bytes from the socket (any chunking).
  void Feed(const char* data, size_t len);
  // The next complete reply, nullptr when more bytes are needed, or an
  // INTERNAL error on a protocol error (the stream is then unusable: drop the
  // connection).
  absl::StatusOr<ReplyPtr> Next();

 private:
  struct Deleter {
    void operator()(redisReader* r) const;
  };
  std::unique_ptr<redisReader, Deleter> reader_;
  bool failed_ = false;
};

}  // namespace vent::redis

#endif  // VENT_REDIS_RESP_H_
