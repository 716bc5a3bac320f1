// Certificate: the server's DTLS identity, an ECDSA P-256 X.509 certificate
// and its key, plus the GnuTLS credentials every DTLS session shares
// (read-only after creation, so one instance serves all worker threads).
#pragma once

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>

#include "rtp/result.hpp"

namespace partyline::ice {

// Fingerprint of DER bytes as uppercase colon hex ("AB:CD:..."), the form of
// SDP's a=fingerprint. `algorithm` is the SDP hash name, case-insensitive:
// sha-1, sha-256, sha-384 or sha-512. Unknown algorithms are an error (415).
Result<std::string> fingerprint_of_der(std::span<const uint8_t> der, std::string_view algorithm);

class Certificate {
 public:
  // A fresh self-signed ECDSA P-256 certificate (CN "partyline", valid from
  // yesterday for 30 days: the fingerprint is all that peers check).
  static Result<std::shared_ptr<const Certificate>> generate();
  // PEM certificate and private key (PKCS#1/SEC1 or PKCS#8, unencrypted).
  static Result<std::shared_ptr<const Certificate>> from_pem(std::string_view certificate_pem,
                                                             std::string_view key_pem);
  static Result<std::shared_ptr<const Certificate>> load_pem_files(const std::string& certificate_path,
                                                                   const std::string& key_path);

  Certificate(const Certificate&) = delete;
  Certificate& operator=(const Certificate&) = delete;

  // SHA-256 fingerprint, uppercase colon hex, for a=fingerprint:sha-256.
  const std::string& fingerprint() const { return fingerprint_; }
  static constexpr std::string_view fingerprint_algorithm() { return "sha-256"; }

  Result<std::string> certificate_pem() const;
  Result<std::string> private_key_pem() const;

  // For gnutls_credentials_set; owned by this Certificate.
  gnutls_certificate_credentials_t credentials() const { return credentials_.get(); }

  struct CrtDeleter {
    void operator()(gnutls_x509_crt_t handle) const { gnutls_x509_crt_deinit(handle); }
  };
  struct KeyDeleter {
    void operator()(gnutls_x509_privkey_t handle) const { gnutls_x509_privkey_deinit(handle); }
  };
  struct CredentialsDeleter {
    void operator()(gnutls_certificate_credentials_t handle) const {
      gnutls_certificate_free_credentials(handle);
    }
  };
  using CrtHandle = std::unique_ptr<std::remove_pointer_t<gnutls_x509_crt_t>, CrtDeleter>;
  using KeyHandle = std::unique_ptr<std::remove_pointer_t<gnutls_x509_privkey_t>, KeyDeleter>;
  using CredentialsHandle =
      std::unique_ptr<std::remove_pointer_t<gnutls_certificate_credentials_t>, CredentialsDeleter>;

 private:
  // Construction goes through the factories; the tag lets them use make_shared.
  struct ConstructionTag {};

 public:
  explicit Certificate(ConstructionTag) {}

 private:
  static Result<std::shared_ptr<const Certificate>> assemble(CrtHandle certificate, KeyHandle key);

  CrtHandle certificate_;
  KeyHandle key_;
  CredentialsHandle credentials_;
  std::string fingerprint_;
};

}  // namespace partyline::ice
