// The plugin's ABI glue (plugins/recorder/recorder_plugin.cpp, compiled
// into this test) against a fake host: what it asks of line_join, its
// replies and error codes, and the stopped event once the files are
// complete. The host's own side is tested in tests/signaling and e2e.
#include <gtest/gtest.h>
#include <partyline/plugin.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "test_media.hpp"

// The opaque ABI types, as this fake host defines them.
struct pl_reply {
  std::string text;
};
struct pl_handle {
  std::string id;
};

extern "C" const pl_plugin* partyline_plugin_entry(void);

namespace recorder {
namespace {

using namespace std::chrono_literals;

struct FakeHost {
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<std::string> events;
  std::vector<std::string> joins;  // "line|name|subscribe|publish"
  int join_status = PL_OK;
  int leaves = 0;
  int timers = 0;
};
FakeHost* g_fake = nullptr;

pl_host make_host() {
  pl_host host{};
  host.api_major = PARTYLINE_PLUGIN_API_VERSION_MAJOR;
  host.api_minor = PARTYLINE_PLUGIN_API_VERSION_MINOR;
  host.struct_size = sizeof(pl_host);
  host.log = [](const pl_host*, const pl_handle*, pl_log_level, const char*, size_t) {};
  host.push_event = [](pl_handle*, const char* json, size_t length, const char*, const char*, size_t) {
    std::lock_guard lock(g_fake->mutex);
    g_fake->events.emplace_back(json, length);
    g_fake->changed.notify_all();
    return PL_OK;
  };
  host.reply = [](pl_reply* reply, const char* text, size_t length) {
    reply->text.assign(text, length);
    return PL_OK;
  };
  host.handle_id = [](const pl_handle* handle) { return handle->id.c_str(); };
  host.line_join = [](pl_handle*, const pl_line_join* join) {
    g_fake->joins.push_back(std::string(join->line_id) + "|" + join->display_name + "|" +
                            std::to_string(join->subscribe) + "|" + std::to_string(join->publish_audio));
    return g_fake->join_status;
  };
  host.line_leave = [](pl_handle*) { return ++g_fake->leaves, PL_OK; };
  host.start_timer = [](pl_handle*, uint32_t) { return ++g_fake->timers, PL_OK; };
  host.stop_timer = [](pl_handle*) { return --g_fake->timers, PL_OK; };
  host.line_request_keyframe = [](pl_handle*, uint32_t) { return PL_OK; };
  host.line_nack = [](pl_handle*, uint32_t, const uint16_t*, size_t) { return PL_OK; };
  return host;
}

class RecorderPluginTest : public ::testing::Test {
 protected:
  void SetUp() override {
    g_fake = &fake_;
    folder_ = test::temp_folder("plugin");
    const std::string config = R"({"folder": ")" + folder_ + R"(", "name": "rec-test"})";
    ASSERT_EQ(plugin_->init(&host_, config.data(), config.size(), &state_), PL_OK);
    ASSERT_EQ(plugin_->create_handle(state_, &handle_, &handle_state_), PL_OK);
  }
  void TearDown() override {
    plugin_->destroy_handle(state_, handle_state_);
    plugin_->destroy(state_);  // joins the writer
    g_fake = nullptr;
  }
  // Returns the status code; the reply's text in `reply`.
  int message(const std::string& body, std::string* reply = nullptr) {
    pl_reply out;
    const int status = plugin_->handle_message(state_, handle_state_, body.data(), body.size(), nullptr, nullptr, 0, &out);
    if (reply) *reply = out.text;
    return status;
  }
  bool wait_for_event(const std::string& text) {
    std::unique_lock lock(fake_.mutex);
    return fake_.changed.wait_for(lock, 10s, [&] {
      for (const auto& event : fake_.events) {
        if (event.find(text) != std::string::npos) return true;
      }
      return false;
    });
  }

