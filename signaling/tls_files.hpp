// HTTPS for a libmicrohttpd listener (the signaling one and the admin one):
// the PEM certificate and key, read and checked once at start, and the
// daemon flags and options that hand them to MHD's GnuTLS support.
#pragma once

#include <microhttpd.h>

#include <array>
#include <string>

#include "rtp/result.hpp"

namespace partyline::signaling {

struct TlsCredentials {
  std::string certificate_pem;  // the certificate, then any intermediates
  std::string private_key_pem;  // unencrypted
  bool enabled() const { return !certificate_pem.empty(); }
};

// Reads and parses both PEM files; two empty paths mean plain HTTP (empty
// credentials). Errors name the file and the reason: 404 when it cannot be
// read ("cannot read TLS certificate '/etc/x.pem': No such file or
// directory"), 400 when it holds no usable certificate or key, or when the
// key does not belong to the certificate.
Result<TlsCredentials> load_tls_files(const std::string& certificate_file, const std::string& private_key_file);

// What MHD_start_daemon needs to serve `credentials`: flags to add and an
// option list for MHD_OPTION_ARRAY (only MHD_OPTION_END without TLS). The
// items point into `credentials`, which must outlive the daemon. Errors
// (501) when this libmicrohttpd was built without TLS.
struct TlsDaemonOptions {
  unsigned flags = 0;
  std::array<MHD_OptionItem, 3> items{};
};
Result<TlsDaemonOptions> tls_daemon_options(const TlsCredentials& credentials);

}  // namespace partyline::signaling
