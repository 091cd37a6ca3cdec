#include "vent/base/check.h"

#include <cstdio>
#include <cstdlib>

namespace vent::base::internal {

void DcheckFailed(const char* condition, const char* file, int line) {
  std::fprintf(stderr, "%s:%d: VENT_DCHECK failed: %s\n", file, line,
               condition);
  std::fflush(stderr);
  std::abort();
}

}  // namespace vent::base::internal
