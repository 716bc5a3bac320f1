#include "rtp/forward/ssrc_directory.hpp"

#include <algorithm>

namespace partyline::rtp {

size_t SsrcDirectory::add(Entry entry) {
  entries_.push_back(std::move(entry));
  return entries_.size() - 1;
}

std::optional<SsrcDirectory::Match> SsrcDirectory::find(uint32_t ssrc) const {
  for (size_t i = 0; i < entries_.size(); ++i) {
    if (entries_[i].ssrc == ssrc) return Match{i, false, false};
    if (entries_[i].rtx_ssrc == ssrc) return Match{i, true, false};
  }
  return std::nullopt;
}

std::optional<SsrcDirectory::Match> SsrcDirectory::match(uint32_t ssrc, uint8_t payload_type, std::string_view rid,
                                                         std::string_view repaired_rid) {
  if (auto known = find(ssrc)) return known;
  for (size_t i = 0; i < entries_.size(); ++i) {
    Entry& entry = entries_[i];
    if (entry.rid.empty()) continue;
    if (!rid.empty() && entry.rid == rid && !entry.ssrc) {
      entry.ssrc = ssrc;
      return Match{i, false, true};
    }
    if (!repaired_rid.empty() && entry.rid == repaired_rid && entry.ssrc && !entry.rtx_ssrc &&
        entry.rtx_payload_type == payload_type) {
      entry.rtx_ssrc = ssrc;
      return Match{i, true, true};
    }
  }
  for (size_t i = 0; i < entries_.size(); ++i) {
    Entry& entry = entries_[i];
    if (!entry.rid.empty()) continue;
    if (entry.ssrc && !entry.rtx_ssrc && entry.rtx_payload_type == payload_type) {
      entry.rtx_ssrc = ssrc;
      return Match{i, true, true};
    }
    if (!entry.ssrc && std::find(entry.payload_types.begin(), entry.payload_types.end(), payload_type) !=
                           entry.payload_types.end()) {
      entry.ssrc = ssrc;
      return Match{i, false, true};
    }
  }
  return std::nullopt;
}

}  // namespace partyline::rtp
