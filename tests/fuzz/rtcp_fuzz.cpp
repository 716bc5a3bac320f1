// The RTCP compound reader and every typed parser (SR, RR, SDES, BYE, NACK,
// PLI, FIR, REMB, transport-cc) on arbitrary bytes. Checks: packets tile the
// compound, every span lies inside its packet, counts agree with the bytes
// behind them, the reader and validate_rtcp_compound() agree, and a
// transport-cc reader yields exactly status_count packets.
#include <algorithm>
#include <array>
#include <cstdint>

#include "rtp/rtcp/rtcp_feedback.hpp"
#include "rtp/rtcp/rtcp_packet.hpp"
#include "rtp/rtcp/rtcp_reports.hpp"
#include "rtp/rtcp/transport_cc.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace partyline::rtp {
namespace {

using fuzz::inside;

void check_reports(const RtcpPacketView& packet) {
  const auto bytes = packet.packet;
  if (auto sr = parse_sender_report(packet)) {
    FUZZ_REQUIRE(packet.packet_type == rtcp_type::kSenderReport);
    FUZZ_REQUIRE(inside(sr->blocks.bytes(), bytes) && inside(sr->profile_extension, bytes));
    FUZZ_REQUIRE(sr->blocks.size() == packet.count);
    for (size_t i = 0; i < sr->blocks.size(); ++i) (void)sr->blocks[i];
  }
  if (auto rr = parse_receiver_report(packet)) {
    FUZZ_REQUIRE(packet.packet_type == rtcp_type::kReceiverReport);
    FUZZ_REQUIRE(inside(rr->blocks.bytes(), bytes) && inside(rr->profile_extension, bytes));
    FUZZ_REQUIRE(rr->blocks.size() == packet.count);
    for (size_t i = 0; i < rr->blocks.size(); ++i) (void)rr->blocks[i];
  }
  SdesReader sdes(packet);
  SdesItemView item;
  size_t items = 0;
  while (sdes.next(item)) {
    FUZZ_REQUIRE(inside(item.value, bytes) && item.type != sdes_type::kEnd);
    FUZZ_REQUIRE(++items <= bytes.size());
  }
  if (auto cname = find_sdes_cname(packet)) FUZZ_REQUIRE(inside(cname->value, bytes));
  if (auto bye = parse_bye(packet)) {
    FUZZ_REQUIRE(inside(bye->ssrc_bytes, bytes) && inside(bye->reason, bytes));
    FUZZ_REQUIRE(bye->ssrc_count() == packet.count);
    for (size_t i = 0; i < bye->ssrc_count(); ++i) (void)bye->ssrc(i);
  }
}

void check_transport_cc(const RtcpPacketView& packet) {
  auto twcc = parse_transport_cc(packet);
  if (!twcc) return;
  FUZZ_REQUIRE(inside(twcc->chunks, packet.packet) && inside(twcc->deltas, packet.packet));
  TransportCcReader reader(*twcc);
  TransportCcPacket status;
  size_t count = 0;
  size_t received = 0;
  while (reader.next(status)) {
    FUZZ_REQUIRE(status.sequence_number == static_cast<uint16_t>(twcc->base_sequence + count));
    ++count;
    if (status.received) ++received;
    FUZZ_REQUIRE(status.received || status.delta_ticks == 0);
  }
  FUZZ_REQUIRE(count == twcc->status_count);
  FUZZ_REQUIRE(received <= twcc->deltas.size());  // at least one byte per delta
  std::array<TransportCcPacket, 32> decoded{};
  FUZZ_REQUIRE(read_transport_cc(*twcc, decoded) == std::min<size_t>(decoded.size(), count));
}

void check_feedback(const RtcpPacketView& packet) {
  const auto bytes = packet.packet;
  if (auto feedback = parse_feedback(packet)) FUZZ_REQUIRE(inside(feedback->fci, bytes));
  if (auto nack = parse_nack(packet)) {
    FUZZ_REQUIRE(inside(nack->fci, bytes));
    std::array<uint16_t, 64> lost{};
    const size_t total = nack->lost_count();
    FUZZ_REQUIRE(nack->expand(lost) == std::min(lost.size(), total));
    FUZZ_REQUIRE(total >= nack->item_count() && total <= nack->item_count() * 17);
    size_t visited = 0;
    nack->for_each_lost([&](uint16_t) { ++visited; });
    FUZZ_REQUIRE(visited == total);
  }
  (void)parse_pli(packet);
  if (auto fir = parse_fir(packet)) {
    FUZZ_REQUIRE(inside(fir->fci, bytes));
    for (size_t i = 0; i < fir->entry_count(); ++i) (void)fir->entry(i);
  }
  if (auto remb = parse_remb(packet)) {
    FUZZ_REQUIRE(inside(remb->ssrc_bytes, bytes));
    for (size_t i = 0; i < remb->ssrc_count(); ++i) (void)remb->ssrc(i);
  }
  check_transport_cc(packet);
}

}  // namespace
}  // namespace partyline::rtp

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace partyline::rtp;
  using partyline::fuzz::inside;
  const std::span<const uint8_t> input(data, size);
  RtcpCompoundReader reader(input);
  RtcpPacketView packet;
  size_t packets = 0;
  size_t offset = 0;
  while (reader.next(packet)) {
    FUZZ_REQUIRE(packet.offset == offset && inside(packet.packet, input) && inside(packet.body, packet.packet));
    FUZZ_REQUIRE(packet.packet.size() >= kRtcpHeaderSize && packet.packet.size() % 4 == 0);
    offset += packet.packet.size();
    ++packets;
    check_reports(packet);
    check_feedback(packet);
  }
  auto validated = validate_rtcp_compound(input);
  if (reader.error().ok()) {
    FUZZ_REQUIRE(offset == size);
    FUZZ_REQUIRE(validated.ok() && *validated == packets);
  } else {
    FUZZ_REQUIRE(reader.error().offset <= size);
    FUZZ_REQUIRE(!validated.ok() && validated.error() == reader.error());
  }
  return 0;
}
