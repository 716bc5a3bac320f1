#include "rtp/rtcp/rtcp_dispatch.hpp"

#include <gtest/gtest.h>

#include <array>
#include <string>
#include <vector>

namespace partyline::rtp {
namespace {

// Writes down what it was given, in order.
class Recorder : public RtcpHandler {
 public:
  void on_sender_report(const SenderReportView& report) override {
    seen.push_back("SR " + std::to_string(report.sender_ssrc));
  }
  void on_receiver_report(const ReceiverReportView& report) override {
    seen.push_back("RR " + std::to_string(report.sender_ssrc));
  }
  void on_pli(const PliView& pli) override { seen.push_back("PLI " + std::to_string(pli.media_ssrc)); }
  void on_fir(const FirView& fir) override { seen.push_back("FIR " + std::to_string(fir.entry(0).ssrc)); }
  void on_nack(const NackView& nack, std::span<const uint16_t> lost) override {
    std::string text = "NACK " + std::to_string(nack.media_ssrc);
    for (uint16_t sequence : lost) text += " " + std::to_string(sequence);
    seen.push_back(text);
  }
  std::vector<std::string> seen;
};

TEST(RtcpDispatchTest, EachPacketOfACompoundReachesItsHandlerInOrder) {
  std::array<uint8_t, 512> buffer{};
  RtcpWriter writer(buffer);
  ASSERT_TRUE(write_sender_report(writer, 1, SenderInfo{}, {}).ok());
  ASSERT_TRUE(write_receiver_report(writer, 2, {}).ok());
  ASSERT_TRUE(write_sdes_cname(writer, 2, "x").ok());  // not for a media handler: skipped
  ASSERT_TRUE(write_pli(writer, 2, 30).ok());
  const std::array<FirEntry, 1> fir{FirEntry{40, 1}};
  ASSERT_TRUE(write_fir(writer, 2, fir).ok());
  const std::array<uint16_t, 3> lost{7, 8, 20};
  ASSERT_TRUE(write_nack(writer, 2, 50, lost).ok());
  Recorder recorder;
  EXPECT_TRUE(dispatch_rtcp(writer.written(), recorder));
  EXPECT_EQ(recorder.seen, (std::vector<std::string>{"SR 1", "RR 2", "PLI 30", "FIR 40", "NACK 50 7 8 20"}));
}

TEST(RtcpDispatchTest, AMalformedCompoundIsReportedAfterWhatCameBeforeTheFault) {
  std::array<uint8_t, 128> buffer{};
  RtcpWriter writer(buffer);
  ASSERT_TRUE(write_pli(writer, 2, 30).ok());
  std::vector<uint8_t> compound(writer.written().begin(), writer.written().end());
  for (uint8_t byte : {0x80, 200, 0xFF, 0xFF}) compound.push_back(byte);  // a length past the end
  Recorder recorder;
  EXPECT_FALSE(dispatch_rtcp(compound, recorder));
  EXPECT_EQ(recorder.seen, (std::vector<std::string>{"PLI 30"}));
}

}  // namespace
}  // namespace partyline::rtp
