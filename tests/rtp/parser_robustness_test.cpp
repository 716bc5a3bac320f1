// Feeds every parser deterministic pseudo-random and mutated-valid buffers:
// nothing may crash (run this under -DPARTYLINE_SANITIZE=ON too), every span
// a parser reports must stay inside its input, and every count must agree
// with the bytes behind it. Seeded std::mt19937, so failures reproduce.
#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <random>
#include <vector>

#include "rtp/packet/packet_demux.hpp"
#include "rtp/rtcp/rtcp_feedback.hpp"
#include "rtp/rtcp/rtcp_packet.hpp"
#include "rtp/rtcp/rtcp_reports.hpp"
#include "rtp/packet/rtp_header_extensions.hpp"
#include "rtp/packet/rtp_packet.hpp"
#include "rtp/rtcp/transport_cc.hpp"

namespace partyline::rtp {
namespace {

using Bytes = std::vector<uint8_t>;

bool inside(std::span<const uint8_t> part, std::span<const uint8_t> whole) {
  const auto begin = reinterpret_cast<uintptr_t>(whole.data());
  const auto end = begin + whole.size();
  const auto part_begin = reinterpret_cast<uintptr_t>(part.data());
  if (part.empty()) return part.data() == nullptr || (part_begin >= begin && part_begin <= end);
  return part_begin >= begin && part_begin + part.size() <= end;
}

bool inside(std::string_view part, std::span<const uint8_t> whole) {
  return inside(std::span(reinterpret_cast<const uint8_t*>(part.data()), part.size()), whole);
}

// How often each parser accepted its input: proves the mutations reach deep
// into every parser instead of bouncing off the first check.
struct Accepted {
  size_t rtp = 0, extension_elements = 0, rewrites = 0, rtcp_packets = 0, sender_reports = 0,
         receiver_reports = 0, sdes_items = 0, byes = 0, nacks = 0, plis = 0, firs = 0, rembs = 0,
         transport_cc = 0;
};

class Checker {
 public:
  explicit Checker(std::mt19937& rng) : rng_(rng) {}
  const Accepted& accepted() const { return accepted_; }

  void run(std::span<const uint8_t> input) {
    (void)classify_packet(input);
    check_rtp(input);
    check_extensions(kOneByteExtensionProfile, input, input);
    check_extensions(kTwoByteExtensionProfile, input, input);
    check_rtcp(input);
  }

 private:
  void check_rtp(std::span<const uint8_t> input) {
    const auto view = parse_rtp_packet(input);
    if (!view) return;
    ++accepted_.rtp;
    EXPECT_TRUE(inside(view->csrc_bytes, input));
    EXPECT_TRUE(inside(view->extension_data, input));
    EXPECT_TRUE(inside(view->payload, input));
    EXPECT_EQ(view->csrc_bytes.size(), view->csrc_count * 4u);
    EXPECT_EQ(view->header_size + view->payload.size() + view->padding_size, input.size());
    if (view->has_extension) {
      check_extensions(view->extension_profile, view->extension_data, input);
      check_rewrite(input);
    }
    Bytes copy(input.begin(), input.end());
    EXPECT_TRUE(set_rtp_ssrc(copy, 1) && set_rtp_sequence_number(copy, 2) &&
                set_rtp_timestamp(copy, 3) && set_rtp_payload_type(copy, 4) &&
                set_rtp_marker(copy, true));
    EXPECT_TRUE(parse_rtp_packet(copy).ok());
  }

  void check_extensions(uint16_t profile, std::span<const uint8_t> data,
                        std::span<const uint8_t> input) {
    HeaderExtensionReader reader(profile, data);
    HeaderExtensionElement element;
    while (reader.next(element)) {
      ++accepted_.extension_elements;
      EXPECT_TRUE(inside(element.value, data));
    }
    if (const auto found = find_header_extension(profile, data, static_cast<uint8_t>(rng_()))) {
      EXPECT_TRUE(inside(*found, input));
    }
  }

  void check_rewrite(std::span<const uint8_t> input) {
    Bytes copy(input.begin(), input.end());
    ExtensionIdMap map{};
    for (auto& id : map) id = static_cast<uint8_t>(rng_() % 16);
    const auto error = rewrite_packet_extension_ids(copy, map);
    ASSERT_EQ(copy.size(), input.size());
    if (error == HeaderExtensionError::kNone) {
      ++accepted_.rewrites;
      const auto view = parse_rtp_packet(copy);
      ASSERT_TRUE(view.ok());
      EXPECT_EQ(validate_header_extensions(view->extension_profile, view->extension_data),
                HeaderExtensionError::kNone);
    } else {
      EXPECT_TRUE(std::equal(copy.begin(), copy.end(), input.begin()));  // untouched
    }
  }

