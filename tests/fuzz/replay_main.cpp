// Replays inputs through LLVMFuzzerTestOneInput without libFuzzer, so every
// compiler (and the ASan build) can run the committed corpus as a test:
//   replay_main FILE_OR_DIRECTORY...
// Directories are read non-recursively, in name order. Fails when a path is
// missing or no input was found (an empty corpus must not pass silently).
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <system_error>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

bool replay_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "cannot read %s\n", path.c_str());
    return false;
  }
  // Exactly sized, so an overread past the input is a heap overflow for ASan.
  std::vector<uint8_t> input((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  input.shrink_to_fit();
  std::printf("%s (%zu bytes)\n", path.c_str(), input.size());
  std::fflush(stdout);  // the name must be out before a crash
  LLVMFuzzerTestOneInput(input.data(), input.size());
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  size_t replayed = 0;
  for (int i = 1; i < argc; ++i) {
    const std::filesystem::path path(argv[i]);
    std::error_code error;
    if (std::filesystem::is_directory(path, error)) {
      std::vector<std::filesystem::path> files;
      for (const auto& entry : std::filesystem::directory_iterator(path, error)) {
        if (entry.is_regular_file()) files.push_back(entry.path());
      }
      std::sort(files.begin(), files.end());
      for (const auto& file : files) {
        if (!replay_file(file)) return 1;
        ++replayed;
      }
    } else if (std::filesystem::is_regular_file(path, error)) {
      if (!replay_file(path)) return 1;
      ++replayed;
    } else {
      std::fprintf(stderr, "no such file or directory: %s\n", argv[i]);
      return 1;
    }
  }
  if (replayed == 0) {
    std::fprintf(stderr, "usage: %s FILE_OR_DIRECTORY... (found no input)\n", argv[0]);
    return 1;
  }
  std::printf("replayed %zu inputs\n", replayed);
  return 0;
}
