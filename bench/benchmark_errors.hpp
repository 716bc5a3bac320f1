// Google Benchmark (1.7) prints a case that called state.SkipWithError as
// "ERROR OCCURRED" and then exits 0 like after any other run: a ctest smoke
// test looking only at the exit status would pass with every case broken.
// run_benchmarks() runs the registered cases through a reporter that notes
// each errored run, and returns an exit status that fails on any of them
// (and when no case ran at all), whatever the output format.
#pragma once

#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

namespace partyline::bench {

// The runs that reported an error, "name: message" each.
class BenchmarkErrors {
 public:
  void note(const std::vector<benchmark::BenchmarkReporter::Run>& runs) {
    for (const auto& run : runs) {
      if (run.error_occurred) errors_.push_back(run.benchmark_name() + ": " + run.error_message);
    }
  }
  const std::vector<std::string>& errors() const { return errors_; }

 private:
  std::vector<std::string> errors_;
};

// `Base` (any BenchmarkReporter) that also notes errored runs.
template <class Base>
class ErrorNoting : public Base {
 public:
  template <class... Args>
  explicit ErrorNoting(BenchmarkErrors& errors, Args&&... args) : Base(std::forward<Args>(args)...), errors_(errors) {}

  void ReportRuns(const std::vector<benchmark::BenchmarkReporter::Run>& runs) override {
    errors_.note(runs);
    Base::ReportRuns(runs);
  }

 private:
  BenchmarkErrors& errors_;
};

// The --benchmark_format asked for (the last one wins, as in the library).
// Read it before benchmark::Initialize, which removes the flags it knows
// from argv; Initialize rejects any value other than these three.
inline std::string requested_format(int argc, char** argv) {
  constexpr const char* kFlag = "--benchmark_format=";
  std::string format = "console";
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], kFlag, std::strlen(kFlag)) == 0) format = argv[i] + std::strlen(kFlag);
  }
  return format;
}

// Runs the registered benchmarks, printing with `Console` (a ConsoleReporter
// or a class derived from it) or the library's JSON/CSV reporter as `format`
// says, then shuts the library down. Returns main()'s exit status: 1 when a
// case reported an error or none ran.
template <class Console = benchmark::ConsoleReporter>
int run_benchmarks(const std::string& format, benchmark::ConsoleReporter::OutputOptions console_options) {
  BenchmarkErrors errors;
  size_t ran = 0;
  if (format == "json") {
    ErrorNoting<benchmark::JSONReporter> reporter(errors);
    ran = benchmark::RunSpecifiedBenchmarks(&reporter);
  } else if (format == "csv") {
    // Deprecated, but --benchmark_format=csv is still accepted: honour it.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    ErrorNoting<benchmark::CSVReporter> reporter(errors);
#pragma GCC diagnostic pop
    ran = benchmark::RunSpecifiedBenchmarks(&reporter);
  } else {
    ErrorNoting<Console> reporter(errors, console_options);
    ran = benchmark::RunSpecifiedBenchmarks(&reporter);
  }
  benchmark::Shutdown();
  for (const std::string& error : errors.errors()) std::fprintf(stderr, "FAIL: %s\n", error.c_str());
  if (ran == 0) std::fprintf(stderr, "FAIL: no benchmark ran\n");
  return errors.errors().empty() && ran > 0 ? 0 : 1;
}

// Colour on a terminal only, as the library's own default does.
inline benchmark::ConsoleReporter::OutputOptions console_options(bool tabular) {
  int options = isatty(STDOUT_FILENO) ? benchmark::ConsoleReporter::OO_Color : benchmark::ConsoleReporter::OO_None;
  if (tabular) options |= benchmark::ConsoleReporter::OO_Tabular;
  return static_cast<benchmark::ConsoleReporter::OutputOptions>(options);
}

}  // namespace partyline::bench
