#include "core/runtime/config.hpp"

#include <gtest/gtest.h>

#include <functional>

#include <map>
#include <string>
#include <vector>

namespace partyline::core {
namespace {

Status apply(Config& config, const char* text) {
  auto root = parse_json_object(text);
  if (!root) return root.error();
  return apply_config_json(config, root->get());
}

std::map<std::string, std::string>* g_fake_environment = nullptr;
const char* fake_getenv(const char* name) {
  auto it = g_fake_environment->find(name);
  return it == g_fake_environment->end() ? nullptr : it->second.c_str();
}

TEST(ConfigTest, EmbeddedDefaultsAreValid) {
  Config config;
  EXPECT_TRUE(validate_config(config).ok());
  EXPECT_EQ(config.http.port, 8088);
  EXPECT_TRUE(config.ice.allow_loopback);
}

TEST(ConfigTest, FileOverridesDefaults) {
  Config config;
  ASSERT_TRUE(apply(config, R"({"log_level":"debug","http":{"port":9000},"ice":{"addresses":["127.0.0.1"],
      "turn_servers":[{"host":"turn.example.org","port":3478,"username":"u","password":"p"}]}})").ok());
  EXPECT_EQ(config.log_level, "debug");
  EXPECT_EQ(config.http.port, 9000);
  ASSERT_EQ(config.ice.addresses.size(), 1u);
  ASSERT_EQ(config.ice.turn_servers.size(), 1u);
  EXPECT_EQ(config.ice.turn_servers[0].username, "u");
  EXPECT_EQ(config.http.bind_address, "0.0.0.0");  // untouched keys keep their defaults
}

TEST(ConfigTest, MediaStartBitrateDefaultsTo1000AndZeroTurnsItOff) {
  Config config;
  EXPECT_EQ(config.media.start_bitrate_kbps, 1000u);
  ASSERT_TRUE(apply(config, R"({"media":{"start_bitrate_kbps":0}})").ok());
  EXPECT_EQ(config.media.start_bitrate_kbps, 0u);
  EXPECT_FALSE(apply(config, R"({"media":{"start_bitrate_kbps":"fast"}})").ok());
}

TEST(ConfigTest, SpeechLevelAndLastNHaveDefaultsAndBounds) {
  Config config;
  EXPECT_EQ(config.lines.speech_level_dbov, 50u);
  EXPECT_EQ(config.lines.last_n, 0u);  // off: everyone's video
  ASSERT_TRUE(apply(config, R"({"lines":{"speech_level_dbov":60,"last_n":4}})").ok());
  EXPECT_TRUE(validate_config(config).ok());
  config.lines.speech_level_dbov = 128;
  EXPECT_NE(validate_config(config).error().message.find("lines.speech_level_dbov"), std::string::npos);
  config.lines.speech_level_dbov = 127;
  config.lines.last_n = config.limits.max_occupants_per_line + 1;
  EXPECT_NE(validate_config(config).error().message.find("lines.last_n"), std::string::npos);
  config.lines.last_n = config.limits.max_occupants_per_line;
  EXPECT_TRUE(validate_config(config).ok());
}

TEST(ConfigTest, VideoCodecsDefaultToVp8ThenH264AndAreChecked) {
  Config config;
  EXPECT_EQ(config.media.video_codecs, (std::vector<std::string>{"VP8", "H264"}));
  ASSERT_TRUE(apply(config, R"({"media":{"video_codecs":["H264"]}})").ok());
  EXPECT_TRUE(validate_config(config).ok());
  config.media.video_codecs = {"VP8", "AV1"};
  EXPECT_NE(validate_config(config).error().message.find("media.video_codecs[1]"), std::string::npos);
  config.media.video_codecs = {"VP8", "VP8"};
  EXPECT_NE(validate_config(config).error().message.find("twice"), std::string::npos);
  config.media.video_codecs = {};
  EXPECT_NE(validate_config(config).error().message.find("media.video_codecs"), std::string::npos);
}

TEST(ConfigTest, SinglePortModeIsOffByDefaultAndNeedsHostAddressesOnly) {
  Config config;
  EXPECT_EQ(config.ice.udp_port, 0);
  ASSERT_TRUE(apply(config, R"({"ice":{"udp_port":3478,"addresses":["127.0.0.1"]}})").ok());
  EXPECT_EQ(config.ice.udp_port, 3478);
  EXPECT_TRUE(validate_config(config).ok());
  struct Case {
    const char* what;
    std::function<void(Config&)> change;
    const char* message;
  };
  const Case cases[] = {
      {"no address", [](Config& c) { c.ice.addresses.clear(); }, "needs ice.addresses"},
      {"IPv6", [](Config& c) { c.ice.addresses = {"::1"}; }, "IPv4 only"},
      {"STUN", [](Config& c) { c.ice.stun_server = "127.0.0.1:3478"; }, "host candidates only"},
      {"TURN", [](Config& c) { c.ice.turn_servers.push_back({}); }, "host candidates only"},
  };
  for (const Case& c : cases) {
    Config changed = config;
    c.change(changed);
    const Status status = validate_config(changed);
    ASSERT_FALSE(status.ok()) << c.what;
    EXPECT_NE(status.error().message.find("ice.udp_port"), std::string::npos) << c.what;
    EXPECT_NE(status.error().message.find(c.message), std::string::npos) << status.error().message;
  }
  Config behind_nat = config;
  behind_nat.ice.addresses.clear();
  behind_nat.ice.public_ip = "203.0.113.7";
  EXPECT_TRUE(validate_config(behind_nat).ok());
  EXPECT_FALSE(apply(config, R"({"ice":{"udp_port":70000}})").ok());
}

TEST(ConfigTest, ErrorsNameTheKey) {
  struct Case {
    const char* json;
    const char* expected;
  } cases[] = {
      {R"({"http":{"prot":1}})", "'http.prot' is not a known setting"},
      {R"({"http":{"port":70000}})", "'http.port' must be an integer from 0 to 65535"},
      {R"({"http":{"port":"80"}})", "'http.port' must be an integer"},
      {R"({"ice":{"addresses":[1]}})", "'ice.addresses[0]' must be a string"},
      {R"({"ice":{"turn_servers":[{"hots":"x"}]}})", "'ice.turn_servers[0].hots' is not a known setting"},
      {R"({"ice":{"allow_loopback":"yes"}})", "'ice.allow_loopback' must be true or false"},
      {R"({"verbose":true})", "'verbose' is not a known setting"},
      {R"({"http":3})", "'http' must be an object"},
  };
  for (const auto& test : cases) {
    Config config;
    Status status = apply(config, test.json);
    ASSERT_FALSE(status.ok()) << test.json;
    EXPECT_NE(status.error().message.find(test.expected), std::string::npos)
        << test.json << " gave: " << status.error().message;
  }
}

TEST(ConfigTest, ValidationRejectsBadValues) {
  Config config;
  config.ice.allowed_remote_networks = {"127.0.0.0/33"};
  EXPECT_FALSE(validate_config(config).ok());
  config.ice.allowed_remote_networks = {"127.0.0.0/8", "::1/128", "10.0.0.1"};
  EXPECT_TRUE(validate_config(config).ok());
  config.ice.public_ip = "not-an-ip";
  EXPECT_FALSE(validate_config(config).ok());
  config.ice.public_ip = "";
  config.log_level = "loud";
  EXPECT_FALSE(validate_config(config).ok());
  config.log_level = "info";
  config.auth.sessions_per_user = "two";
  EXPECT_NE(validate_config(config).error().message.find("auth.sessions_per_user"), std::string::npos);
  config.auth.sessions_per_user = "one";
  EXPECT_TRUE(validate_config(config).ok());
  config.limits.max_signal_bytes = 10;
  EXPECT_FALSE(validate_config(config).ok());
  config.limits.max_signal_bytes = 16384;
  config.limits.keepalives_per_second = 0;
  EXPECT_NE(validate_config(config).error().message.find("limits.keepalives_per_second"), std::string::npos);
  config.limits.keepalives_per_second = 1;
  EXPECT_TRUE(validate_config(config).ok());
  config.dtls.certificate_file = "cert.pem";
  EXPECT_FALSE(validate_config(config).ok());  // key missing
}

TEST(ConfigTest, PluginSectionsAreEachPluginsOwnJson) {
  Config config;
  ASSERT_TRUE(apply(config, R"({"plugins":{"folders":["/opt/p"],"enabled":["echotest"],"max_message_bytes":4096,
      "config":{"echotest":{"greeting":"hi","nested":{"any":[1,2]}}}}})").ok());
  EXPECT_EQ(config.plugins.folders, std::vector<std::string>{"/opt/p"});
  EXPECT_EQ(config.plugins.enabled, std::vector<std::string>{"echotest"});
  EXPECT_EQ(config.plugins.max_message_bytes, 4096u);
  // Unknown keys inside a plugin's section are the plugin's business.
  EXPECT_EQ(config.plugins.config.at("echotest"), R"({"greeting":"hi","nested":{"any":[1,2]}})");
  EXPECT_TRUE(validate_config(config).ok());