  void check_rtcp(std::span<const uint8_t> input) {
    RtcpCompoundReader reader(input);
    RtcpPacketView packet;
    size_t total = 0;
    while (reader.next(packet)) {
      ++accepted_.rtcp_packets;
      EXPECT_TRUE(inside(packet.packet, input));
      EXPECT_TRUE(inside(packet.body, packet.packet));
      EXPECT_EQ(packet.offset, total);
      total += packet.packet.size();
      check_typed(packet);
    }
    if (!reader.error().ok()) {
      EXPECT_LE(reader.error().offset, input.size());
    } else {
      EXPECT_EQ(total, input.size());
    }
  }

  void check_typed(const RtcpPacketView& packet) {
    const auto body = packet.packet;
    if (const auto sr = parse_sender_report(packet)) {
      ++accepted_.sender_reports;
      EXPECT_TRUE(inside(sr->blocks.bytes(), body));
      EXPECT_TRUE(inside(sr->profile_extension, body));
      for (size_t i = 0; i < sr->blocks.size(); ++i) (void)sr->blocks[i];
    }
    if (const auto rr = parse_receiver_report(packet)) {
      ++accepted_.receiver_reports;
      EXPECT_TRUE(inside(rr->blocks.bytes(), body));
      EXPECT_EQ(rr->blocks.size(), packet.count);
    }
    SdesReader sdes(packet);
    SdesItemView item;
    while (sdes.next(item)) {
      ++accepted_.sdes_items;
      EXPECT_TRUE(inside(item.value, body));
    }
    if (const auto bye = parse_bye(packet)) {
      ++accepted_.byes;
      EXPECT_TRUE(inside(bye->ssrc_bytes, body));
      EXPECT_TRUE(inside(bye->reason, body));
      for (size_t i = 0; i < bye->ssrc_count(); ++i) (void)bye->ssrc(i);
    }
    if (const auto feedback = parse_feedback(packet)) {
      EXPECT_TRUE(inside(feedback->fci, body));
    }
    check_feedback(packet);
  }

  void check_feedback(const RtcpPacketView& packet) {
    const auto body = packet.packet;
    if (const auto nack = parse_nack(packet)) {
      ++accepted_.nacks;
      EXPECT_TRUE(inside(nack->fci, body));
      std::array<uint16_t, 64> lost{};
      const size_t written = nack->expand(lost);
      EXPECT_EQ(written, std::min(lost.size(), nack->lost_count()));
      EXPECT_GE(nack->lost_count(), nack->item_count());
    }
    if (parse_pli(packet)) ++accepted_.plis;
    if (const auto fir = parse_fir(packet)) {
      ++accepted_.firs;
      EXPECT_TRUE(inside(fir->fci, body));
      for (size_t i = 0; i < fir->entry_count(); ++i) (void)fir->entry(i);
    }
    if (const auto remb = parse_remb(packet)) {
      ++accepted_.rembs;
      EXPECT_TRUE(inside(remb->ssrc_bytes, body));
      for (size_t i = 0; i < remb->ssrc_count(); ++i) (void)remb->ssrc(i);
    }
    if (const auto twcc = parse_transport_cc(packet)) {
      ++accepted_.transport_cc;
      EXPECT_TRUE(inside(twcc->chunks, body));
      EXPECT_TRUE(inside(twcc->deltas, body));
      TransportCcReader reader(*twcc);
      TransportCcPacket status;
      size_t count = 0;
      size_t delta_bytes = 0;
      while (reader.next(status)) {
        ++count;
        if (status.received) delta_bytes += (status.delta_ticks >= 0 && status.delta_ticks <= 255) ? 1 : 2;
      }
      EXPECT_EQ(count, twcc->status_count);
      // Small-range large deltas are legal, so bytes read are at least the guess.
      EXPECT_LE(delta_bytes, twcc->deltas.size());
    }
  }

