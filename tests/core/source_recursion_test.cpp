#include "core/runtime/source_recursion.hpp"

#include <glib-unix.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <vector>

namespace partyline::core {
namespace {

GSource* attach_fd_source(GMainContext* context, int fd) {
  GSource* source = g_unix_fd_source_new(fd, G_IO_IN);
  g_source_set_callback(source, [](gpointer) -> gboolean { return G_SOURCE_CONTINUE; }, nullptr, nullptr);
  g_source_attach(source, context);
  return source;
}

GSource* attach_timeout(GMainContext* context) {
  GSource* source = g_timeout_source_new(60'000);
  g_source_set_callback(source, [](gpointer) -> gboolean { return G_SOURCE_CONTINUE; }, nullptr, nullptr);
  g_source_attach(source, context);
  return source;
}

// Each call marks the descriptor sources attached since the previous one,
// and only those still attached; timed sources and those already marked
// are left as they are.
TEST(SourceRecursionMarker, MarksDescriptorSourcesAttachedSinceTheLastCall) {
  GMainContext* context = g_main_context_new();
  SourceRecursionMarker marker(context);
  int pipe_fds[2];
  ASSERT_EQ(0, ::pipe(pipe_fds));
  std::vector<GSource*> sources = {attach_fd_source(context, pipe_fds[0]), attach_fd_source(context, pipe_fds[1])};
  GSource* timed = attach_timeout(context);
  GSource* gone = attach_fd_source(context, pipe_fds[0]);
  g_source_destroy(gone);
  EXPECT_EQ(2u, marker.mark_new_sources());
  for (GSource* source : sources) EXPECT_TRUE(g_source_get_can_recurse(source));
  EXPECT_FALSE(g_source_get_can_recurse(timed));
  EXPECT_FALSE(g_source_get_can_recurse(gone));
  g_source_unref(gone);

  EXPECT_EQ(0u, marker.mark_new_sources());  // nothing new
  sources.push_back(attach_fd_source(context, pipe_fds[0]));
  GSource* already = attach_fd_source(context, pipe_fds[1]);
  g_source_set_can_recurse(already, TRUE);
  EXPECT_EQ(1u, marker.mark_new_sources());
  EXPECT_TRUE(g_source_get_can_recurse(sources.back()));

  sources.push_back(already);
  sources.push_back(timed);
  for (GSource* source : sources) {
    g_source_destroy(source);
    g_source_unref(source);
  }
  g_main_context_unref(context);
  ::close(pipe_fds[0]);
  ::close(pipe_fds[1]);
}

}  // namespace
}  // namespace partyline::core
