#include "vent/base/process_tuning.h"

#include <malloc.h>

#include <cstdlib>
#include <cstring>

#include "gtest/gtest.h"

namespace vent::base {
namespace {

// After tuning, a 4 MiB block (a slow client's queue at --max-outgoing) comes
// from the heap, not from a fresh mmap (which would fault in zeroed pages).
TEST(ProcessTuning, LargeBlocksStayInTheHeap) {
  ASSERT_EQ(std::getenv("GLIBC_TUNABLES"), nullptr);
  // `volatile`: the compiler may not elide a malloc/free pair.
  size_t before = mallinfo2().hblks;  // blocks allocated with mmap
  void* volatile untuned = std::malloc(4 << 20);
  EXPECT_EQ(mallinfo2().hblks, before + 1);  // glibc's default: mmap
  std::free(untuned);

  TuneProcessForServing();
  before = mallinfo2().hblks;
  void* volatile p = std::malloc(4 << 20);
  ASSERT_NE(p, nullptr);
  std::memset(static_cast<void*>(p), 1, 4 << 20);
  EXPECT_EQ(mallinfo2().hblks, before);
  std::free(p);
}

}  // namespace
}  // namespace vent::base
