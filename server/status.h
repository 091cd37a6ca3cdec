// absl::Status -> grpc::Status, in one place. Abseil's codes follow
// google.rpc.Code, as gRPC's do, so the mapping keeps the code and message.
#ifndef VENT_SERVER_STATUS_H_
#define VENT_SERVER_STATUS_H_

#include <string>

#include "absl/status/status.h"
#include "grpcpp/support/status.h"

namespace vent::server {

inline grpc::Status ToGrpcStatus(const absl::Status& s) {
  if (s.ok()) return grpc::Status::OK;
  int code = static_cast<int>(s.code());
  if (code < 0 || code > static_cast<int>(grpc::StatusCode::UNAUTHENTICATED)) {
    code = static_cast<int>(grpc::StatusCode::UNKNOWN);
  }
  return grpc::Status(static_cast<grpc::StatusCode>(code),
                      std::string(s.message()));
}

}  // namespace vent::server

#endif  // VENT_SERVER_STATUS_H_
