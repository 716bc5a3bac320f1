// parse_rtp_packet() and the RFC 8285 header extension readers, rewriters and
// setters on arbitrary bytes. Checks: every span lies inside the input, the
// sizes add up, a parsed header serializes back to the same bytes, the
// extension reader and validator agree, and a failed id rewrite leaves the
// packet untouched.
#include <algorithm>
#include <array>
#include <cstdint>
#include <vector>

#include "rtp/packet/rtp_header_extensions.hpp"
#include "rtp/packet/rtp_packet.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace partyline::rtp {
namespace {

using fuzz::inside;

// Walks a block; returns its error, checking every element on the way.
HeaderExtensionError read_all(uint16_t profile, std::span<const uint8_t> data) {
  HeaderExtensionReader reader(profile, data);
  HeaderExtensionElement element;
  size_t elements = 0;
  while (reader.next(element)) {
    FUZZ_REQUIRE(inside(element.value, data));
    FUZZ_REQUIRE(element.id != 0);
    if (extension_form(profile) == ExtensionForm::kOneByte) {
      FUZZ_REQUIRE(element.id < 15 && !element.value.empty() && element.value.size() <= 16);
    }
    FUZZ_REQUIRE(++elements <= data.size());
    if (auto found = find_header_extension(profile, data, element.id)) FUZZ_REQUIRE(inside(*found, data));
  }
  FUZZ_REQUIRE(reader.error() == validate_header_extensions(profile, data));
  return reader.error();
}

void check_reserialize(const RtpPacketView& view, std::span<const uint8_t> input) {
  std::vector<uint32_t> csrcs;
  for (size_t i = 0; i < view.csrc_count; ++i) csrcs.push_back(view.csrc(i));
  RtpHeaderSpec header;
  header.marker = view.marker;
  header.payload_type = view.payload_type;
  header.sequence_number = view.sequence_number;
  header.timestamp = view.timestamp;
  header.ssrc = view.ssrc;
  header.csrcs = csrcs;
  header.has_extension = view.has_extension;
  header.extension_profile = view.extension_profile;
  header.extension_data = view.extension_data;
  header.padding_size = view.padding_size;
  std::vector<uint8_t> out(input.size());
  auto written = serialize_rtp_packet(header, view.payload, out);
  FUZZ_REQUIRE(written.ok() && *written == input.size());
  // Padding bytes before the count byte are not part of the view: compare
  // everything else.
  const size_t unpadded = input.size() - view.padding_size;
  FUZZ_REQUIRE(std::equal(out.begin(), out.begin() + unpadded, input.begin()));
  FUZZ_REQUIRE(out.back() == input.back());
}

void check_rewrite(std::span<const uint8_t> input, const ExtensionIdMap& map) {
  std::vector<uint8_t> copy(input.begin(), input.end());
  const HeaderExtensionError error = rewrite_packet_extension_ids(copy, map);
  if (error != HeaderExtensionError::kNone) {
    FUZZ_REQUIRE(std::equal(copy.begin(), copy.end(), input.begin()));
    return;
  }
  auto view = parse_rtp_packet(copy);
  FUZZ_REQUIRE(view.ok());
  FUZZ_REQUIRE(read_all(view->extension_profile, view->extension_data) == HeaderExtensionError::kNone);
}

void check_setters(std::span<const uint8_t> input) {
  std::vector<uint8_t> copy(input.begin(), input.end());
  FUZZ_REQUIRE(set_rtp_ssrc(copy, 0x01020304) && set_rtp_sequence_number(copy, 65535) &&
               set_rtp_timestamp(copy, 7) && set_rtp_payload_type(copy, 127) && set_rtp_marker(copy, true));
  auto view = parse_rtp_packet(copy);
  FUZZ_REQUIRE(view.ok() && view->ssrc == 0x01020304 && view->sequence_number == 65535 && view->timestamp == 7 &&
               view->payload_type == 127 && view->marker);
}

}  // namespace
}  // namespace partyline::rtp

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace partyline::rtp;
  using partyline::fuzz::inside;
  const std::span<const uint8_t> input(data, size);

  // The first bytes also serve as a bare extension block in both forms, so
  // the element parsers see inputs that no RTP header constrains.
  (void)read_all(kOneByteExtensionProfile, input);
  (void)read_all(kTwoByteExtensionProfile, input);

  auto view = parse_rtp_packet(input);
  if (!view) return 0;
  FUZZ_REQUIRE(view->version == 2);
  FUZZ_REQUIRE(inside(view->csrc_bytes, input) && inside(view->extension_data, input) &&
               inside(view->payload, input) && inside(view->packet, input));
  FUZZ_REQUIRE(view->csrc_bytes.size() == view->csrc_count * 4u);
  FUZZ_REQUIRE(view->header_size + view->payload.size() + view->padding_size == size);
  FUZZ_REQUIRE(view->extension_data.size() % 4 == 0);
  FUZZ_REQUIRE(view->has_extension || view->extension_data.empty());
  FUZZ_REQUIRE(view->has_padding == (view->padding_size != 0));
  check_reserialize(*view, input);
  check_setters(input);
  if (view->has_extension) {
    (void)read_all(view->extension_profile, view->extension_data);
    ExtensionIdMap map{};
    for (size_t id = 0; id < map.size(); ++id) map[id] = static_cast<uint8_t>((id * 7 + size) % 15);
    check_rewrite(input, map);
  }
  return 0;
}