  Config bad;
  auto status = apply(bad, R"({"plugins":{"config":{"echotest":"on"}}})");
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.error().message.find("'plugins.config.echotest' must be an object"), std::string::npos)
      << status.error().message;
  bad.plugins.max_message_bytes = 63;
  EXPECT_FALSE(validate_config(bad).ok());
  bad.plugins.max_message_bytes = 64;
  bad.plugins.max_handles_per_session = 0;
  EXPECT_FALSE(validate_config(bad).ok());
}

TEST(ConfigTest, EnvironmentOverridesFile) {
  std::map<std::string, std::string> environment = {
      {"PARTYLINE_HTTP_PORT", "9100"},
      {"PARTYLINE_ICE_ADDRESSES", "127.0.0.1,10.1.2.3"},
      {"PARTYLINE_ICE_ALLOWED_NETWORKS", "127.0.0.0/8"},
      {"PARTYLINE_LOG_LEVEL", "warn"},
      {"PARTYLINE_ICE_UDP_PORT", "3478"},
  };
  g_fake_environment = &environment;
  Config config;
  ASSERT_TRUE(apply(config, R"({"http":{"port":9000}})").ok());
  ASSERT_TRUE(apply_config_environment(config, fake_getenv).ok());
  EXPECT_EQ(config.http.port, 9100);
  EXPECT_EQ(config.ice.addresses, (std::vector<std::string>{"127.0.0.1", "10.1.2.3"}));
  EXPECT_EQ(config.ice.allowed_remote_networks, (std::vector<std::string>{"127.0.0.0/8"}));
  EXPECT_EQ(config.log_level, "warn");
  EXPECT_EQ(config.ice.udp_port, 3478);

  environment = {{"PARTYLINE_HTTP_PORT", "eighty"}};
  EXPECT_FALSE(apply_config_environment(config, fake_getenv).ok());
}

