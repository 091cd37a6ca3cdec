// Output of vent-bench results: JSON (one object per run), CSV (one row per
// run, header written when the file is new/empty) and a readable table.
// Thread-compatible (called from main only).
#ifndef VENT_BENCH_VENT_BENCH_REPORT_H_
#define VENT_BENCH_VENT_BENCH_REPORT_H_

#include <boost/json.hpp>
#include <string>

#include "absl/status/status.h"
#include "bench/vent_bench/runner.h"

namespace vent::bench {

boost::json::object ToJson(const RunResult& r);
// Writes `value` (pretty enough: one line) to `path`, replacing the file.
absl::Status WriteJson(const std::string& path,
                       const boost::json::value& value);
// Appends one row for `r` to the CSV file at `path`.
absl::Status AppendCsv(const std::string& path, const RunResult& r);
std::string Table(const RunResult& r);

}  // namespace vent::bench

#endif  // VENT_BENCH_VENT_BENCH_REPORT_H_
