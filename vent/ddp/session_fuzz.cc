// libFuzzer target: arbitrary bytes, split on '\n' into DDP messages, fed to
// a Session (once as-is, once after an automatic valid `connect`). The host
// checks invariants and aborts on violation:
//  * every frame sent is a JSON object with a string "msg";
//  * nothing is sent after Close, and Close happens at most once;
//  * `ready` only for subs the host started and that are not yet nosub'd;
//  * StopSubscription only for started, not yet stopped/failed subs.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "boost/json/parse.hpp"
#include "vent/ddp/session.h"

namespace {

using vent::ddp::Error;
using vent::ddp::MethodCall;
using vent::ddp::Session;
using vent::ddp::SessionHost;
using vent::ddp::SubRequest;

[[noreturn]] void Fail(const char* what, const std::string& detail) {
  std::fprintf(stderr, "invariant violated: %s: %s\n", what, detail.c_str());
  std::abort();
}

class CheckingHost : public SessionHost {
 public:
  void Send(std::string frame) override {
    if (closed_) Fail("send after close", frame);
    boost::json::parse_options opts;
    opts.max_depth = 1024;
    boost::system::error_code ec;
    boost::json::value v = boost::json::parse(frame, ec, {}, opts);
    if (ec || !v.is_object()) Fail("not a JSON object", frame);
    const boost::json::value* msg = v.get_object().if_contains("msg");
    if (msg == nullptr || !msg->is_string()) Fail("no string msg", frame);
    if (*msg == "ready") {
      for (const boost::json::value& id : v.at("subs").as_array()) {
        if (!live_.contains(std::string(id.as_string())))
          Fail("ready for dead sub", frame);
      }
    } else if (*msg == "nosub") {
      if (const boost::json::value* id = v.get_object().if_contains("id")) {
        live_.erase(std::string(id->as_string()));
      }
    }
  }
  void Close(uint16_t, std::string reason) override {
    if (closed_) Fail("closed twice", reason);
    closed_ = true;
  }
  void StartSubscription(const SubRequest& req) override {
    live_.insert(req.id);
    switch (counter_++ % 3) {
      case 0:
        session->SubscriptionReady(req.id);
        break;
      case 1:
        session->SubscriptionFailed(req.id, vent::ddp::MakeError(404, "nope"));
        break;
      default:
        pending_subs_.push_back(req.id);
    }
  }
  void StopSubscription(const std::string& id) override {
    if (!live_.contains(id)) Fail("stop of unknown sub", id);
  }
  void CallMethod(const MethodCall& call) override {
    if (counter_++ % 2 == 0) {
      session->MethodDone(call.id, boost::json::value(call.params),
                          std::nullopt);
    } else {
      pending_methods_.push_back(call.id);
    }
  }

  // Completes some deferred work, alternating outcomes.
  void Resolve() {
    if (!pending_subs_.empty()) {
      session->SubscriptionReady(pending_subs_.front());
      if (counter_ % 2)
        session->SubscriptionFailed(pending_subs_.front(),
                                    vent::ddp::MakeError("x", ""));
      pending_subs_.pop_front();
    }
    if (!pending_methods_.empty()) {
      Error e = vent::ddp::MakeError(500, "Internal server error");
      if (counter_ % 2) e.details = boost::json::value{1.5, "d"};
      session->MethodDone(pending_methods_.front(), std::nullopt, e);
      pending_methods_.pop_front();
    }
    ++counter_;
  }

  Session* session = nullptr;

 private:
  bool closed_ = false;
  unsigned counter_ = 0;
  absl::flat_hash_set<std::string> live_;
  std::deque<std::string> pending_subs_;
  std::deque<std::string> pending_methods_;
};

void Run(const std::vector<std::string_view>& messages, bool auto_connect) {
  CheckingHost host;
  absl::Time now = absl::FromUnixSeconds(1);
  Session session(vent::ddp::SessionOptions{.max_subscriptions = 4,
                                            .max_json_depth = 16,
                                            .max_offending_echo = 256},
                  &host);
  host.session = &session;
  if (auto_connect) {
    session.OnMessage(
        R"({"msg":"connect","version":"1","support":["1","pre2","pre1"]})",
        now);
  }
  for (std::string_view m : messages) {
    session.OnMessage(absl::string_view(m.data(), m.size()), now);
    host.Resolve();
    now += absl::Seconds(static_cast<int64_t>(m.size() % 23));
    while (session.NextDeadline() <= now)
      session.OnTick(session.NextDeadline());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  std::vector<std::string_view> messages;
  size_t start = 0;
  while (start <= input.size() && messages.size() < 64) {
    size_t end = input.find('\n', start);
    if (end == std::string_view::npos) end = input.size();
    messages.push_back(input.substr(start, end - start));
    start = end + 1;
  }
  Run(messages, /*auto_connect=*/false);
  Run(messages, /*auto_connect=*/true);
  return 0;
}