TEST(ConfigTest, AdminListenerDefaultsToLoopbackAndReadsItsKeys) {
  Config config;
  EXPECT_EQ(config.admin.bind_address, "127.0.0.1");
  EXPECT_EQ(config.admin.port, 7088);
  EXPECT_TRUE(config.admin.token.empty());
  ASSERT_TRUE(apply(config, R"({"admin":{"bind":"::1","port":7100,"token":"t0ken"}})").ok());
  EXPECT_EQ(config.admin.bind_address, "::1");
  EXPECT_EQ(config.admin.port, 7100);
  EXPECT_EQ(config.admin.token, "t0ken");
  EXPECT_TRUE(validate_config(config).ok());

  std::map<std::string, std::string> environment = {
      {"PARTYLINE_ADMIN_BIND", "127.0.0.2"}, {"PARTYLINE_ADMIN_PORT", "0"}, {"PARTYLINE_ADMIN_TOKEN", "from-env"}};
  g_fake_environment = &environment;
  ASSERT_TRUE(apply_config_environment(config, fake_getenv).ok());
  EXPECT_EQ(config.admin.bind_address, "127.0.0.2");
  EXPECT_EQ(config.admin.port, 0);
  EXPECT_EQ(config.admin.token, "from-env");
  environment = {{"PARTYLINE_ADMIN_PORT", "70000"}};
  Status bad_port = apply_config_environment(config, fake_getenv);
  ASSERT_FALSE(bad_port.ok());
  EXPECT_NE(bad_port.error().message.find("PARTYLINE_ADMIN_PORT"), std::string::npos) << bad_port.error().message;
}

