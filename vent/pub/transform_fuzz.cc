// libFuzzer: Publication::Transform on arbitrary bytes, with and without a
// projection. Any payload returned must be valid, non-falsy JSON; without
// fields it must be the input verbatim; with fields it must be an object.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

#include "boost/json/parse.hpp"
#include "vent/pub/json_text.h"
#include "vent/pub/publication.h"

namespace {

using vent::pub::Publication;

std::unique_ptr<Publication> Make(std::optional<std::vector<std::string>> f) {
  auto p = Publication::Create("fuzz", vent::pub::Auth::kPublic, {}, {"c"},
                               std::move(f));
  if (!p.ok()) std::abort();
  return *std::move(p);
}

void Check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const Publication* const verbatim = Make(std::nullopt).release();
  static const Publication* const fields =
      Make(std::vector<std::string>{"message", "a.b", "a.c.d", "x"}).release();
  absl::string_view in(reinterpret_cast<const char*>(data), size);

  std::optional<std::string> v = verbatim->Transform(in);
  if (v.has_value()) {
    Check(*v == in);
    vent::pub::JsonScan scan = vent::pub::ScanJson(*v);
    Check(scan.valid && !scan.falsy);
  }
  std::optional<std::string> f = fields->Transform(in);
  if (f.has_value()) {
    boost::json::error_code ec;
    boost::json::value parsed = boost::json::parse(*f, ec);
    Check(!ec && parsed.is_object() && !parsed.get_object().empty());
    vent::pub::JsonScan scan = vent::pub::ScanJson(*f);
    Check(scan.valid && !scan.falsy);
    // A projection never produces output from input the validator refuses.
    Check(vent::pub::ScanJson(in).valid);
  }
  return 0;
}
