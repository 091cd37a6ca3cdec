#include "vent/ws/handshake.h"

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"

namespace vent::ws {
namespace {

constexpr absl::string_view kGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

bool HasToken(absl::string_view list, absl::string_view token) {
  for (absl::string_view t : absl::StrSplit(list, ',')) {
    if (absl::EqualsIgnoreCase(absl::StripAsciiWhitespace(t), token))
      return true;
  }
  return false;
}

bool IsBase64Char(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '+' ||
         c == '/';
}

// Base64 of 16 bytes is 22 significant characters followed by "==".
bool IsKey16(absl::string_view key) {
  if (key.size() != 24 || key[22] != '=' || key[23] != '=') return false;
  for (size_t i = 0; i < 22; ++i) {
    if (!IsBase64Char(key[i])) return false;
  }
  return true;
}

}  // namespace

std::string AcceptKey(absl::string_view sec_websocket_key) {
  unsigned char digest[SHA_DIGEST_LENGTH];
  unsigned int digest_len = 0;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, EVP_sha1(), nullptr);
  EVP_DigestUpdate(ctx, sec_websocket_key.data(), sec_websocket_key.size());
  EVP_DigestUpdate(ctx, kGuid.data(), kGuid.size());
  EVP_DigestFinal_ex(ctx, digest, &digest_len);
  EVP_MD_CTX_free(ctx);
  unsigned char b64[4 * ((SHA_DIGEST_LENGTH + 2) / 3) + 1];
  const int n = EVP_EncodeBlock(b64, digest, SHA_DIGEST_LENGTH);
  return std::string(reinterpret_cast<const char*>(b64),
                     static_cast<size_t>(n));
}

absl::Status ValidateUpgrade(absl::string_view upgrade,
                             absl::string_view connection,
                             absl::string_view version, absl::string_view key) {
  if (!HasToken(upgrade, "websocket") || !HasToken(connection, "upgrade")) {
    return absl::InvalidArgumentError(kNotWebSocketRequest);
  }
  version = absl::StripAsciiWhitespace(version);
  if (version != "13" && version != "8") {
    return absl::InvalidArgumentError(kUnsupportedVersion);
  }
  if (!IsKey16(absl::StripAsciiWhitespace(key))) {
    return absl::InvalidArgumentError(kBadKey);
  }
  return absl::OkStatus();
}

}  // namespace vent::ws