TEST(ConfigTest, AdminListenerOffLoopbackNeedsAToken) {
  struct Case {
    const char* bind;
    const char* token;
    bool valid;
  } cases[] = {
      {"127.0.0.1", "", true},  {"127.8.9.10", "", true}, {"::1", "", true},
      {"0.0.0.0", "", false},   {"::", "", false},        {"10.0.0.5", "", false},
      {"0.0.0.0", "secret", true}, {"10.0.0.5", "secret", true},
  };
  for (const auto& test : cases) {
    Config config;
    config.admin.bind_address = test.bind;
    config.admin.token = test.token;
    Status status = validate_config(config);
    EXPECT_EQ(status.ok(), test.valid) << test.bind << " token '" << test.token << "'";
    if (!status.ok()) {
      EXPECT_NE(status.error().message.find("'admin.token' must be set when admin.bind (" + std::string(test.bind) +
                                            ") is not a loopback address"),
                std::string::npos)
          << status.error().message;
    }
  }
  Config config;
  config.admin.bind_address = "localhost";
  EXPECT_FALSE(validate_config(config).ok());  // an IP address, not a name
  config.admin.bind_address = "0.0.0.0";
  config.admin.token = "secret";
  config.admin.port = config.http.port;
  EXPECT_FALSE(validate_config(config).ok());  // the signaling port on the same address
}

TEST(ConfigTest, HeaderTimeoutDefaultsTo10SecondsAndIsAtLeast100Ms) {
  Config config;
  EXPECT_EQ(config.http.header_timeout_ms, 10000u);
  ASSERT_TRUE(apply(config, R"({"http": {"header_timeout_ms": 99}})").ok());
  Status status = validate_config(config);
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.error().message.find("http.header_timeout_ms"), std::string::npos) << status.error().message;
  ASSERT_TRUE(apply(config, R"({"http": {"header_timeout_ms": 500}})").ok());
  EXPECT_TRUE(validate_config(config).ok());
  EXPECT_EQ(config.http.header_timeout_ms, 500u);
}

TEST(ConfigTest, AdapterPathsAreOwnPathsOrOff) {
  Config config;
  EXPECT_EQ(config.signaling.signalr_hub_path, "/hubs/webrtc");
  EXPECT_EQ(config.signaling.lines_path, "/signaling/v1");
  for (const char* bad : {R"({"signaling": {"lines_path": "signaling"}})", R"({"signaling": {"lines_path": "/ws"}})",
                          R"({"signaling": {"lines_path": "/v1/"}})", R"({"signaling": {"lines_path": "/hubs/webrtc"}})"}) {
    Config changed;
    ASSERT_TRUE(apply(changed, bad).ok()) << bad;
    Status status = validate_config(changed);
    ASSERT_FALSE(status.ok()) << bad;
    EXPECT_NE(status.error().message.find("signaling.lines_path"), std::string::npos) << status.error().message;
  }
  ASSERT_TRUE(apply(config, R"({"signaling": {"lines_path": ""}})").ok());
  EXPECT_TRUE(validate_config(config).ok());
}

