// End to end over loopback: budgets that span sessions (issue 14: the
// request rate was per session, so 20 reconnects x 100 pings all passed).
#include "signaling/signaling_server.hpp"

#include <gtest/gtest.h>

#include <string>

#include "tests/signaling/signaling_server_fixture.hpp"

namespace partyline::signaling {
namespace {

using namespace std::chrono_literals;
using testing::SignalingServerTest;
using testing::WebSocketClient;
using testing::string_field;

class SharedRateLimitsTest : public SignalingServerTest {
 protected:
  // Sends `count` echo requests on a new session of `user` and closes it;
  // how many succeeded, and the last refusal's reason.
  int requests_through_one_session(const std::string& user, int count, std::string* refusal = nullptr) {
    WebSocketClient client;
    connect(client, "/ws?name=" + user);
    for (int i = 0; i < count; ++i) {
      client.send_text(R"({"request":"echo","transaction":"t-)" + std::to_string(i) + R"(","data":1})");
    }
    int succeeded = 0;
    for (int i = 0; i < count; ++i) {
      auto response = client.next_json();
      if (!response) break;
      if (std::string(string_field(response, "response")) == "success") {
        ++succeeded;
      } else if (refusal != nullptr) {
        EXPECT_EQ(json_integer_value(json_object_get(response.get(), "code")), 429);
        *refusal = string_field(response, "reason");
      }
    }
    client.send(WSLAY_CONNECTION_CLOSE, std::string("\x03\xe8", 2));
    client.flush();
    return succeeded;
  }
};

TEST_F(SharedRateLimitsTest, ReconnectingDoesNotRefillTheUsersRequestBudget) {
  // Each session alone could send 100; the user shares 30 (no refill to speak of).
  options_.rate_limit = RateLimit{1, 100};
  options_.user_request_limit = RateLimit{1, 30};
  options_.user_connect_limit = RateLimit{0, 0};
  start_server();
  int passed = 0;
  std::string refusal;
  for (int session = 0; session < 5; ++session) passed += requests_through_one_session("mallory", 20, &refusal);
  EXPECT_GE(passed, 30);
  EXPECT_LE(passed, 32);  // plus what a second or two of refill brings
  EXPECT_EQ(refusal, "rate limited: more than 1 requests per second from this user");
  // Another user from the same address is not affected.
  EXPECT_EQ(requests_through_one_session("bob", 20), 20);
}

TEST_F(SharedRateLimitsTest, TheAddressBudgetSpansUsers) {
  options_.user_request_limit = RateLimit{0, 0};
  options_.address_request_limit = RateLimit{1, 25};
  options_.address_connect_limit = RateLimit{0, 0};
  start_server();
  std::string refusal;
  int passed = 0;
  for (int user = 0; user < 3; ++user) passed += requests_through_one_session("user" + std::to_string(user), 20, &refusal);
  EXPECT_GE(passed, 25);
  EXPECT_LE(passed, 27);
  EXPECT_EQ(refusal, "rate limited: more than 1 requests per second from this address");
}

TEST_F(SharedRateLimitsTest, ConnectsBeyondTheUsersBurstAreClosedWith4009) {
  options_.user_connect_limit = RateLimit{1, 3};
  start_server();
  std::vector<std::unique_ptr<WebSocketClient>> open;
  for (int i = 0; i < 3; ++i) {
    open.push_back(std::make_unique<WebSocketClient>());
    connect(*open.back(), "/ws?name=eager");
  }
  WebSocketClient fourth;
  EXPECT_EQ(refusal_of(fourth, "/ws?name=eager"), close_code::kConnectsLimited);
  EXPECT_EQ(server_->session_count(), 3u);
  // Another user connects.
  WebSocketClient other;
  connect(other, "/ws?name=patient");
  EXPECT_EQ(server_->session_count(), 4u);
}

TEST_F(SharedRateLimitsTest, ConnectsBeyondTheAddressBurstAreClosedWith4009BeforeAuthentication) {
  options_.address_connect_limit = RateLimit{1, 2};
  options_.auth.allow_anonymous = false;  // the refusal comes before the identity is even looked at
  start_server();
  WebSocketClient first, second, third;
  EXPECT_EQ(refusal_of(first, "/ws?name=a"), close_code::kUnauthorized);
  EXPECT_EQ(refusal_of(second, "/ws?name=b"), close_code::kUnauthorized);
  EXPECT_EQ(refusal_of(third, "/ws?name=c"), close_code::kConnectsLimited);
}

}  // namespace
}  // namespace partyline::signaling
