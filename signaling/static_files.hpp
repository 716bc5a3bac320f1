// Maps a decoded URL path to a regular file under the web root, refusing
// anything that could escape it, and names the Content-Type to serve it with.
// No sockets: the HTTP server calls this and only opens what it returns.
#pragma once

#include <filesystem>
#include <string_view>

#include "rtp/result.hpp"

namespace partyline::signaling {

class StaticFiles {
 public:
  // `web_root` must be an existing directory; its canonical form is what
  // every resolved file is checked against.
  static Result<StaticFiles> open(const std::filesystem::path& web_root);

  // `url_path` is the already percent-decoded path of the request (MHD decodes
  // it once; decoding again would turn "%252e" into "."). "/" and paths ending
  // in "/" mean index.html. Errors are 404 for anything that is not a regular
  // file inside the root: "." or ".." segments, backslashes, NUL bytes, paths
  // not starting with "/", missing files, directories and symlinks leading out.
  Result<std::filesystem::path> resolve(std::string_view url_path) const;

  const std::filesystem::path& root() const { return root_; }

 private:
  explicit StaticFiles(std::filesystem::path canonical_root) : root_(std::move(canonical_root)) {}
  std::filesystem::path root_;
};

// The Content-Type for a file name's extension (case-insensitive);
// application/octet-stream when unknown.
std::string_view content_type_for(const std::filesystem::path& file);

}  // namespace partyline::signaling
