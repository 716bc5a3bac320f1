#include "ice/certificate.hpp"

#include <gnutls/crypto.h>

#include <array>
#include <cctype>
#include <ctime>

namespace partyline::ice {
namespace {

Error gnutls_failure(std::string_view what, int code) {
  return make_error(error_code::kInternal,
                    std::string(what) + " failed: " + gnutls_strerror(code));
}

struct DatumDeleter {
  void operator()(gnutls_datum_t* datum) const { gnutls_free(datum->data); }
};

std::string to_colon_hex(std::span<const uint8_t> bytes) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string text;
  text.reserve(bytes.size() * 3);
  for (uint8_t byte : bytes) {
    if (!text.empty()) text.push_back(':');
    text.push_back(kDigits[byte >> 4]);
    text.push_back(kDigits[byte & 0x0F]);
  }
  return text;
}

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

gnutls_digest_algorithm_t digest_for(std::string_view algorithm) {
  if (equals_ignoring_case(algorithm, "sha-256")) return GNUTLS_DIG_SHA256;
  if (equals_ignoring_case(algorithm, "sha-1")) return GNUTLS_DIG_SHA1;
  if (equals_ignoring_case(algorithm, "sha-384")) return GNUTLS_DIG_SHA384;
  if (equals_ignoring_case(algorithm, "sha-512")) return GNUTLS_DIG_SHA512;
  return GNUTLS_DIG_UNKNOWN;
}

gnutls_datum_t datum_of(std::string_view text) {
  return gnutls_datum_t{reinterpret_cast<unsigned char*>(const_cast<char*>(text.data())),
                        static_cast<unsigned int>(text.size())};
}


}  // namespace

Result<std::string> fingerprint_of_der(std::span<const uint8_t> der, std::string_view algorithm) {
  gnutls_digest_algorithm_t digest = digest_for(algorithm);
  if (digest == GNUTLS_DIG_UNKNOWN) {
    return make_error(error_code::kUnsupported,
                      "unsupported fingerprint algorithm '" + std::string(algorithm) +
                          "' (expected sha-256, sha-1, sha-384 or sha-512)");
  }
  std::array<uint8_t, 64> hash{};
  if (int rc = gnutls_hash_fast(digest, der.data(), der.size(), hash.data()); rc < 0) {
    return gnutls_failure("gnutls_hash_fast", rc);
  }
  return to_colon_hex(std::span(hash.data(), gnutls_hash_get_len(digest)));
}

Result<std::shared_ptr<const Certificate>> Certificate::assemble(CrtHandle certificate,
                                                                 KeyHandle key) {
  gnutls_certificate_credentials_t raw_credentials = nullptr;
  if (int rc = gnutls_certificate_allocate_credentials(&raw_credentials); rc < 0) {
    return gnutls_failure("gnutls_certificate_allocate_credentials", rc);
  }
  CredentialsHandle credentials(raw_credentials);
  gnutls_x509_crt_t chain[] = {certificate.get()};
  if (int rc = gnutls_certificate_set_x509_key(credentials.get(), chain, 1, key.get()); rc < 0) {
    return make_error(error_code::kBadRequest,
                      std::string("certificate and private key do not form a pair: ") +
                          gnutls_strerror(rc));
  }

  std::array<uint8_t, 32> hash{};
  size_t hash_size = hash.size();
  if (int rc = gnutls_x509_crt_get_fingerprint(certificate.get(), GNUTLS_DIG_SHA256, hash.data(),
                                               &hash_size);
      rc < 0) {
    return gnutls_failure("gnutls_x509_crt_get_fingerprint", rc);
  }
  auto result = std::make_shared<Certificate>(ConstructionTag{});
  result->fingerprint_ = to_colon_hex(std::span(hash.data(), hash_size));
  result->certificate_ = std::move(certificate);
  result->key_ = std::move(key);
  result->credentials_ = std::move(credentials);
  return std::shared_ptr<const Certificate>(std::move(result));
}

