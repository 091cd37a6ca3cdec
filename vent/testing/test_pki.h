// Test fixture: a small PKI written as PEM files — a CA, a server certificate
// and a client certificate signed by it, and an unrelated CA with its own
// server certificate (for "untrusted" cases). Server certificates name
// DNS:localhost and IP:127.0.0.1. EC P-256 keys, valid from a minute ago for
// a day.
#ifndef VENT_TESTING_TEST_PKI_H_
#define VENT_TESTING_TEST_PKI_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace vent::testing {

struct TestPki {
  std::string dir;  // removed by the destructor when `owned`
  bool owned = true;
  std::string ca_file;
  std::string server_cert, server_key;
  std::string client_cert, client_key;
  std::string other_ca_file;
  std::string other_server_cert, other_server_key;
  ~TestPki();
};

// Writes the files into `dir` (created if needed; kept) or, when empty, into
// a fresh temporary folder that the TestPki removes.
absl::StatusOr<std::unique_ptr<TestPki>> MakeTestPki(std::string dir = "");

}  // namespace vent::testing

#endif  // VENT_TESTING_TEST_PKI_H_
