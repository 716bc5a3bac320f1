#include "signaling/static_files.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace partyline::signaling {
namespace {

namespace fs = std::filesystem;

// A throwaway tree: <tmp>/root is the web root, <tmp>/outside must stay unreachable.
class StaticFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "partyline-static-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    base_ = pattern;
    root_ = base_ / "root";
    fs::create_directories(root_ / "sub");
    fs::create_directories(base_ / "outside");
    write(root_ / "index.html", "<html>");
    write(root_ / "app.js", "let x;");
    write(root_ / "sub" / "index.html", "<p>");
    write(root_ / "a b.txt", "space");
    write(base_ / "outside" / "secret.txt", "secret");
    write(base_ / "root-sibling.txt", "sibling");
    fs::create_symlink("../outside/secret.txt", root_ / "leak.txt");
    fs::create_symlink("../outside", root_ / "leakdir");
    fs::create_symlink("app.js", root_ / "alias.js");
    auto files = StaticFiles::open(root_);
    ASSERT_TRUE(files.ok()) << files.error().message;
    files_.emplace(std::move(*files));
  }
  void TearDown() override { fs::remove_all(base_); }

  static void write(const fs::path& path, const std::string& text) { std::ofstream(path) << text; }

  fs::path base_;
  fs::path root_;
  std::optional<StaticFiles> files_;
};

TEST_F(StaticFilesTest, ResolvesFilesAndIndex) {
  auto canonical_root = fs::canonical(root_);
  auto index = files_->resolve("/");
  ASSERT_TRUE(index.ok()) << index.error().message;
  EXPECT_EQ(*index, canonical_root / "index.html");

  auto script = files_->resolve("/app.js");
  ASSERT_TRUE(script.ok());
  EXPECT_EQ(*script, canonical_root / "app.js");

  auto sub_index = files_->resolve("/sub/");
  ASSERT_TRUE(sub_index.ok());
  EXPECT_EQ(*sub_index, canonical_root / "sub" / "index.html");

  auto spaced = files_->resolve("/a b.txt");
  ASSERT_TRUE(spaced.ok());

  // A symlink that stays inside the root is fine.
  auto alias = files_->resolve("/alias.js");
  ASSERT_TRUE(alias.ok());
  EXPECT_EQ(*alias, canonical_root / "app.js");

  auto double_slash = files_->resolve("//app.js");
  ASSERT_TRUE(double_slash.ok());
}

TEST_F(StaticFilesTest, RefusesEverythingOutsideTheRoot) {
  const std::string refused[] = {
      "/../outside/secret.txt",
      "/sub/../../outside/secret.txt",
      "/..",
      "/./app.js",
      "/sub/..",
      "/..\\outside\\secret.txt",
      "/sub\\..\\app.js",
      std::string("/app.js\0.png", 12),
      "app.js",
      "",
      "/leak.txt",
      "/leakdir/secret.txt",
      "/../root-sibling.txt",
      "/sub",  // a directory, not a file
      "/missing.html",
      // Percent-escapes are already decoded by MHD: left over, they are literal names.
      "/%2e%2e/outside/secret.txt",
      "/..%2foutside%2fsecret.txt",
  };
  for (const auto& path : refused) {
    auto result = files_->resolve(path);
    EXPECT_FALSE(result.ok()) << "served '" << path << "'";
    if (!result.ok()) {
      EXPECT_EQ(result.error().code, 404);
    }
  }
}

TEST_F(StaticFilesTest, AbsolutePathInsideUrlIsRelativeToRoot) {
  // "//etc/passwd" must never become the absolute /etc/passwd.
  auto result = files_->resolve("//etc/passwd");
  EXPECT_FALSE(result.ok());
}

TEST(StaticFilesOpen, MissingRootIsAnError) {
  auto files = StaticFiles::open("/nonexistent/partyline/web");
  ASSERT_FALSE(files.ok());
  EXPECT_NE(files.error().message.find("/nonexistent/partyline/web"), std::string::npos);
}

TEST(ContentType, KnownExtensions) {
  EXPECT_EQ(content_type_for("index.html"), "text/html; charset=utf-8");
  EXPECT_EQ(content_type_for("app.js"), "text/javascript; charset=utf-8");
  EXPECT_EQ(content_type_for("mod.mjs"), "text/javascript; charset=utf-8");
  EXPECT_EQ(content_type_for("style.css"), "text/css; charset=utf-8");
  EXPECT_EQ(content_type_for("data.json"), "application/json");
  EXPECT_EQ(content_type_for("logo.svg"), "image/svg+xml");
  EXPECT_EQ(content_type_for("logo.png"), "image/png");
  EXPECT_EQ(content_type_for("favicon.ico"), "image/x-icon");
  EXPECT_EQ(content_type_for("codec.wasm"), "application/wasm");
  EXPECT_EQ(content_type_for("notes.txt"), "text/plain; charset=utf-8");
  EXPECT_EQ(content_type_for("UPPER.HTML"), "text/html; charset=utf-8");
  EXPECT_EQ(content_type_for("archive.tar.gz"), "application/octet-stream");
  EXPECT_EQ(content_type_for("Makefile"), "application/octet-stream");
}

}  // namespace
}  // namespace partyline::signaling