  FakeHost fake_;
  pl_host host_ = make_host();
  const pl_plugin* plugin_ = partyline_plugin_entry();
  pl_handle handle_{"h1"};
  void* state_ = nullptr;
  void* handle_state_ = nullptr;
  std::string folder_;
};

TEST_F(RecorderPluginTest, RecordJoinsAsASubscriberUnderTheConfiguredName) {
  std::string reply;
  ASSERT_EQ(message(R"({"request": "record", "line_id": "L1"})", &reply), PL_OK);
  EXPECT_EQ(reply, R"({"recording":true,"line_id":"L1","files":[]})");
  EXPECT_EQ(fake_.joins, (std::vector<std::string>{"L1|rec-test|1|0"}));
  EXPECT_EQ(fake_.timers, 1);
  EXPECT_EQ(message(R"({"request": "record", "line_id": "L2"})", &reply), 409);
  EXPECT_EQ(reply, "already recording line L1");
  ASSERT_EQ(message(R"({"request": "status"})", &reply), PL_OK);
  EXPECT_EQ(reply, R"({"recording":true,"line_id":"L1","files":[]})");
  ASSERT_EQ(message(R"({"request": "stop"})", &reply), PL_OK);
  EXPECT_EQ(reply, R"({"recording":false,"line_id":"L1","files":[]})");
  EXPECT_EQ(fake_.leaves, 1);
  EXPECT_EQ(fake_.timers, 0);
  EXPECT_TRUE(wait_for_event(R"({"recorder":"stopped","reason":"stop","line_id":"L1","files":[]})"));
  EXPECT_EQ(message(R"({"request": "stop"})", &reply), 404);
  EXPECT_EQ(reply, "not recording");
}

TEST_F(RecorderPluginTest, MalformedRequestsAre400WithAReason) {
  const std::vector<std::string> bodies = {"not json", R"({"request": 7})", R"({"request": "record"})",
                                           R"({"request": "record", "line_id": ""})", R"({"request": "dance"})"};
  for (const std::string& body : bodies) {
    std::string reply;
    EXPECT_EQ(message(body, &reply), 400) << body;
    EXPECT_FALSE(reply.empty()) << body;
  }
  EXPECT_TRUE(fake_.joins.empty());
}

TEST_F(RecorderPluginTest, LineJoinsCodeIsPassedThrough) {
  fake_.join_status = 403;
  std::string reply;
  EXPECT_EQ(message(R"({"request": "record", "line_id": "L1"})", &reply), 403);
  EXPECT_NE(reply.find("L1"), std::string::npos) << reply;
  ASSERT_EQ(message(R"({"request": "status"})", &reply), PL_OK);
  EXPECT_NE(reply.find(R"("recording":false)"), std::string::npos) << reply;
  EXPECT_EQ(fake_.timers, 0);
}

TEST_F(RecorderPluginTest, MediaBecomesAFileCompletedWhenTheLineEnds) {
  ASSERT_EQ(message(R"({"request": "record", "line_id": "L1"})"), PL_OK);
  const pl_line_stream stream{4, 0, "opus", 48000, 111, "occ-1", "Ann"};
  plugin_->line_stream_added(state_, handle_state_, &stream);
  const auto audio = test::encode_opus(25, 440);
  for (size_t a = 0; a < audio.size(); ++a) {
    const auto packet = test::rtp_packet(111, a, a * 960, false, audio[a]);
    plugin_->line_rtp(state_, handle_state_, 4, packet.data(), packet.size());
  }
  plugin_->timer(state_, handle_state_);
  plugin_->line_left(state_, handle_state_, "L1", "line_closed");
  EXPECT_EQ(fake_.leaves, 0);  // the host took it out: no line_leave
  ASSERT_TRUE(wait_for_event(R"("reason":"line_closed")"));
  std::string status;
  ASSERT_EQ(message(R"({"request": "status"})", &status), PL_OK);
  EXPECT_NE(status.find(R"("publisher":"occ-1","publisher_name":"Ann")"), std::string::npos) << status;
  EXPECT_NE(status.find(R"("audio":true,"video":false,"complete":true)"), std::string::npos) << status;
  pl_reply admin;
  ASSERT_EQ(plugin_->admin_query(state_, nullptr, "{}", 2, &admin), PL_OK);
  EXPECT_NE(admin.text.find(R"("packets":25)"), std::string::npos) << admin.text;
  EXPECT_NE(admin.text.find(R"("handle":"h1")"), std::string::npos) << admin.text;
}

TEST_F(RecorderPluginTest, ABadConfigIsRefusedAtInit) {
  void* other = nullptr;
  const std::string config = R"({"name": ""})";
  EXPECT_EQ(plugin_->init(&host_, config.data(), config.size(), &other), 400);
}

}  // namespace
}  // namespace recorder
