#include "bridge/static_files.h"

#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace vent::bridge {

std::string ContentTypeFor(absl::string_view path) {
  struct Type {
    const char* ext;
    const char* type;
  };
  static constexpr Type kTypes[] = {
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".json", "application/json"},
      {".png", "image/png"},
      {".svg", "image/svg+xml"},
      {".ico", "image/x-icon"},
      {".txt", "text/plain; charset=utf-8"},
      {".map", "application/json"},
  };
  for (const Type& t : kTypes) {
    if (absl::EndsWith(path, t.ext)) return t.type;
  }
  return "application/octet-stream";
}

absl::StatusOr<StaticFile> ResolveStatic(const std::string& root,
                                         absl::string_view target) {
  if (root.empty()) return absl::NotFoundError("no static folder");
  if (target.empty() || target[0] != '/' || absl::StrContains(target, '\0') ||
      absl::StrContains(target, '\\')) {
    return absl::NotFoundError("bad path");
  }
  for (absl::string_view seg : absl::StrSplit(target, '/')) {
    if (seg == ".." || seg == ".") return absl::NotFoundError("bad path");
  }
  char real_root[PATH_MAX];
  if (realpath(root.c_str(), real_root) == nullptr)
    return absl::NotFoundError("no root");
  std::string candidate = absl::StrCat(real_root, target);
  struct stat st;
  if (stat(candidate.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    candidate = absl::StrCat(
        candidate, absl::EndsWith(candidate, "/") ? "" : "/", "index.html");
  }
  char real[PATH_MAX];
  if (realpath(candidate.c_str(), real) == nullptr)
    return absl::NotFoundError("no file");
  std::string prefix = absl::StrCat(real_root, "/");
  if (!absl::StartsWith(real, prefix))
    return absl::NotFoundError("outside root");
  if (stat(real, &st) != 0 || !S_ISREG(st.st_mode))
    return absl::NotFoundError("not a file");
  return StaticFile{real, ContentTypeFor(real),
                    static_cast<uint64_t>(st.st_size)};
}

absl::StatusOr<std::string> ReadStatic(const StaticFile& file,
                                       uint64_t max_bytes) {
  if (file.size > max_bytes) {
    return absl::ResourceExhaustedError(
        absl::StrCat("file larger than --max-static-bytes (", max_bytes, ")"));
  }
  std::ifstream in(file.path, std::ios::binary);
  if (!in) return absl::NotFoundError("unreadable");
  std::string content;
  content.resize(file.size);
  in.read(content.data(), static_cast<std::streamsize>(file.size));
  // The file may have changed since stat(2): serve what was read, never more
  // than the limit.
  content.resize(static_cast<size_t>(in.gcount()));
  return content;
}

}  // namespace vent::bridge
