#include "server/request_codec.h"

#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/wire_format_lite.h"
#include "grpcpp/impl/codegen/proto_utils.h"
#include "grpcpp/support/proto_buffer_reader.h"
#include "grpcpp/support/proto_buffer_writer.h"
#include "server/log_limiter.h"
#include "vent/base/log.h"
#include "vent/event/validate.h"

namespace vent::server {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::internal::WireFormatLite;
using google::protobuf::io::CodedInputStream;

bool IsJsonContainer(const Descriptor* d) {
  return d->full_name() == "google.protobuf.Struct" ||
         d->full_name() == "google.protobuf.ListValue";
}

// The second pass: walks the wire bytes with the descriptor and reports the
// first field the strict parser would refuse.
class Diagnoser {
 public:
  explicit Diagnoser(const ParseOptions& options) : options_(options) {}

  // `path` names the message ("" = the request); `json_root` is the path of
  // the Struct/ListValue field being walked (nullptr outside one) and
  // `json_depth` its nesting so far.
  absl::Status Walk(absl::string_view data, const Descriptor* d,
                    const std::string& path, const std::string* json_root,
                    size_t json_depth) {
    CodedInputStream in(reinterpret_cast<const uint8_t*>(data.data()),
                        static_cast<int>(data.size()));
    absl::flat_hash_map<int, int64_t> seen;  // field number -> occurrences
    for (;;) {
      const uint32_t tag = in.ReadTag();
      if (tag == 0) {
        if (static_cast<size_t>(in.CurrentPosition()) == data.size())
          return absl::OkStatus();
        return Malformed(path, d);
      }
      const auto wire = WireFormatLite::GetTagWireType(tag);
      const FieldDescriptor* f =
          d->FindFieldByNumber(WireFormatLite::GetTagFieldNumber(tag));
      // Unknown fields, and known ones sent with another wire type (kept
      // as unknown by protobuf), are skipped.
      if (f == nullptr || wire != WireFormatLite::WIRETYPE_LENGTH_DELIMITED ||
          (f->type() != FieldDescriptor::TYPE_STRING &&
           f->type() != FieldDescriptor::TYPE_MESSAGE)) {
        if (!WireFormatLite::SkipField(&in, tag)) return Malformed(path, d);
        continue;
      }
      std::string name =
          path.empty() ? f->name() : absl::StrCat(path, ".", f->name());
      if (f->is_repeated()) {
        int64_t i = seen[f->number()]++;
        if (path.empty()) i += options_.index_base;
        absl::StrAppend(&name, "[", i, "]");
      }
      uint32_t len = 0;
      if (!in.ReadVarint32(&len)) return Malformed(path, d);
      const size_t at = static_cast<size_t>(in.CurrentPosition());
      if (len > data.size() - at) return Malformed(path, d);
      const absl::string_view value = data.substr(at, len);
      if (!in.Skip(static_cast<int>(len))) return Malformed(path, d);

      if (f->type() == FieldDescriptor::TYPE_STRING) {
        size_t bad = 0;
        if (event::IsValidUtf8(value, &bad)) continue;
        if (json_root != nullptr) {
          return absl::InvalidArgumentError(absl::StrCat(
              *json_root, ": a string (key or value) is not valid UTF-8"));
        }
        return absl::InvalidArgumentError(
            absl::StrCat(name, ": not valid UTF-8 at byte ", bad));
      }
      const Descriptor* sub = f->message_type();
      const std::string* root = json_root;
      size_t depth = json_depth;
      if (IsJsonContainer(sub)) {
        if (root == nullptr) root = &name;
        if (++depth > options_.max_json_depth) {
          return absl::InvalidArgumentError(
              absl::StrCat(*root, ": nesting deeper than ",
                           options_.max_json_depth, " levels"));
        }
      }
      if (absl::Status s = Walk(value, sub, name, root, depth); !s.ok())
        return s;
    }
  }

 private:
  static absl::Status Malformed(const std::string& path, const Descriptor* d) {
    return absl::InvalidArgumentError(absl::StrCat(
        path.empty() ? std::string("request") : path, ": not a valid ",
        d->full_name(), " message (truncated or corrupt protobuf)"));
  }

  const ParseOptions& options_;
};

absl::Status Diagnose(absl::string_view bytes,
                      const google::protobuf::Message& msg,
                      const ParseOptions& options) {
  Diagnoser d(options);
  absl::Status s = d.Walk(bytes, msg.GetDescriptor(), "", nullptr, 0);
  if (!s.ok()) return s;
  return absl::InvalidArgumentError(absl::StrCat(
      "request: could not be parsed as ", msg.GetDescriptor()->full_name()));
}

}  // namespace

int RecursionLimitFor(size_t max_json_depth) {
  return static_cast<int>(3 * max_json_depth + 8);
}

absl::Status ParseRequest(const grpc::ByteBuffer& buffer,
                          google::protobuf::Message* msg,
                          const ParseOptions& options) {
  msg->Clear();
  {
    grpc::ByteBuffer copy(buffer);  // shares the slices
    grpc::ProtoBufferReader reader(&copy);
    if (reader.status().ok()) {
      CodedInputStream in(&reader);
      in.SetRecursionLimit(RecursionLimitFor(options.max_json_depth));
      if (msg->MergeFromCodedStream(&in)) return absl::OkStatus();
    }
  }
  std::vector<grpc::Slice> slices;
  std::string flat;
  if (buffer.Valid() && buffer.Dump(&slices).ok()) {
    for (const auto& s : slices)
      flat.append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  msg->Clear();
  return Diagnose(flat, *msg, options);
}

absl::Status ParseRequest(absl::string_view bytes,
                          google::protobuf::Message* msg,
                          const ParseOptions& options) {
  msg->Clear();
  CodedInputStream in(reinterpret_cast<const uint8_t*>(bytes.data()),
                      static_cast<int>(bytes.size()));
  in.SetRecursionLimit(RecursionLimitFor(options.max_json_depth));
  if (msg->MergeFromCodedStream(&in)) return absl::OkStatus();
  msg->Clear();
  return Diagnose(bytes, *msg, options);
}

void InstallProtobufLogLimiter() {
  google::protobuf::SetLogHandler([](google::protobuf::LogLevel level,
                                     const char* file, int line,
                                     const std::string& message) {
    static LogLimiter* limiter = new LogLimiter(absl::Seconds(10));
    if (level < google::protobuf::LOGLEVEL_WARNING) return;
    int64_t skipped = 0;
    if (!limiter->Allow(&skipped)) return;
    VENT_LOG_WARN("protobuf", "message", message, "at",
                  absl::StrCat(file, ":", line), "skipped_since_last", skipped);
  });
}

void SerializeTo(const google::protobuf::Message& msg, grpc::ByteBuffer* out) {
  bool own = false;
  grpc::SerializationTraits<google::protobuf::Message>::Serialize(msg, out,
                                                                  &own);
}

}  // namespace vent::server
