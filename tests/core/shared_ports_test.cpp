// Single-port mode's sockets across two running workers, on 127.0.0.1 (run
// under `unshare -n` with lo up): whichever worker's socket the kernel
// gives a sender's datagrams to, they reach the receiver attached on the
// other worker, checks by their fragment and later datagrams by address.
#include "core/runtime/shared_ports.hpp"

#include "rtp/packet/packet_demux.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

namespace partyline::core {
namespace {

// Counts what reaches it on its worker; answers a check by routing its
// address to itself, as IceLiteLink does.
class CountingReceiver : public ice::SharedUdpPort::Receiver {
 public:
  explicit CountingReceiver(ice::SharedUdpPort& port) : port_(port) {}
  void on_port_datagram(std::span<uint8_t> datagram, const rtp::TransportAddress& from) override {
    if (rtp::classify_packet(datagram) == rtp::PacketKind::kStun) {
      port_.route(from, this);
      ++checks;
    } else {
      ++media;
    }
  }
  std::atomic<int> checks{0};
  std::atomic<int> media{0};

 private:
  ice::SharedUdpPort& port_;
};

std::vector<uint8_t> check_for(const std::string& username) {
  std::vector<uint8_t> bytes(128);
  rtp::StunTransactionId id{};
  id.fill(3);
  rtp::StunWriter writer(bytes, rtp::kStunBindingMethod, rtp::StunClass::kRequest, id);
  writer.add_string(rtp::stun_attribute::kUsername, username);
  writer.add_message_integrity("whatever-the-receiver-checks");
  writer.add_fingerprint();
  bytes.resize(writer.size());
  return bytes;
}

// A participant's socket on 127.0.0.1 with a port of its own.
int sender_socket() {
  const int fd = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  return fd;
}

void send_to_port(int fd, uint16_t port, const std::vector<uint8_t>& bytes) {
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(sendto(fd, bytes.data(), bytes.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to),
            static_cast<ssize_t>(bytes.size()));
}

bool wait_for(const std::function<bool()>& done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // polling a counter another thread sets
  }
  return true;
}

class SharedPortsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto ports = SharedPorts::open(pool_, "127.0.0.1", 0);
    ASSERT_TRUE(ports.ok()) << ports.error().message;
    ports_ = std::move(ports).value();
    pool_.start();
  }
  void TearDown() override {
    if (receiver_) pool_.worker(1).run_sync([this] { ports_->worker_port(1).detach(receiver_.get()); });
    pool_.stop();
    ports_.reset();
  }

  struct SharedPortsCounters {
    uint64_t handed_over = 0, received_over = 0, unknown = 0, drops = 0;
  };

  SharedPortsCounters totals() {
    SharedPortsCounters sum;
    for (size_t i = 0; i < pool_.size(); ++i) {
      pool_.worker(i).run_sync([&] {
        const auto& c = ports_->counters(i);
        sum.handed_over += c.handed_over;
        sum.received_over += c.received_over;
        sum.unknown += c.unknown;
        sum.drops += c.handover_drops;
      });
    }
    return sum;
  }

  WorkerPool pool_{2};
  std::unique_ptr<SharedPorts> ports_;
  std::unique_ptr<CountingReceiver> receiver_;
};

TEST_F(SharedPortsTest, EveryWorkerBindsTheOnePort) {
  EXPECT_NE(ports_->port(), 0);
  for (size_t i = 0; i < pool_.size(); ++i) {
    uint16_t bound = 0;
    pool_.worker(i).run_sync([&] { bound = ports_->worker_port(i).port(); });
    EXPECT_EQ(bound, ports_->port()) << "worker " << i;
  }
}

TEST_F(SharedPortsTest, DatagramsReachTheirReceiverWhicheverSocketReadsThem) {
  pool_.worker(1).run_sync([this] {
    receiver_ = std::make_unique<CountingReceiver>(ports_->worker_port(1));
    ports_->worker_port(1).attach("wkr1", receiver_.get());
  });
  // Sixteen participants: the kernel hashes each address to one of the two
  // sockets, so (all but certainly) some land on worker 0's.
  constexpr int kSenders = 16;
  std::vector<int> senders;
  for (int i = 0; i < kSenders; ++i) senders.push_back(sender_socket());
  for (int fd : senders) send_to_port(fd, ports_->port(), check_for("wkr1:peer"));
  ASSERT_TRUE(wait_for([&] { return receiver_->checks.load() == kSenders; })) << receiver_->checks.load();
  const std::vector<uint8_t> media = {0x80, 0x60, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1};
  for (int fd : senders) send_to_port(fd, ports_->port(), media);
  ASSERT_TRUE(wait_for([&] { return receiver_->media.load() == kSenders; })) << receiver_->media.load();

  const auto sum = totals();
  EXPECT_GT(sum.handed_over, 0u) << "no address hashed to worker 0's socket";
  EXPECT_EQ(sum.handed_over, sum.received_over);
  EXPECT_EQ(sum.drops, 0u);
  EXPECT_EQ(sum.unknown, 0u);
  for (int fd : senders) close(fd);
}

TEST_F(SharedPortsTest, DatagramsForNobodyAreCountedNotDelivered) {
  pool_.worker(1).run_sync([this] {
    receiver_ = std::make_unique<CountingReceiver>(ports_->worker_port(1));
    ports_->worker_port(1).attach("wkr1", receiver_.get());
  });
  std::vector<int> senders;
  for (int i = 0; i < 16; ++i) senders.push_back(sender_socket());
  for (int fd : senders) send_to_port(fd, ports_->port(), check_for("nobody:peer"));
  for (int fd : senders) send_to_port(fd, ports_->port(), std::vector<uint8_t>{0x80, 0x60, 0, 1});
  // Each is read by one worker, finds no receiver there or in the directory,
  // and is counted once.
  ASSERT_TRUE(wait_for([&] { return totals().unknown == 32; })) << totals().unknown;
  EXPECT_EQ(receiver_->checks.load(), 0);
  EXPECT_EQ(receiver_->media.load(), 0);
  for (int fd : senders) close(fd);
}

}  // namespace
}  // namespace partyline::core
