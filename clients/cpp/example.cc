// vent-cpp-example: emits through vent-server with vent::Client.
//
//   vent-cpp-example [HOST:PORT] [API_KEY]
//
// Subscribes to "example::chat", emits one event, a batch of three and a
// stream of 100, waits until its own subscription has seen them all, and
// prints what happened. Exit 0 on success, 1 on any error.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "clients/cpp/vent_client.h"

namespace {

int Fail(const char* what, const absl::Status& s) {
  std::fprintf(stderr, "vent-cpp-example: %s: %s\n", what,
               s.ToString().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  vent::ClientOptions options;
  if (argc > 1) options.address = argv[1];
  if (argc > 2) options.api_key = argv[2];
  auto client = vent::Client::Connect(options);
  if (!client.ok()) return Fail("connect", client.status());
  const std::string channel = "example::chat";

  absl::Mutex mu;
  int seen = 0;
  auto sub = (*client)->Subscribe({channel}, [&](const vent::ReceivedEvent& e) {
    absl::MutexLock lock(&mu);
    ++seen;
    if (seen == 1)
      std::printf("first event seen by the subscription: %s\n", e.json.c_str());
  });
  if (!sub.ok()) return Fail("subscribe", sub.status());

  auto one = (*client)->Emit(channel, R"({"message":"hello from C++"})",
                             vent::EmitOptions{.idempotency_key = "example-1"});
  if (!one.ok()) return Fail("emit", one.status());
  std::printf("emit: id=%s receivers=%lld duplicate=%d\n", one->id.c_str(),
              static_cast<long long>(one->receivers), one->duplicate);

  std::vector<vent::Event> batch;
  for (int i = 0; i < 3; ++i) {
    batch.push_back(
        {channel, absl::StrCat(R"({"message":"batch )", i, R"("})"), ""});
  }
  auto results = (*client)->EmitBatch(batch);
  if (!results.ok()) return Fail("emit batch", results.status());
  std::printf("batch: %zu results\n", results->size());

  auto stream = (*client)->OpenEmitStream();
  if (!stream.ok()) return Fail("open stream", stream.status());
  for (int i = 0; i < 100; ++i) {
    absl::Status s =
        (*stream)->Write(channel, absl::StrCat(R"({"n":)", i, "}"));
    if (!s.ok()) break;  // Finish() reports the server's reason
  }
  auto summary = (*stream)->Finish();
  if (!summary.ok()) return Fail("stream", summary.status());
  std::printf("stream: published=%lld receivers=%lld\n",
              static_cast<long long>(summary->published),
              static_cast<long long>(summary->receivers));

  const int want = 1 + 3 + 100;
  absl::MutexLock lock(&mu);
  auto all_seen = [&]() { return seen >= want; };
  if (!mu.AwaitWithTimeout(absl::Condition(&all_seen), absl::Seconds(10))) {
    std::fprintf(stderr, "vent-cpp-example: subscription saw %d of %d events\n",
                 seen, want);
    return 1;
  }
  std::printf("subscription saw all %d events\n", seen);
  return 0;
}