  std::mt19937& rng_;
  Accepted accepted_;
};

// Valid packets of every kind, to mutate.
std::vector<Bytes> make_seeds() {
  std::vector<Bytes> seeds;
  // RTP with CSRCs, a one-byte extension block and padding.
  {
    std::array<uint8_t, 16> ext_buffer{};
    HeaderExtensionBuilder builder(ExtensionForm::kOneByte, ext_buffer);
    const Bytes level = {0x85};
    const Bytes time = {1, 2, 3};
    (void)builder.add(1, level);
    (void)builder.add(3, time);
    const std::array<uint32_t, 2> csrcs = {7, 8};
    RtpHeaderSpec header;
    header.payload_type = 111;
    header.csrcs = csrcs;
    header.has_extension = true;
    header.extension_profile = builder.profile();
    header.extension_data = builder.data();
    header.padding_size = 4;
    const Bytes payload(20, 0xAB);
    Bytes out(128);
    out.resize(*serialize_rtp_packet(header, payload, out));
    seeds.push_back(out);
  }
  // RTP with a two-byte extension block.
  {
    std::array<uint8_t, 16> ext_buffer{};
    HeaderExtensionBuilder builder(ExtensionForm::kTwoByte, ext_buffer);
    const Bytes value = {9, 9, 9, 9, 9};
    (void)builder.add(200, value);
    (void)builder.add(2, {});
    RtpHeaderSpec header;
    header.has_extension = true;
    header.extension_profile = builder.profile();
    header.extension_data = builder.data();
    Bytes out(128);
    out.resize(*serialize_rtp_packet(header, Bytes(10, 1), out));
    seeds.push_back(out);
  }
  // One RTCP compound with every packet type.
  {
    Bytes buffer(4096);
    RtcpWriter writer(buffer);
    const std::array<ReportBlock, 2> blocks = {ReportBlock{1, 2, -3, 4, 5, 6, 7}, ReportBlock{8}};
    const SenderInfo info{1, 2, 3, 4};
    (void)write_report_compound(writer, 1, &info, blocks, "cname@example");
    (void)write_receiver_report(writer, 2, blocks);
    const std::array<uint32_t, 2> ssrcs = {3, 4};
    (void)write_bye(writer, ssrcs, "gone");
    const std::array<uint16_t, 6> lost = {1, 2, 5, 40, 65535, 3};
    (void)write_nack(writer, 1, 2, lost);
    (void)write_pli(writer, 1, 2);
    const std::array<FirEntry, 2> fir = {FirEntry{1, 2}, FirEntry{3, 4}};
    (void)write_fir(writer, 1, fir);
    (void)write_remb(writer, 1, 1500000, ssrcs);
    std::vector<TransportCcEntry> entries;
    for (int i = 0; i < 40; ++i) entries.push_back({i % 4 != 1, i % 9 == 0 ? -40 : i * 3});
    (void)write_transport_cc(writer, {1, 2, 65530, -7, 3}, entries);
    seeds.emplace_back(writer.written().begin(), writer.written().end());
  }
  // Each RTCP packet alone too, so mutations hit single-packet parsers often.
  RtcpCompoundReader reader(seeds.back());
  RtcpPacketView packet;
  std::vector<Bytes> singles;
  while (reader.next(packet)) singles.emplace_back(packet.packet.begin(), packet.packet.end());
  seeds.insert(seeds.end(), singles.begin(), singles.end());
  return seeds;
}

Bytes random_buffer(std::mt19937& rng) {
  Bytes buffer(rng() % 160);
  for (auto& byte : buffer) byte = static_cast<uint8_t>(rng());
  // Bias towards version 2 so parsers get past the first check.
  if (!buffer.empty() && rng() % 2) buffer[0] = static_cast<uint8_t>(0x80 | (buffer[0] & 0x3F));
  if (buffer.size() > 1 && rng() % 3 == 0) buffer[1] = static_cast<uint8_t>(200 + rng() % 7);
  return buffer;
}

Bytes mutate(Bytes buffer, std::mt19937& rng) {
  const unsigned mutations = 1 + rng() % 4;
  for (unsigned m = 0; m < mutations; ++m) {
    switch (rng() % 6) {
      case 0:  // flip a bit
        if (!buffer.empty()) buffer[rng() % buffer.size()] ^= static_cast<uint8_t>(1u << (rng() % 8));
        break;
      case 1:  // random byte
        if (!buffer.empty()) buffer[rng() % buffer.size()] = static_cast<uint8_t>(rng());
        break;
      case 2:  // truncate
        buffer.resize(buffer.empty() ? 0 : rng() % buffer.size());
        break;
      case 3:  // append garbage
        for (unsigned i = rng() % 8; i > 0; --i) buffer.push_back(static_cast<uint8_t>(rng()));
        break;
      case 4:  // extreme value in a 16-bit field (length fields, counts)
        if (buffer.size() >= 2) {
          const size_t at = rng() % (buffer.size() - 1);
          buffer[at] = rng() % 2 ? 0xFF : 0x00;
          buffer[at + 1] = rng() % 2 ? 0xFF : 0x00;
        }
        break;
      default:  // small change to a count byte
        if (!buffer.empty()) buffer[rng() % std::min<size_t>(buffer.size(), 24)] += 1;
        break;
    }
  }
  return buffer;
}

TEST(ParserRobustness, RandomAndMutatedBuffers) {
  std::mt19937 rng(20240607);
  Checker checker(rng);
  const std::vector<Bytes> seeds = make_seeds();
  for (const Bytes& seed : seeds) {
    checker.run(seed);
    ASSERT_FALSE(::testing::Test::HasFailure()) << "a valid seed failed";
  }
  constexpr int kIterations = 200000;
  for (int i = 0; i < kIterations; ++i) {
    // Copy into an exactly sized heap buffer so ASan flags any overread.
    const Bytes input = (i % 2 == 0) ? random_buffer(rng) : mutate(seeds[rng() % seeds.size()], rng);
    checker.run(input);
    if (::testing::Test::HasFailure()) {
      ADD_FAILURE() << "first failure at iteration " << i << " (size " << input.size() << ")";
      return;
    }
  }
  const Accepted& a = checker.accepted();
  for (const size_t count : {a.rtp, a.extension_elements, a.rewrites, a.rtcp_packets,
                             a.sender_reports, a.receiver_reports, a.sdes_items, a.byes, a.nacks,
                             a.plis, a.firs, a.rembs, a.transport_cc}) {
    EXPECT_GT(count, 500u);
  }
  std::printf("accepted: rtp %zu, ext elements %zu, rewrites %zu, rtcp packets %zu, sr %zu, rr %zu, "
              "sdes items %zu, bye %zu, nack %zu, pli %zu, fir %zu, remb %zu, twcc %zu\n",
              a.rtp, a.extension_elements, a.rewrites, a.rtcp_packets, a.sender_reports,
              a.receiver_reports, a.sdes_items, a.byes, a.nacks, a.plis, a.firs, a.rembs,
              a.transport_cc);
}

TEST(ParserRobustness, SerializedRtpAlwaysParsesBack) {
  std::mt19937 rng(7);
  for (int i = 0; i < 10000; ++i) {
    std::vector<uint32_t> csrcs(rng() % 16);
    for (auto& csrc : csrcs) csrc = rng();
    Bytes extension((rng() % 5) * 4);
    for (auto& byte : extension) byte = static_cast<uint8_t>(rng());
    Bytes payload(rng() % 64);
    for (auto& byte : payload) byte = static_cast<uint8_t>(rng());
    RtpHeaderSpec header;
    header.marker = rng() % 2;
    header.payload_type = static_cast<uint8_t>(rng() % 128);
    header.sequence_number = static_cast<uint16_t>(rng());
    header.timestamp = rng();
    header.ssrc = rng();
    header.csrcs = csrcs;
    header.has_extension = rng() % 2;
    header.extension_profile = static_cast<uint16_t>(rng());
    header.extension_data = extension;
    header.padding_size = static_cast<uint8_t>(rng() % 3 == 0 ? 1 + rng() % 255 : 0);
    Bytes out(2048);
    const auto size = serialize_rtp_packet(header, payload, out);
    ASSERT_TRUE(size.ok());
    out.resize(*size);
    const auto view = parse_rtp_packet(out);
    ASSERT_TRUE(view.ok()) << to_string(view.error()) << " at iteration " << i;
    ASSERT_EQ(view->marker, header.marker);
    ASSERT_EQ(view->payload_type, header.payload_type);
    ASSERT_EQ(view->sequence_number, header.sequence_number);
    ASSERT_EQ(view->timestamp, header.timestamp);
    ASSERT_EQ(view->ssrc, header.ssrc);
    ASSERT_EQ(view->csrc_count, csrcs.size());
    for (size_t c = 0; c < csrcs.size(); ++c) ASSERT_EQ(view->csrc(c), csrcs[c]);
    ASSERT_EQ(view->has_extension, header.has_extension);
    if (header.has_extension) {
      ASSERT_EQ(view->extension_profile, header.extension_profile);
      ASSERT_TRUE(std::equal(extension.begin(), extension.end(), view->extension_data.begin(),
                             view->extension_data.end()));
    }
    ASSERT_EQ(view->padding_size, header.padding_size);
    ASSERT_TRUE(std::equal(payload.begin(), payload.end(), view->payload.begin(), view->payload.end()));
  }
}

}  // namespace
}  // namespace partyline::rtp
