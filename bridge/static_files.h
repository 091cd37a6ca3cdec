// Maps a request path to a file under the configured static folder, refusing
// anything that would leave it ("..", symlinks out, NUL). No I/O beyond
// realpath(3)/stat(2).
#ifndef VENT_BRIDGE_STATIC_FILES_H_
#define VENT_BRIDGE_STATIC_FILES_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace vent::bridge {

struct StaticFile {
  std::string path;  // absolute, inside the root
  std::string content_type;
  uint64_t size = 0;
};

// `target` is the request path without the query string. "/" and paths that
// name a folder serve its index.html. NotFound for anything else.
absl::StatusOr<StaticFile> ResolveStatic(const std::string& root,
                                         absl::string_view target);

std::string ContentTypeFor(absl::string_view path);

// Reads the whole file. ResourceExhausted when it is larger than
// `max_bytes` (nothing is read); NotFound when it cannot be read.
absl::StatusOr<std::string> ReadStatic(const StaticFile& file,
                                       uint64_t max_bytes);

}  // namespace vent::bridge

#endif  // VENT_BRIDGE_STATIC_FILES_H_
