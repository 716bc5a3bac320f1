#include "ice/certificate.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include <unistd.h>

namespace partyline::ice {
namespace {

TEST(CertificateTest, GeneratedFingerprintIsUppercaseColonHexSha256) {
  auto certificate = Certificate::generate();
  ASSERT_TRUE(certificate.ok()) << certificate.error().message;
  const std::string& fingerprint = (*certificate)->fingerprint();
  ASSERT_EQ(32u * 3 - 1, fingerprint.size()) << fingerprint;
  for (size_t i = 0; i < fingerprint.size(); ++i) {
    const char c = fingerprint[i];
    if (i % 3 == 2) {
      EXPECT_EQ(':', c) << fingerprint;
    } else {
      EXPECT_TRUE((c >= '0' && c <= '9') || (c >= 'A' && c <= 'F')) << fingerprint;
    }
  }
  EXPECT_EQ("sha-256", Certificate::fingerprint_algorithm());
  EXPECT_NE(nullptr, (*certificate)->credentials());
}

TEST(CertificateTest, TwoGeneratedCertificatesDiffer) {
  auto first = Certificate::generate();
  auto second = Certificate::generate();
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_NE((*first)->fingerprint(), (*second)->fingerprint());
}

TEST(CertificateTest, PemRoundTripKeepsTheFingerprint) {
  auto original = Certificate::generate();
  ASSERT_TRUE(original.ok());
  auto certificate_pem = (*original)->certificate_pem();
  auto key_pem = (*original)->private_key_pem();
  ASSERT_TRUE(certificate_pem.ok() && key_pem.ok());
  EXPECT_NE(certificate_pem->find("BEGIN CERTIFICATE"), std::string::npos);

  const auto directory = std::filesystem::temp_directory_path();
  const auto certificate_path = directory / ("partyline-cert-" + std::to_string(::getpid()) + ".pem");
  const auto key_path = directory / ("partyline-key-" + std::to_string(::getpid()) + ".pem");
  std::ofstream(certificate_path) << *certificate_pem;
  std::ofstream(key_path) << *key_pem;
  auto loaded = Certificate::load_pem_files(certificate_path, key_path);
  std::filesystem::remove(certificate_path);
  std::filesystem::remove(key_path);
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  EXPECT_EQ((*original)->fingerprint(), (*loaded)->fingerprint());
}

TEST(CertificateTest, MismatchedKeyOrBadPemIsAnError) {
  auto first = Certificate::generate();
  auto second = Certificate::generate();
  ASSERT_TRUE(first.ok() && second.ok());
  auto mismatched = Certificate::from_pem(*(*first)->certificate_pem(), *(*second)->private_key_pem());
  ASSERT_FALSE(mismatched.ok());
  EXPECT_NE(mismatched.error().message.find("do not form a pair"), std::string::npos);

  auto garbage = Certificate::from_pem("not a pem", *(*first)->private_key_pem());
  ASSERT_FALSE(garbage.ok());
  EXPECT_EQ(400, garbage.error().code);

  auto missing = Certificate::load_pem_files("/nonexistent/cert.pem", "/nonexistent/key.pem");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("/nonexistent/cert.pem"), std::string::npos);
}

TEST(CertificateTest, FingerprintOfDerSupportsSdpAlgorithmNames) {
  const uint8_t data[] = {'a', 'b', 'c'};
  auto sha256 = fingerprint_of_der(data, "SHA-256");
  ASSERT_TRUE(sha256.ok());
  EXPECT_EQ(sha256->substr(0, 11), "BA:78:16:BF");  // SHA-256("abc")
  auto sha1 = fingerprint_of_der(data, "sha-1");
  ASSERT_TRUE(sha1.ok());
  EXPECT_EQ(sha1->size(), 20u * 3 - 1);
  EXPECT_TRUE(fingerprint_of_der(data, "sha-384").ok());
  EXPECT_TRUE(fingerprint_of_der(data, "sha-512").ok());
  auto md5 = fingerprint_of_der(data, "md5");
  ASSERT_FALSE(md5.ok());
  EXPECT_EQ(415, md5.error().code);
}

}  // namespace
}  // namespace partyline::ice
