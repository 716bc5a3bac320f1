#include "signaling/static_files.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <system_error>
#include <utility>

namespace partyline::signaling {

namespace fs = std::filesystem;

namespace {

Error not_found(std::string_view url_path, std::string_view why) {
  return make_error(error_code::kNotFound, "'" + std::string(url_path) + "': " + std::string(why));
}

// True when `inner` is `root` itself or lies below it, compared component by
// component so "/srv/web2" is not taken for a child of "/srv/web".
bool is_within(const fs::path& root, const fs::path& inner) {
  auto [root_end, inner_it] = std::mismatch(root.begin(), root.end(), inner.begin(), inner.end());
  return root_end == root.end();
}

}  // namespace

Result<StaticFiles> StaticFiles::open(const fs::path& web_root) {
  std::error_code ec;
  fs::path canonical = fs::canonical(web_root, ec);
  if (ec) return make_error(error_code::kNotFound, "web root '" + web_root.string() + "': " + ec.message());
  if (!fs::is_directory(canonical, ec)) {
    return make_error(error_code::kNotFound, "web root '" + web_root.string() + "' is not a directory");
  }
  return StaticFiles(std::move(canonical));
}

Result<fs::path> StaticFiles::resolve(std::string_view url_path) const {
  if (url_path.empty() || url_path.front() != '/') return not_found(url_path, "path must start with '/'");
  if (url_path.find('\\') != std::string_view::npos) return not_found(url_path, "backslash in path");
  if (url_path.find('\0') != std::string_view::npos) return not_found(url_path, "NUL byte in path");

  fs::path candidate = root_;
  size_t start = 1;
  while (start <= url_path.size()) {
    size_t end = std::min(url_path.find('/', start), url_path.size());
    std::string_view segment = url_path.substr(start, end - start);
    if (segment == "." || segment == "..") return not_found(url_path, "dot segment in path");
    // Empty segments ("//") add nothing; they cannot make the path absolute
    // because segments are appended one by one, never as a rooted path.
    if (!segment.empty()) candidate /= fs::path(std::string(segment));
    start = end + 1;
  }
  if (url_path.back() == '/') candidate /= "index.html";

  std::error_code ec;
  // canonical() follows every symlink, so a link pointing outside the root
  // resolves to its real target and fails the prefix check below.
  fs::path real = fs::canonical(candidate, ec);
  if (ec) return not_found(url_path, ec.message());
  if (!is_within(root_, real)) return not_found(url_path, "resolves outside the web root");
  if (!fs::is_regular_file(real, ec)) return not_found(url_path, "not a regular file");
  return real;
}

std::string_view content_type_for(const fs::path& file) {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 12> kTypes{{
      {".html", "text/html; charset=utf-8"},
      {".htm", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".json", "application/json"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".ico", "image/x-icon"},
      {".wasm", "application/wasm"},
      {".txt", "text/plain; charset=utf-8"},
      {".map", "application/json"},
  }};
  std::string extension = file.extension().string();
  std::transform(extension.begin(), extension.end(), extension.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  for (const auto& [suffix, type] : kTypes) {
    if (extension == suffix) return type;
  }
  return "application/octet-stream";
}

}  // namespace partyline::signaling
