#include "vent/ws/sockjs.h"

#include <array>
#include <bit>
#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace vent::ws {
namespace {

constexpr char kHex[] = "0123456789abcdef";

// Batches the many small writes of escaping into a stack buffer so that `out`
// sees few, large appends.
class Sink {
 public:
  explicit Sink(std::string& out) : out_(out) {}
  Sink(const Sink&) = delete;
  Sink& operator=(const Sink&) = delete;
  ~Sink() { Flush(); }

  void Put(const char* p, size_t n) {
    if (n > sizeof(buf_) - len_) {
      Flush();
      if (n >= sizeof(buf_) / 2) {
        out_.append(p, n);
        return;
      }
    }
    std::memcpy(buf_ + len_, p, n);
    len_ += n;
  }
  void Put(absl::string_view s) { Put(s.data(), s.size()); }
  void Put(char c) { Put(&c, 1); }
  void PutU(uint32_t unit) {
    const char b[6] = {'\\',
                       'u',
                       kHex[(unit >> 12) & 0xF],
                       kHex[(unit >> 8) & 0xF],
                       kHex[(unit >> 4) & 0xF],
                       kHex[unit & 0xF]};
    Put(b, 6);
  }
  void Flush() {
    out_.append(buf_, len_);
    len_ = 0;
  }

 private:
  std::string& out_;
  size_t len_ = 0;
  char buf_[1024];
};

// kSpecial[c] is true for bytes that cannot be copied through verbatim: C0
// controls,
// '"', '\\' and every non-ASCII byte (decoded to check the sockjs ranges).
constexpr auto kSpecial = [] {
  std::array<bool, 256> t{};
  for (int c = 0; c < 256; ++c)
    t[c] = c < 0x20 || c == '"' || c == '\\' || c >= 0x80;
  return t;
}();

// Returns the first byte in [p, end) with kSpecial set (or end). Scans 8 bytes
// at a time: in each flag expression a borrow only creates false hits above a
// true hit, so the lowest flagged byte is exact.
const unsigned char* SkipPlain(const unsigned char* p,
                               const unsigned char* end) {
  if constexpr (std::endian::native == std::endian::little) {
    constexpr uint64_t kOnes = 0x0101010101010101ULL,
                       kHigh = 0x8080808080808080ULL;
    while (end - p >= 8) {
      uint64_t w;
      std::memcpy(&w, p, 8);
      const uint64_t q = w ^ (kOnes * '"'), b = w ^ (kOnes * '\\');
      const uint64_t flags = (w | ((w - kOnes * 0x20) & ~w) |
                              ((q - kOnes) & ~q) | ((b - kOnes) & ~b)) &
                             kHigh;
      if (flags != 0) return p + std::countr_zero(flags) / 8;
      p += 8;
    }
  }
  while (p < end && !kSpecial[*p]) ++p;
  return p;
}

// Length of the well-formed UTF-8 sequence at p (0 if ill-formed), code point
// in *cp.
size_t DecodeUtf8(const unsigned char* p, const unsigned char* end,
                  uint32_t* cp) {
  const unsigned char c = p[0];
  size_t len;
  unsigned char lo = 0x80, hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
    *cp = c & 0x1F;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    *cp = c & 0x0F;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    *cp = c & 0x07;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (static_cast<size_t>(end - p) < len || p[1] < lo || p[1] > hi) return 0;
  for (size_t i = 1; i < len; ++i) {
    if ((p[i] & 0xC0) != 0x80) return 0;
    *cp = (*cp << 6) | (p[i] & 0x3F);
  }
  return len;
}

bool SockJsEscapes(uint32_t cp) {
  return (cp >= 0x200C && cp <= 0x200F) || (cp >= 0x2028 && cp <= 0x202F) ||
         (cp >= 0x2060 && cp <= 0x206F) || cp >= 0xFFF0;
}

// Appends `s` as a quoted JSON string. sockjs=true adds sockjs-node's extra
// escapes.
void AppendQuoted(Sink& out, absl::string_view s, bool sockjs) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const unsigned char* const end = p + s.size();
  out.Put('"');
  while (p < end) {
    const unsigned char* run = p;
    p = SkipPlain(p, end);
    out.Put(reinterpret_cast<const char*>(run), p - run);
    if (p == end) break;
    const unsigned char c = *p;
    if (c < 0x80) {
      ++p;
      switch (c) {
        case '"':
          out.Put("\\\"");
          break;
        case '\\':
          out.Put("\\\\");
          break;
        case '\b':
          out.Put("\\b");
          break;
        case '\f':
          out.Put("\\f");
          break;
        case '\n':
          out.Put("\\n");
          break;
        case '\r':
          out.Put("\\r");
          break;
        case '\t':
          out.Put("\\t");
          break;
        default:
          out.PutU(c);
      }
      continue;
    }
    uint32_t cp = 0;
    const size_t len = DecodeUtf8(p, end, &cp);
    if (len == 0) {
      if (sockjs) {
        out.PutU(0xFFFD);
      } else {
        out.Put("\xEF\xBF\xBD");
      }
      ++p;
      continue;
    }
    if (sockjs && cp >= 0x10000) {
      const uint32_t v = cp - 0x10000;
      out.PutU(0xD800 | (v >> 10));
      out.PutU(0xDC00 | (v & 0x3FF));
    } else if (sockjs && SockJsEscapes(cp)) {
      out.PutU(cp);
    } else {
      out.Put(reinterpret_cast<const char*>(p), len);
    }
    p += len;
  }
  out.Put('"');
}

