// SsrcDirectory: which negotiated m-line an incoming RTP packet belongs to.
// An offer with a=ssrc lines names the SSRCs; one without (rid-based
// simulcast, clients that omit them) leaves them to be learned from the
// first packet of each m-line's payload type, and an RTX SSRC from the RTX
// payload type once the m-line's media SSRC is known (RTX can only be undone
// onto a known stream). Every media handler finds its streams here.
//
// Pure and allocation-free per packet (a scan over the few m-lines).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace partyline::rtp {

class SsrcDirectory {
 public:
  struct Entry {
    std::vector<uint8_t> payload_types;  // the m-line's media payload types
    std::optional<uint8_t> rtx_payload_type;
    std::optional<uint32_t> ssrc;        // from the SDP, or learned
    std::optional<uint32_t> rtx_ssrc;
    // A simulcast layer (RFC 8852): its SSRCs are learned from packets that
    // carry this rid (RTX: as the repaired rid), never by payload type,
    // which every layer of the m-line shares.
    std::string rid = {};
  };
  struct Match {
    size_t index = 0;      // the entry, in the order added
    bool rtx = false;      // the packet is on the entry's RTX SSRC
    bool learned = false;  // this packet taught the entry its SSRC
  };

  // Returns the new entry's index.
  size_t add(Entry entry);
  // Finds the entry of a packet's SSRC, learning it when no entry knows it
  // yet: by the packet's rid or repaired rid (header extensions, empty when
  // absent) for a simulcast layer, else by payload type.
  std::optional<Match> match(uint32_t ssrc, uint8_t payload_type, std::string_view rid = {},
                             std::string_view repaired_rid = {});
  // Finds an entry by a known SSRC only (RTCP about what the peer sends).
  std::optional<Match> find(uint32_t ssrc) const;

  const Entry& operator[](size_t index) const { return entries_[index]; }
  size_t size() const { return entries_.size(); }

 private:
  std::vector<Entry> entries_;
};

}  // namespace partyline::rtp
