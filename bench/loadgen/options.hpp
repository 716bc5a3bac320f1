// The load generator's command line.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "rtp/result.hpp"

namespace partyline::loadgen {

struct Options {
  std::string url;                 // ws://127.0.0.1:PORT/ws
  std::string target = "partyline";  // the signaling dialect
  int publishers = 1;
  int subscribers = 10;
  double duration_seconds = 10;    // the steady (measured) window
  double warmup_seconds = 2;       // after everyone is up, before the window
  double setup_timeout_seconds = 30;  // after the last participant started
  double ramp_per_second = 0;      // participants started per second; 0: all at once
  unsigned video_kbps = 1000;
  bool audio = true;
  std::optional<int> server_pid;
  std::string json_path;
  std::string csv_path;
  std::string label;               // free text copied into the reports
  std::optional<double> max_loss;  // exit 1 when the loss ratio is above it
  bool trickle = true;             // false: candidates inside the offer
  bool progress = true;
};

// Parses argv; the error message says what is wrong. `--help` gives an
// error with code 0 and the usage as its message.
Result<Options> parse_options(const std::vector<std::string>& arguments);
std::string usage();

}  // namespace partyline::loadgen
