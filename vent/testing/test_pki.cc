#include "vent/testing/test_pki.h"

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdlib.h>

#include <cstdio>
#include <filesystem>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace vent::testing {
namespace {

struct KeyCert {
  EVP_PKEY* key = nullptr;
  X509* cert = nullptr;
  ~KeyCert() {
    EVP_PKEY_free(key);
    X509_free(cert);
  }
};

absl::Status AddExt(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX v3;
  X509V3_set_ctx_nodb(&v3);
  X509V3_set_ctx(&v3, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &v3, nid, value);
  if (ext == nullptr || X509_add_ext(cert, ext, -1) != 1) {
    X509_EXTENSION_free(ext);
    return absl::InternalError(absl::StrCat("X509 extension ", value));
  }
  X509_EXTENSION_free(ext);
  return absl::OkStatus();
}

// A certificate for `cn`, signed by `issuer` (self-signed when null).
absl::Status Make(KeyCert& out, const char* cn, const KeyCert* issuer, bool ca,
                  const char* san, const char* eku, long serial) {
  out.key = EVP_EC_gen("P-256");
  if (out.key == nullptr) return absl::InternalError("EVP_EC_gen");
  out.cert = X509_new();
  X509_set_version(out.cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(out.cert), serial);
  X509_gmtime_adj(X509_getm_notBefore(out.cert), -60);
  X509_gmtime_adj(X509_getm_notAfter(out.cert), 24 * 3600);
  X509_set_pubkey(out.cert, out.key);
  X509_NAME* name = X509_get_subject_name(out.cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn), -1, -1,
                             0);
  X509* issuer_cert = issuer ? issuer->cert : out.cert;
  X509_set_issuer_name(out.cert, X509_get_subject_name(issuer_cert));
  absl::Status st = AddExt(out.cert, issuer_cert, NID_basic_constraints,
                           ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
  if (st.ok() && ca) {
    st = AddExt(out.cert, issuer_cert, NID_key_usage,
                "critical,keyCertSign,cRLSign");
  }
  if (st.ok() && san) {
    st = AddExt(out.cert, issuer_cert, NID_subject_alt_name, san);
  }
  if (st.ok() && eku)
    st = AddExt(out.cert, issuer_cert, NID_ext_key_usage, eku);
  if (!st.ok()) return st;
  EVP_PKEY* signer = issuer ? issuer->key : out.key;
  if (X509_sign(out.cert, signer, EVP_sha256()) == 0) {
    return absl::InternalError("X509_sign");
  }
  return absl::OkStatus();
}

absl::Status Write(const KeyCert& kc, const std::string& cert_path,
                   const std::string& key_path) {
  FILE* f = std::fopen(cert_path.c_str(), "w");
  if (f == nullptr || PEM_write_X509(f, kc.cert) != 1) {
    if (f) std::fclose(f);
    return absl::InternalError(absl::StrCat("write ", cert_path));
  }
  std::fclose(f);
  if (key_path.empty()) return absl::OkStatus();
  f = std::fopen(key_path.c_str(), "w");
  if (f == nullptr || PEM_write_PrivateKey(f, kc.key, nullptr, nullptr, 0,
                                           nullptr, nullptr) != 1) {
    if (f) std::fclose(f);
    return absl::InternalError(absl::StrCat("write ", key_path));
  }
  std::fclose(f);
  return absl::OkStatus();
}

}  // namespace

TestPki::~TestPki() {
  if (!owned) return;
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

absl::StatusOr<std::unique_ptr<TestPki>> MakeTestPki(std::string dir) {
  auto pki = std::make_unique<TestPki>();
  if (dir.empty()) {
    char tmpl[] = "/tmp/vent-pki-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) return absl::InternalError("mkdtemp");
    pki->dir = tmpl;
  } else {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    pki->dir = dir;
    pki->owned = false;
  }
  const std::string& d = pki->dir;
  pki->ca_file = d + "/ca.pem";
  pki->server_cert = d + "/server.pem";
  pki->server_key = d + "/server.key";
  pki->client_cert = d + "/client.pem";
  pki->client_key = d + "/client.key";
  pki->other_ca_file = d + "/other-ca.pem";
  pki->other_server_cert = d + "/other-server.pem";
  pki->other_server_key = d + "/other-server.key";

  KeyCert ca, server, client, other_ca, other_server;
  const char* san = "DNS:localhost,IP:127.0.0.1";
  absl::Status st =
      Make(ca, "Vent Test CA", nullptr, true, nullptr, nullptr, 1);
  if (st.ok()) {
    st = Make(server, "localhost", &ca, false, san, "serverAuth", 2);
  }
  if (st.ok()) {
    st = Make(client, "vent-client", &ca, false, nullptr, "clientAuth", 3);
  }
  if (st.ok()) {
    st = Make(other_ca, "Other CA", nullptr, true, nullptr, nullptr, 4);
  }
  if (st.ok()) {
    st =
        Make(other_server, "localhost", &other_ca, false, san, "serverAuth", 5);
  }
  if (st.ok()) st = Write(ca, pki->ca_file, "");
  if (st.ok()) st = Write(server, pki->server_cert, pki->server_key);
  if (st.ok()) st = Write(client, pki->client_cert, pki->client_key);
  if (st.ok()) st = Write(other_ca, pki->other_ca_file, "");
  if (st.ok()) {
    st = Write(other_server, pki->other_server_cert, pki->other_server_key);
  }
  if (!st.ok()) return st;
  return pki;
}

}  // namespace vent::testing
