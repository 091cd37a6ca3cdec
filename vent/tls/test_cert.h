// Test helper: a fresh self-signed certificate (CN and SAN "localhost",
// 127.0.0.1) and its EC P-256 key, written as PEM files to a temp folder.
#ifndef VENT_TLS_TEST_CERT_H_
#define VENT_TLS_TEST_CERT_H_

#include <memory>
#include <string>

namespace vent::tls {

struct TestCert {
  std::string dir;        // removed by the destructor
  std::string cert_file;  // PEM certificate
  std::string key_file;   // PEM private key
  std::string cert_pem;   // the certificate's PEM text
  ~TestCert();
};

// Aborts the test binary (with a message) if OpenSSL cannot make one.
std::unique_ptr<TestCert> MakeTestCert();

}  // namespace vent::tls

#endif  // VENT_TLS_TEST_CERT_H_