TEST(ConfigTest, RoomsAreReadCheckedAndTheirTokensNeverPrinted) {
  Config config;
  EXPECT_TRUE(config.lines.rooms.empty());
  EXPECT_EQ(config.signaling.peers_path, "/peers");
  EXPECT_EQ(config.signaling.peers_room, "peers");
  EXPECT_EQ(config.signaling.verto_path, "/verto");
  EXPECT_EQ(config.signaling.chat_realtime_paths,
            (std::vector<std::string>{"/api/chat/realtime/", "/sphere/chat/realtime/"}));
  ASSERT_TRUE(apply(config, R"({"lines": {"rooms": [
      {"id": "3f2b8c1e-7d4a-4e6b-9a1c-5b8e2d7f0c93", "members": ["alice", "bob"]},
      {"id": "channel.1", "token": "s3cret", "open": true}]}})")
                  .ok());
  ASSERT_TRUE(validate_config(config).ok());
  ASSERT_EQ(config.lines.rooms.size(), 2u);
  EXPECT_EQ(config.lines.rooms[0].members, (std::vector<std::string>{"alice", "bob"}));
  EXPECT_FALSE(config.lines.rooms[0].open);
  EXPECT_EQ(config.lines.rooms[1].token, "s3cret");
  EXPECT_TRUE(config.lines.rooms[1].open);
  const std::string printed = dump_json(config_to_json(config).get());
  EXPECT_EQ(printed.find("s3cret"), std::string::npos) << printed;
  EXPECT_NE(printed.find("3f2b8c1e-7d4a-4e6b-9a1c-5b8e2d7f0c93"), std::string::npos) << printed;

  struct Bad {
    const char* json;
    const char* names;
  } bad[] = {
      {R"({"lines": {"rooms": [{"id": "a b"}]}})", "lines.rooms[0].id"},
      {R"({"lines": {"rooms": [{"id": ""}]}})", "lines.rooms[0].id"},
      {R"({"lines": {"rooms": [{"id": "x"}, {"id": "x"}]}})", "lines.rooms[1].id"},
      {R"({"lines": {"rooms": [{"id": "x", "members": [""]}]}})", "lines.rooms[0].members"},
      {R"({"signaling": {"peers_room": "no/slash"}})", "signaling.peers_room"},
      {R"({"signaling": {"peers_path": "/signaling/v1"}})", "signaling.peers_path"},
      {R"({"signaling": {"verto_path": "/peers"}})", "signaling.verto_path"},
      {R"({"signaling": {"verto_path": "verto"}})", "signaling.verto_path"},
      {R"({"signaling": {"chat_realtime_paths": ["/api/chat/realtime"]}})", "signaling.chat_realtime_paths[0]"},
  };
  for (const Bad& c : bad) {
    Config changed;
    ASSERT_TRUE(apply(changed, c.json).ok()) << c.json;
    Status status = validate_config(changed);
    ASSERT_FALSE(status.ok()) << c.json;
    EXPECT_NE(status.error().message.find(c.names), std::string::npos) << status.error().message;
  }
  Config unknown;
  Status status = apply(unknown, R"({"lines": {"rooms": [{"id": "x", "password": "p"}]}})");
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.error().message.find("lines.rooms[0].password"), std::string::npos) << status.error().message;
}

TEST(ConfigTest, ResumeGraceDefaultsTo20SecondsZeroTurnsItOffAndADayIsTheMost) {
  Config config;
  EXPECT_EQ(config.signaling.resume_grace_ms, 20000u);
  ASSERT_TRUE(apply(config, R"({"signaling": {"resume_grace_ms": 0}})").ok());
  EXPECT_TRUE(validate_config(config).ok());
  ASSERT_TRUE(apply(config, R"({"signaling": {"resume_grace_ms": 86400000}})").ok());
  EXPECT_TRUE(validate_config(config).ok());
  ASSERT_TRUE(apply(config, R"({"signaling": {"resume_grace_ms": 86400001}})").ok());
  Status status = validate_config(config);
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.error().message.find("signaling.resume_grace_ms"), std::string::npos) << status.error().message;
}

