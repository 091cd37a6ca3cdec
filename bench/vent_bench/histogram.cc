#include "bench/vent_bench/histogram.h"

#include <algorithm>
#include <bit>

namespace vent::bench {

int Histogram::Index(uint64_t v) {
  if (v < 64) return static_cast<int>(v);
  int msb = 63 - std::countl_zero(v);  // >= 6
  int sub = static_cast<int>((v >> (msb - 5)) & 31);
  return 64 + (msb - 6) * 32 + sub;
}

uint64_t Histogram::LowerBound(int idx) {
  if (idx < 64) return static_cast<uint64_t>(idx);
  int msb = (idx - 64) / 32 + 6;
  uint64_t sub = static_cast<uint64_t>((idx - 64) % 32);
  return (32 + sub) << (msb - 5);
}

void Histogram::Record(int64_t v) {
  if (v < 0) v = 0;
  ++buckets_[Index(static_cast<uint64_t>(v))];
  ++count_;
  max_ = std::max(max_, v);
}

void Histogram::Merge(const Histogram& other) {
  for (int i = 0; i < kBuckets; ++i) buckets_[i] += other.buckets_[i];
  count_ += other.count_;
  max_ = std::max(max_, other.max_);
}

int64_t Histogram::Quantile(double q) const {
  if (count_ == 0) return 0;
  int64_t want = static_cast<int64_t>(q * static_cast<double>(count_));
  if (want < 1) want = 1;
  int64_t seen = 0;
  for (int i = 0; i < kBuckets; ++i) {
    seen += buckets_[i];
    if (seen >= want) {
      return std::min<int64_t>(static_cast<int64_t>(LowerBound(i)), max_);
    }
  }
  return max_;
}

}  // namespace vent::bench
