// Latency histogram with ~3% relative precision (log2 buckets, 32 linear
// sub-buckets each), fixed size, no allocation on Record().
//
// Thread-safety: none; keep one per thread and Merge() them at the end.
#ifndef VENT_BENCH_VENT_BENCH_HISTOGRAM_H_
#define VENT_BENCH_VENT_BENCH_HISTOGRAM_H_

#include <array>
#include <cstdint>

namespace vent::bench {

class Histogram {
 public:
  // Values are non-negative integers (nanoseconds here); negatives count as 0.
  void Record(int64_t v);
  void Merge(const Histogram& other);
  int64_t count() const { return count_; }
  int64_t max() const { return max_; }
  // Smallest bucket lower bound below which at least q (0..1] of the values
  // fall; 0 when empty.
  int64_t Quantile(double q) const;

 private:
  static constexpr int kBuckets = 64 + 58 * 32;
  static int Index(uint64_t v);
  static uint64_t LowerBound(int idx);
  std::array<int64_t, kBuckets> buckets_{};
  int64_t count_ = 0;
  int64_t max_ = 0;
};

}  // namespace vent::bench

#endif  // VENT_BENCH_VENT_BENCH_HISTOGRAM_H_
