#include "vent/ws/deflate.h"

#include <zlib.h>

#include <algorithm>
#include <optional>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace vent::ws {
namespace {

constexpr absl::string_view kExtensionName = "permessage-deflate";
constexpr int kMemLevel = 4;

// Splits `s` on `sep` outside double-quoted strings.
std::vector<absl::string_view> SplitOutsideQuotes(absl::string_view s,
                                                  char sep) {
  std::vector<absl::string_view> parts;
  bool quoted = false;
  size_t start = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (quoted && c == '\\') {
      ++i;  // the escaped character
    } else if (c == '"') {
      quoted = !quoted;
    } else if (!quoted && c == sep) {
      parts.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  parts.push_back(s.substr(start));
  return parts;
}

// A parameter value: a token, or a quoted-string (unescaped).
std::string ParamValue(absl::string_view v) {
  v = absl::StripAsciiWhitespace(v);
  if (v.size() < 2 || v.front() != '"' || v.back() != '"')
    return std::string(v);
  v = v.substr(1, v.size() - 2);
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) {
    if (v[i] == '\\' && i + 1 < v.size()) ++i;
    out.push_back(v[i]);
  }
  return out;
}

// RFC 7692 7.1.2: 1*DIGIT in 8..15, no leading zero.
bool ParseWindowBits(absl::string_view v, uint8_t* bits) {
  if (v == "8" || v == "9") {
    *bits = static_cast<uint8_t>(v[0] - '0');
    return true;
  }
  if (v.size() == 2 && v[0] == '1' && v[1] >= '0' && v[1] <= '5') {
    *bits = static_cast<uint8_t>(10 + (v[1] - '0'));
    return true;
  }
  return false;
}

// One permessage-deflate offer's parameters (after the name). False when
// the offer must be declined.
bool AcceptOffer(const std::vector<absl::string_view>& params,
                 DeflateNegotiation* out) {
  bool server_nct = false, client_nct = false, client_mwb = false;
  bool server_mwb = false;
  uint8_t server_bits = 15;
  for (size_t i = 1; i < params.size(); ++i) {
    absl::string_view p = absl::StripAsciiWhitespace(params[i]);
    absl::string_view name = p;
    std::optional<std::string> value;
    if (size_t eq = p.find('='); eq != absl::string_view::npos) {
      name = absl::StripAsciiWhitespace(p.substr(0, eq));
      value = ParamValue(p.substr(eq + 1));
    }
    uint8_t bits = 0;
    if (absl::EqualsIgnoreCase(name, "server_no_context_takeover")) {
      if (server_nct || value) return false;
      server_nct = true;
    } else if (absl::EqualsIgnoreCase(name, "client_no_context_takeover")) {
      if (client_nct || value) return false;
      client_nct = true;
    } else if (absl::EqualsIgnoreCase(name, "server_max_window_bits")) {
      if (server_mwb || !value || !ParseWindowBits(*value, &bits)) {
        return false;
      }
      server_mwb = true;
      server_bits = bits;
    } else if (absl::EqualsIgnoreCase(name, "client_max_window_bits")) {
      if (client_mwb || (value && !ParseWindowBits(*value, &bits))) {
        return false;
      }
      client_mwb = true;
    } else {
      return false;  // unknown parameter
    }
  }
  out->params.enabled = true;
  out->params.server_window_bits = server_bits;
  out->response =
      absl::StrCat(kExtensionName,
                   "; server_no_context_takeover; client_no_context_takeover");
  if (server_mwb) {
    absl::StrAppend(&out->response, "; server_max_window_bits=", server_bits);
  }
  return true;
}

}  // namespace

DeflateNegotiation NegotiateDeflate(absl::string_view offers) {
  DeflateNegotiation out;
  for (absl::string_view offer : SplitOutsideQuotes(offers, ',')) {
    std::vector<absl::string_view> params = SplitOutsideQuotes(offer, ';');
    absl::string_view name = absl::StripAsciiWhitespace(params[0]);
    if (!absl::EqualsIgnoreCase(name, kExtensionName)) continue;
    if (AcceptOffer(params, &out)) return out;
  }
  return DeflateNegotiation{};
}

// --- Deflater ---------------------------------------------------------------

