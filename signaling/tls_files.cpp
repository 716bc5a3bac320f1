#include "signaling/tls_files.hpp"

#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

namespace partyline::signaling {

namespace {

// PEM files are a few kilobytes; anything this large is not one.
constexpr size_t kMaxPemBytes = 1 << 20;

Result<std::string> read_pem_file(const std::string& path, const char* what) {
  const std::string named = std::string(what) + " '" + path + "'";
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return make_error(error_code::kNotFound, "cannot read " + named + ": " + std::strerror(errno));
  std::string text;
  char buffer[4096];
  for (;;) {
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int error = errno;
      ::close(fd);
      return make_error(error_code::kNotFound, "cannot read " + named + ": " + std::strerror(error));
    }
    if (n == 0) break;
    text.append(buffer, static_cast<size_t>(n));
    if (text.size() > kMaxPemBytes) {
      ::close(fd);
      return make_error(error_code::kBadRequest, named + " is larger than " + std::to_string(kMaxPemBytes) + " bytes");
    }
  }
  ::close(fd);
  return text;
}

gnutls_datum_t datum_of(const std::string& text) {
  return {reinterpret_cast<unsigned char*>(const_cast<char*>(text.data())), static_cast<unsigned>(text.size())};
}

// Parses what MHD will parse again at start, so that a bad file is refused
// with its name rather than with MHD's generic message.
Status check_pem(const TlsCredentials& credentials, const std::string& certificate_file,
                 const std::string& private_key_file) {
  gnutls_datum_t certificate = datum_of(credentials.certificate_pem);
  gnutls_x509_crt_t* list = nullptr;
  unsigned count = 0;
  int rc = gnutls_x509_crt_list_import2(&list, &count, &certificate, GNUTLS_X509_FMT_PEM, 0);
  if (rc < 0) {
    return make_error(error_code::kBadRequest,
                      "TLS certificate '" + certificate_file + "' holds no PEM certificate: " + gnutls_strerror(rc));
  }
  for (unsigned i = 0; i < count; ++i) gnutls_x509_crt_deinit(list[i]);
  gnutls_free(list);

  gnutls_datum_t key = datum_of(credentials.private_key_pem);
  gnutls_x509_privkey_t parsed = nullptr;
  gnutls_x509_privkey_init(&parsed);
  rc = gnutls_x509_privkey_import2(parsed, &key, GNUTLS_X509_FMT_PEM, nullptr, 0);
  gnutls_x509_privkey_deinit(parsed);
  if (rc < 0) {
    return make_error(error_code::kBadRequest, "TLS private key '" + private_key_file +
                                                   "' holds no unencrypted PEM private key: " + gnutls_strerror(rc));
  }

  gnutls_certificate_credentials_t pair = nullptr;
  if (rc = gnutls_certificate_allocate_credentials(&pair); rc < 0) {
    return make_error(error_code::kInternal, std::string("gnutls_certificate_allocate_credentials: ") +
                                                 gnutls_strerror(rc));
  }
  rc = gnutls_certificate_set_x509_key_mem2(pair, &certificate, &key, GNUTLS_X509_FMT_PEM, nullptr, 0);
  gnutls_certificate_free_credentials(pair);
  if (rc < 0) {
    return make_error(error_code::kBadRequest, "TLS private key '" + private_key_file + "' and certificate '" +
                                                   certificate_file + "' do not go together: " + gnutls_strerror(rc));
  }
  return {};
}

}  // namespace

Result<TlsCredentials> load_tls_files(const std::string& certificate_file, const std::string& private_key_file) {
  if (certificate_file.empty() && private_key_file.empty()) return TlsCredentials{};
  if (certificate_file.empty() || private_key_file.empty()) {
    return make_error(error_code::kBadRequest, "a TLS certificate and private key must be given together");
  }
  auto certificate = read_pem_file(certificate_file, "TLS certificate");
  if (!certificate) return certificate.error();
  auto key = read_pem_file(private_key_file, "TLS private key");
  if (!key) return key.error();
  TlsCredentials credentials{std::move(*certificate), std::move(*key)};
  if (auto checked = check_pem(credentials, certificate_file, private_key_file); !checked) return checked.error();
  return credentials;
}

Result<TlsDaemonOptions> tls_daemon_options(const TlsCredentials& credentials) {
  TlsDaemonOptions options;  // items[0] is MHD_OPTION_END: plain HTTP
  if (!credentials.enabled()) return options;
  if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
    return make_error(error_code::kNotImplemented, "this libmicrohttpd was built without TLS (GnuTLS) support");
  }
  options.flags = MHD_USE_TLS;
  // MHD keeps these pointers, not copies: `credentials` outlives the daemon.
  options.items[0] = {MHD_OPTION_HTTPS_MEM_CERT, 0, const_cast<char*>(credentials.certificate_pem.c_str())};
  options.items[1] = {MHD_OPTION_HTTPS_MEM_KEY, 0, const_cast<char*>(credentials.private_key_pem.c_str())};
  options.items[2] = {MHD_OPTION_END, 0, nullptr};
  return options;
}

}  // namespace partyline::signaling