absl::Status Broken() {
  return absl::InvalidArgumentError(kSockJsBrokenFraming);
}

bool IsSegment(absl::string_view s) {
  return !s.empty() && s.find_first_of("/.") == absl::string_view::npos;
}

}  // namespace

std::string InfoJson(uint32_t entropy) {
  return absl::StrCat(
      R"({"websocket":true,"origins":["*:*"],"cookie_needed":false,"entropy":)",
      entropy, "}");
}

void AppendArrayFrame(std::string& out,
                      std::span<const absl::string_view> messages) {
  size_t estimate = 3;
  for (absl::string_view m : messages) estimate += m.size() + m.size() / 8 + 3;
  out.reserve(out.size() + estimate);
  Sink sink(out);
  sink.Put("a[");
  for (size_t i = 0; i < messages.size(); ++i) {
    if (i != 0) sink.Put(',');
    AppendQuoted(sink, messages[i], /*sockjs=*/true);
  }
  sink.Put(']');
}

std::string CloseFrame(uint16_t code, absl::string_view reason) {
  std::string out = absl::StrCat("c[", code, ",");
  {
    Sink sink(out);
    AppendQuoted(sink, reason, /*sockjs=*/false);
    sink.Put(']');
  }
  return out;
}

absl::StatusOr<std::vector<std::string>> ParseClientFrame(
    absl::string_view text) {
  std::vector<std::string> result;
  if (text.empty()) return result;
  unsigned char scratch[4096];
  boost::json::monotonic_resource mr(scratch, sizeof(scratch));
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(
      boost::json::string_view(text.data(), text.size()), ec, &mr);
  if (ec) return Broken();
  if (const boost::json::string* s = v.if_string()) {
    result.emplace_back(s->data(), s->size());
    return result;
  }
  const boost::json::array* a = v.if_array();
  if (a == nullptr) return Broken();
  result.reserve(a->size());
  for (const boost::json::value& e : *a) {
    const boost::json::string* s = e.if_string();
    if (s == nullptr) return Broken();
    result.emplace_back(s->data(), s->size());
  }
  return result;
}

bool IsSockJsWebSocketPath(absl::string_view path) {
  path = path.substr(0, path.find('?'));
  if (!absl::ConsumePrefix(&path, "/sockjs/")) return false;
  absl::ConsumeSuffix(&path, "/");
  if (!absl::ConsumeSuffix(&path, "/websocket")) return false;
  const size_t slash = path.find('/');
  if (slash == absl::string_view::npos) return false;
  return IsSegment(path.substr(0, slash)) && IsSegment(path.substr(slash + 1));
}

std::string SockJsEscape(absl::string_view s) {
  std::string tmp;
  std::array<absl::string_view, 1> one = {s};
  AppendArrayFrame(tmp, one);  // a["<escaped>"]
  return tmp.substr(3, tmp.size() - 5);
}

}  // namespace vent::ws
