// Integration-test fixture: a private redis-server, an in-process VentServer
// on free ports, and a real gRPC client.
#ifndef VENT_SERVER_SERVER_TEST_UTIL_H_
#define VENT_SERVER_SERVER_TEST_UTIL_H_

#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <thread>

#include "absl/time/clock.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "server/vent_server.h"
#include "vent/base/log.h"
#include "vent/testing/redis_server.h"
#include "vent/v1/vent.grpc.pb.h"

namespace vent::server::testing {

// Polls `cond` until true or `timeout` passes (for states reached
// asynchronously, such as a reconnect); returns the last result.
inline bool WaitUntil(const std::function<bool()>& cond,
                      absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  while (!cond()) {
    if (absl::Now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

class ServerFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    auto r = vent::testing::RedisServer::Start();
    ASSERT_TRUE(r.ok()) << r.status();
    redis_ = std::move(*r);
  }
  void TearDown() override {
    if (server_) server_->Shutdown(absl::Seconds(1));
  }

  // Starts the server with `config` (listen/metrics/redis are filled in) and
  // waits until it is connected to Redis.
  void StartServer(ServerConfig config = {}) {
    config.listen = "127.0.0.1:0";
    config.metrics_listen = "127.0.0.1:0";
    config.http_listen = "127.0.0.1:0";
    config.redis = redis_->url();
    vent::log::SetLevel(
        vent::log::Level::kWarn);  // main() applies log-level; tests do it here
    auto s = VentServer::Start(config);
    ASSERT_TRUE(s.ok()) << s.status();
    server_ = std::move(*s);
    ASSERT_TRUE(WaitUntil([&] { return server_->redis_connected(); },
                          absl::Seconds(10)));
    channel_ = grpc::CreateChannel(absl::StrCat("127.0.0.1:", server_->port()),
                                   grpc::InsecureChannelCredentials());
    stub_ = v1::Vent::NewStub(channel_);
  }

  grpc::Status Emit(const std::string& channel, const std::string& json,
                    v1::EmitResponse* resp, const std::string& key = "",
                    const std::string& idem = "") {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() +
                     std::chrono::seconds(10));
    if (!key.empty()) ctx.AddMetadata("authorization", "Bearer " + key);
    v1::EmitRequest req;
    req.mutable_event()->set_channel(channel);
    req.mutable_event()->set_json(json);
    req.mutable_event()->set_idempotency_key(idem);
    return stub_->Emit(&ctx, req, resp);
  }

  // grpc.health.v1.Health/Check for `service` ("" = the whole server):
  // 1 SERVING, 2 NOT_SERVING, -1 on RPC error (e.g. NOT_FOUND). (Hand-encoded:
  // the health protos are not installed.)
  int HealthStatus(const std::string& service = "") {
    grpc::GenericStub generic(channel_);
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() +
                     std::chrono::seconds(5));
    // HealthCheckRequest{service}: field 1, length-delimited.
    std::string encoded;
    if (!service.empty()) {
      encoded.push_back(0x0a);
      encoded.push_back(static_cast<char>(service.size()));
      encoded += service;
    }
    grpc::Slice slice(encoded);
    grpc::ByteBuffer req(&slice, 1);
    grpc::ByteBuffer resp;
    std::promise<grpc::Status> done;
    generic.UnaryCall(&ctx, "/grpc.health.v1.Health/Check", grpc::StubOptions(),
                      &req, &resp, [&](grpc::Status s) { done.set_value(s); });
    grpc::Status s = done.get_future().get();
    if (!s.ok()) return -1;
    std::vector<grpc::Slice> slices;
    if (!resp.Dump(&slices).ok()) return -1;
    std::string bytes;
    for (auto& sl : slices)
      bytes.append(reinterpret_cast<const char*>(sl.begin()), sl.size());
    if (bytes.size() == 2 && bytes[0] == 0x08) return bytes[1];
    return bytes.empty() ? 0 : -1;
  }

  std::unique_ptr<vent::testing::RedisServer> redis_;
  std::unique_ptr<VentServer> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Vent::Stub> stub_;
};

}  // namespace vent::server::testing

#endif  // VENT_SERVER_SERVER_TEST_UTIL_H_
