// libFuzzer target: the model check of ddp_host_model.h driven by fuzz
// bytes (4 bytes per step: the operation and its parameters). Any violated
// invariant aborts with the report.
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "bridge/ddp_host_model.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  vent::bridge::testing::ModelHarness h;
  for (size_t i = 0; i + 4 <= size && !h.failed(); i += 4) {
    uint32_t arg = static_cast<uint32_t>(data[i + 1]) |
                   static_cast<uint32_t>(data[i + 2]) << 8 |
                   static_cast<uint32_t>(data[i + 3]) << 16;
    h.Step(data[i], arg);
  }
  if (!h.failed()) h.Finish();
  if (h.failed()) {
    std::fprintf(stderr, "%s\n", h.report().c_str());
    std::abort();
  }
  return 0;
}