Result<std::shared_ptr<const Certificate>> Certificate::generate() {
  gnutls_x509_privkey_t raw_key = nullptr;
  if (int rc = gnutls_x509_privkey_init(&raw_key); rc < 0) {
    return gnutls_failure("gnutls_x509_privkey_init", rc);
  }
  KeyHandle key(raw_key);
  if (int rc = gnutls_x509_privkey_generate(key.get(), GNUTLS_PK_ECDSA,
                                            GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0);
      rc < 0) {
    return gnutls_failure("gnutls_x509_privkey_generate", rc);
  }

  gnutls_x509_crt_t raw_certificate = nullptr;
  if (int rc = gnutls_x509_crt_init(&raw_certificate); rc < 0) {
    return gnutls_failure("gnutls_x509_crt_init", rc);
  }
  CrtHandle certificate(raw_certificate);
  std::array<uint8_t, 16> serial{};
  if (int rc = gnutls_rnd(GNUTLS_RND_NONCE, serial.data(), serial.size()); rc < 0) {
    return gnutls_failure("gnutls_rnd", rc);
  }
  serial[0] &= 0x7F;  // a positive INTEGER
  const std::time_t now = std::time(nullptr);
  constexpr std::time_t kDay = 24 * 60 * 60;
  static constexpr char kCommonName[] = "partyline";
  int rc = gnutls_x509_crt_set_version(certificate.get(), 3);
  if (rc >= 0) rc = gnutls_x509_crt_set_serial(certificate.get(), serial.data(), serial.size());
  // Back-dated a day so peers with a slightly slow clock accept it.
  if (rc >= 0) rc = gnutls_x509_crt_set_activation_time(certificate.get(), now - kDay);
  if (rc >= 0) rc = gnutls_x509_crt_set_expiration_time(certificate.get(), now + 30 * kDay);
  if (rc >= 0) {
    rc = gnutls_x509_crt_set_dn_by_oid(certificate.get(), GNUTLS_OID_X520_COMMON_NAME, 0,
                                       kCommonName, sizeof(kCommonName) - 1);
  }
  if (rc >= 0) rc = gnutls_x509_crt_set_key(certificate.get(), key.get());
  if (rc >= 0) rc = gnutls_x509_crt_sign2(certificate.get(), certificate.get(), key.get(),
                                          GNUTLS_DIG_SHA256, 0);
  if (rc < 0) return gnutls_failure("building the self-signed certificate", rc);
  return assemble(std::move(certificate), std::move(key));
}

Result<std::shared_ptr<const Certificate>> Certificate::from_pem(std::string_view certificate_pem,
                                                                 std::string_view key_pem) {
  gnutls_x509_crt_t raw_certificate = nullptr;
  if (int rc = gnutls_x509_crt_init(&raw_certificate); rc < 0) {
    return gnutls_failure("gnutls_x509_crt_init", rc);
  }
  CrtHandle certificate(raw_certificate);
  gnutls_datum_t certificate_datum = datum_of(certificate_pem);
  if (int rc = gnutls_x509_crt_import(certificate.get(), &certificate_datum, GNUTLS_X509_FMT_PEM);
      rc < 0) {
    return make_error(error_code::kBadRequest,
                      std::string("certificate PEM is invalid: ") + gnutls_strerror(rc));
  }
  gnutls_x509_privkey_t raw_key = nullptr;
  if (int rc = gnutls_x509_privkey_init(&raw_key); rc < 0) {
    return gnutls_failure("gnutls_x509_privkey_init", rc);
  }
  KeyHandle key(raw_key);
  gnutls_datum_t key_datum = datum_of(key_pem);
  if (int rc = gnutls_x509_privkey_import2(key.get(), &key_datum, GNUTLS_X509_FMT_PEM, nullptr, 0);
      rc < 0) {
    return make_error(error_code::kBadRequest,
                      std::string("private key PEM is invalid: ") + gnutls_strerror(rc));
  }
  return assemble(std::move(certificate), std::move(key));
}

Result<std::shared_ptr<const Certificate>> Certificate::load_pem_files(
    const std::string& certificate_path, const std::string& key_path) {
  gnutls_datum_t certificate_file{};
  if (int rc = gnutls_load_file(certificate_path.c_str(), &certificate_file); rc < 0) {
    return make_error(error_code::kNotFound, "cannot read certificate file '" + certificate_path +
                                                 "': " + gnutls_strerror(rc));
  }
  std::unique_ptr<gnutls_datum_t, DatumDeleter> certificate_owner(&certificate_file);
  gnutls_datum_t key_file{};
  if (int rc = gnutls_load_file(key_path.c_str(), &key_file); rc < 0) {
    return make_error(error_code::kNotFound,
                      "cannot read private key file '" + key_path + "': " + gnutls_strerror(rc));
  }
  std::unique_ptr<gnutls_datum_t, DatumDeleter> key_owner(&key_file);
  return from_pem(
      std::string_view(reinterpret_cast<const char*>(certificate_file.data), certificate_file.size),
      std::string_view(reinterpret_cast<const char*>(key_file.data), key_file.size));
}

Result<std::string> Certificate::certificate_pem() const {
  gnutls_datum_t pem{};
  if (int rc = gnutls_x509_crt_export2(certificate_.get(), GNUTLS_X509_FMT_PEM, &pem); rc < 0) {
    return gnutls_failure("gnutls_x509_crt_export2", rc);
  }
  std::unique_ptr<gnutls_datum_t, DatumDeleter> owner(&pem);
  return std::string(reinterpret_cast<const char*>(pem.data), pem.size);
}

Result<std::string> Certificate::private_key_pem() const {
  gnutls_datum_t pem{};
  if (int rc = gnutls_x509_privkey_export2(key_.get(), GNUTLS_X509_FMT_PEM, &pem); rc < 0) {
    return gnutls_failure("gnutls_x509_privkey_export2", rc);
  }
  std::unique_ptr<gnutls_datum_t, DatumDeleter> owner(&pem);
  return std::string(reinterpret_cast<const char*>(pem.data), pem.size);
}

}  // namespace partyline::ice