struct Deflater::State {
  z_stream z{};
  bool ok = false;
  explicit State(int level) {
    // Raw DEFLATE (negative window bits), the largest window: segments are
    // only sent where FitsWindow() says the peer's window is enough.
    // memLevel 4: deflateReset clears a 4 KiB hash table instead of 64 KiB
    // (memLevel 8) for every segment; Vent events are small, and their
    // compressed size is the same.
    ok = deflateInit2(&z, level, Z_DEFLATED, -15, kMemLevel,
                      Z_DEFAULT_STRATEGY) == Z_OK;
  }
  ~State() {
    if (ok) deflateEnd(&z);
  }
};

Deflater::Deflater(int level) : level_(level) {}
Deflater::~Deflater() = default;

bool Deflater::AppendSegment(absl::string_view in, std::string* out) {
  if (state_ == nullptr) {
    state_ = std::make_unique<State>(level_);
  } else if (state_->ok) {
    deflateReset(&state_->z);
  }
  if (!state_->ok) {
    state_.reset();
    return false;
  }
  z_stream& z = state_->z;
  const size_t old = out->size();
  size_t room = deflateBound(&z, in.size()) + 16;
  out->resize(old + room);
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  size_t used = 0;
  for (;;) {
    z.next_out = reinterpret_cast<Bytef*>(out->data() + old + used);
    z.avail_out = static_cast<uInt>(out->size() - old - used);
    int r = deflate(&z, Z_SYNC_FLUSH);
    used = out->size() - old - z.avail_out;
    if (r != Z_OK && r != Z_BUF_ERROR) {
      out->resize(old);
      deflateReset(&z);
      return false;
    }
    // Done when all input is taken and the flush fit (room left over).
    if (z.avail_in == 0 && z.avail_out > 0) break;
    out->resize(out->size() + room);
  }
  out->resize(old + used);
  return true;
}

// --- Inflater ---------------------------------------------------------------

struct Inflater::State {
  z_stream z{};
  bool ok = false;
  State() { ok = inflateInit2(&z, -15) == Z_OK; }
  ~State() {
    if (ok) inflateEnd(&z);
  }
};

Inflater::Inflater() = default;
Inflater::~Inflater() = default;

Inflater::Result Inflater::Inflate(absl::string_view in, size_t max_out,
                                   std::string* out) {
  out->clear();
  if (state_ == nullptr) {
    state_ = std::make_unique<State>();
  } else if (state_->ok) {
    inflateReset(&state_->z);
  }
  if (!state_->ok) {
    state_.reset();
    return Result::kCorrupt;  // out of memory: refuse the message
  }
  z_stream& z = state_->z;
  // One byte past the limit proves the message too big.
  const size_t limit = max_out + 1;
  size_t produced = 0;
  const absl::string_view parts[2] = {in, kDeflateTail};
  for (int part = 0; part < 2; ++part) {
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(parts[part].data()));
    z.avail_in = static_cast<uInt>(parts[part].size());
    for (;;) {
      if (produced == out->size()) {
        size_t grow = std::min(limit, std::max<size_t>(2 * out->size(), 1024));
        out->resize(grow);
      }
      z.next_out = reinterpret_cast<Bytef*>(out->data() + produced);
      z.avail_out = static_cast<uInt>(out->size() - produced);
      int r = inflate(&z, Z_SYNC_FLUSH);
      produced = out->size() - z.avail_out;
      if (produced > max_out) {
        out->clear();
        return Result::kTooBig;
      }
      if (r == Z_STREAM_END) {
        // A final block (BFINAL=1) is allowed; only the tail we appended
        // may follow it.
        if (part == 0 && z.avail_in > 0) {
          out->clear();
          return Result::kCorrupt;
        }
        out->resize(produced);
        return Result::kOk;
      }
      if (r != Z_OK && r != Z_BUF_ERROR) {
        out->clear();
        return Result::kCorrupt;
      }
      if (z.avail_out == 0) continue;  // more output may be pending
      if (z.avail_in == 0) break;      // wants the next part
      if (r == Z_BUF_ERROR) {
        out->clear();
        return Result::kCorrupt;
      }
    }
  }
  out->resize(produced);
  return Result::kOk;
}

Deflater& ThreadDeflater() {
  static thread_local Deflater deflater;
  return deflater;
}

Inflater& ThreadInflater() {
  static thread_local Inflater inflater;
  return inflater;
}

}  // namespace vent::ws
