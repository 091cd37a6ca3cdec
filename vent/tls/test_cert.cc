#include "vent/tls/test_cert.h"

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdlib.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace vent::tls {
namespace {

[[noreturn]] void Die(const char* what) {
  std::fprintf(stderr, "MakeTestCert: %s failed\n", what);
  std::abort();
}

void AddExt(X509* cert, int nid, const char* value) {
  X509V3_CTX v3;
  X509V3_set_ctx_nodb(&v3);
  X509V3_set_ctx(&v3, cert, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &v3, nid, value);
  if (ext == nullptr || X509_add_ext(cert, ext, -1) != 1) Die("X509_add_ext");
  X509_EXTENSION_free(ext);
}

}  // namespace

TestCert::~TestCert() {
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

std::unique_ptr<TestCert> MakeTestCert() {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  if (key == nullptr) Die("EVP_EC_gen");
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert), -60);
  X509_gmtime_adj(X509_getm_notAfter(cert), 24 * 3600);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(
      name, "CN", MBSTRING_ASC,
      reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
  X509_set_issuer_name(cert, name);
  AddExt(cert, NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1");
  AddExt(cert, NID_basic_constraints, "critical,CA:TRUE");
  if (X509_sign(cert, key, EVP_sha256()) == 0) Die("X509_sign");

  auto out_ptr = std::make_unique<TestCert>();
  TestCert& out = *out_ptr;
  char tmpl[] = "/tmp/vent-tls-test-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) Die("mkdtemp");
  out.dir = tmpl;
  out.cert_file = out.dir + "/cert.pem";
  out.key_file = out.dir + "/key.pem";
  FILE* f = std::fopen(out.cert_file.c_str(), "w");
  if (f == nullptr || PEM_write_X509(f, cert) != 1) Die("PEM_write_X509");
  std::fclose(f);
  f = std::fopen(out.key_file.c_str(), "w");
  if (f == nullptr || PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr,
                                           nullptr) != 1) {
    Die("PEM_write_PrivateKey");
  }
  std::fclose(f);
  std::ifstream in(out.cert_file);
  std::stringstream ss;
  ss << in.rdbuf();
  out.cert_pem = ss.str();
  X509_free(cert);
  EVP_PKEY_free(key);
  return out_ptr;
}

}  // namespace vent::tls
