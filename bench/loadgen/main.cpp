// loadgen: many real WebRTC participants against one server; see README.md.
#include <cstdio>
#include <string>
#include <vector>

#include "bench/loadgen/load_run.hpp"
#include "bench/loadgen/options.hpp"
#include "bench/loadgen/run_result.hpp"
#include "ice/certificate.hpp"
#include "rtp/srtp/srtp_fast_crypto.hpp"

using namespace partyline;
using namespace partyline::loadgen;

int main(int argc, char** argv) {
  auto options = parse_options(std::vector<std::string>(argv + 1, argv + argc));
  if (!options) {
    if (options.error().code == 0) {
      std::fputs(options.error().message.c_str(), stdout);
      return 0;
    }
    std::fprintf(stderr, "loadgen: %s\n", options.error().message.c_str());
    return 2;
  }
  auto url = parse_websocket_url(options->url);
  if (!url) {
    std::fprintf(stderr, "loadgen: %s\n", url.error().message.c_str());
    return 2;
  }
  // The same fast SRTP as the server, so the client side stays cheap.
  if (Status installed = rtp::install_fast_srtp_crypto(); !installed) {
    std::fprintf(stderr, "loadgen: warning: libsrtp2's own crypto (%s)\n", installed.error().message.c_str());
  }
  // One DTLS identity for every participant: the server checks each
  // participant's certificate against its own SDP fingerprint only.
  auto certificate = ice::Certificate::generate();
  if (!certificate) {
    std::fprintf(stderr, "loadgen: DTLS certificate: %s\n", certificate.error().message.c_str());
    return 1;
  }

  RunResult result;
  {
    LoadRun run(*options, *url, *certificate);
    result = run.execute();
  }
  print_summary(result);
  int status = result.ok() ? 0 : 1;
  if (!options->json_path.empty()) {
    if (Status written = write_json(result, options->json_path); !written) {
      std::fprintf(stderr, "loadgen: %s\n", written.error().message.c_str());
      status = 1;
    }
  }
  if (!options->csv_path.empty()) {
    if (Status written = append_csv(result, options->csv_path); !written) {
      std::fprintf(stderr, "loadgen: %s\n", written.error().message.c_str());
      status = 1;
    }
  }
  return status;
}