TEST(ConfigTest, BudgetsSharedAcrossSessionsHaveDefaultsAndZeroTurnsThemOff) {
  Config config;
  EXPECT_EQ(config.limits.user_connects_per_second, 5u);
  EXPECT_EQ(config.limits.address_connects_per_second, 200u);
  EXPECT_EQ(config.limits.user_requests_per_second, 100u);
  EXPECT_EQ(config.limits.address_requests_per_second, 2000u);
  ASSERT_TRUE(apply(config, R"({"limits": {"user_connects_per_second": 0, "address_connects_per_second": 7,
                                           "user_requests_per_second": 8, "address_requests_per_second": 0}})")
                  .ok());
  EXPECT_TRUE(validate_config(config).ok());
  EXPECT_EQ(config.limits.user_connects_per_second, 0u);
  EXPECT_EQ(config.limits.address_connects_per_second, 7u);
  EXPECT_EQ(config.limits.user_requests_per_second, 8u);
  EXPECT_EQ(config.limits.address_requests_per_second, 0u);
}

TEST(ConfigTest, TlsFilesComeInPairsAndWebhooksNeedASecretAndHttpUrls) {
  Config config;
  ASSERT_TRUE(apply(config, R"({"http": {"tls_certificate": "server.pem"}})").ok());
  Status status = validate_config(config);
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.error().message.find("http"), std::string::npos) << status.error().message;
  config.http.tls_private_key_file = "server.key";
  EXPECT_TRUE(validate_config(config).ok());
  config.admin.tls_private_key_file = "admin.key";
  EXPECT_FALSE(validate_config(config).ok());
  config.admin.tls_certificate_file = "admin.pem";
  EXPECT_TRUE(validate_config(config).ok());

  ASSERT_TRUE(apply(config, R"({"webhooks": {"urls": ["http://127.0.0.1:9000/events"], "retry_delay_ms": 100}})").ok());
  status = validate_config(config);
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.error().message.find("webhooks.secret"), std::string::npos) << status.error().message;
  config.webhooks.secret = "s3cret";
  EXPECT_TRUE(validate_config(config).ok());
  EXPECT_EQ(config.webhooks.retry_delay_ms, 100u);
  config.webhooks.urls = {"ftp://example.org/"};
  status = validate_config(config);
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.error().message.find("webhooks.urls[0]"), std::string::npos) << status.error().message;
  config.webhooks.urls = {"https://hooks.example.org/partyline"};
  config.webhooks.queue_size = 0;
  EXPECT_FALSE(validate_config(config).ok());
}

TEST(ConfigTest, PrintedConfigReadsBackAndHidesSecrets) {
  Config config;
  config.http.port = 9001;
  config.ice.turn_servers = {{"turn.example.org", 3478, "user", "hunter2"}};
  config.auth.jwt_secret = "jwt-signing-key";
  config.admin.token = "admin-bearer-token";
  config.webhooks.urls = {"http://127.0.0.1:9/hook"};
  config.webhooks.secret = "webhook-hmac-key";
  std::string printed = dump_json(config_to_json(config).get());
  EXPECT_EQ(printed.find("webhook-hmac-key"), std::string::npos) << printed;
  EXPECT_EQ(printed.find("hunter2"), std::string::npos) << printed;
  EXPECT_EQ(printed.find("admin-bearer-token"), std::string::npos) << printed;
  EXPECT_EQ(printed.find("jwt-signing-key"), std::string::npos) << printed;
  Config reread;
  ASSERT_TRUE(apply(reread, printed.c_str()).ok()) << printed;
  EXPECT_EQ(reread.http.port, 9001);
}

}  // namespace
}  // namespace partyline::core
