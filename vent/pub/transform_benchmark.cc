// Publication::Transform on a ~200-byte event: verbatim (validate + falsy
// check, no DOM) and with a `fields` projection (DOM in a stack buffer).
// Baseline: boost::json::parse of the same bytes into a default-allocated DOM.
#include <string>

#include "benchmark/benchmark.h"
#include "boost/json/parse.hpp"
#include "vent/pub/publication.h"

namespace vent::pub {
namespace {

const std::string& Event() {
  static const std::string* const kEvent = new std::string(
      R"({"message":"Hello there, this is a chat message of typical size.",)"
      R"("threadId":"thread-000123","author":{"id":"u-42","name":"Ann Smith"},)"
      R"("sentAt":1700000000000,"tags":["a","b"],"seq":12345,"edited":false})");
  return *kEvent;
}

std::unique_ptr<Publication> Make(
    std::optional<std::vector<std::string>> fields) {
  return *Publication::Create("bench", Auth::kPublic, {}, {"c"},
                              std::move(fields));
}

void BM_TransformVerbatim(benchmark::State& state) {
  auto pub = Make(std::nullopt);
  const std::string& e = Event();
  for (auto _ : state) benchmark::DoNotOptimize(pub->Transform(e));
  state.SetBytesProcessed(state.iterations() * e.size());
  state.SetLabel(std::to_string(e.size()) + " bytes");
}
BENCHMARK(BM_TransformVerbatim);

void BM_TransformFields(benchmark::State& state) {
  auto pub = Make(std::vector<std::string>{"message", "author.name"});
  const std::string& e = Event();
  for (auto _ : state) benchmark::DoNotOptimize(pub->Transform(e));
  state.SetBytesProcessed(state.iterations() * e.size());
}
BENCHMARK(BM_TransformFields);

void BM_BaselineBoostJsonParse(benchmark::State& state) {
  const std::string& e = Event();
  for (auto _ : state) benchmark::DoNotOptimize(boost::json::parse(e));
  state.SetBytesProcessed(state.iterations() * e.size());
}
BENCHMARK(BM_BaselineBoostJsonParse);

}  // namespace
}  // namespace vent::pub
