// IceLiteResponder: the server's side of ICE for one participant when many
// participants share one UDP port (issue 18's single-port mode). The server
// is an ICE-lite agent (RFC 8445 sections 2.5 and 7.3): it gathers one host
// candidate, sends no checks of its own, and answers the participant's
// checks, which carry the server's fragment and password from its
// description. The participant's full agent is always the controlling one
// and nominates the pair (USE-CANDIDATE).
//
//   - a check is answered when its USERNAME is "<local ufrag>:<remote ufrag>"
//     and its MESSAGE-INTEGRITY is keyed with the local password; the
//     remote fragment is not compared before set_remote_ufrag (a check can
//     overtake the description that names it). Its FINGERPRINT is verified
//     by the parser when present;
//   - the first address whose check is answered becomes the selected one
//     (media can start before the nomination, as browsers send on the first
//     writable pair); a nominating check (USE-CANDIDATE) selects its address,
//     so a participant whose address changes (a new network, an ICE restart's
//     first check) moves with its nomination;
//   - refused: a check without USERNAME or MESSAGE-INTEGRITY (400), with the
//     wrong credentials (401, answered without integrity), with an unknown
//     comprehension-required attribute (420), or from an agent that also
//     thinks itself controlled (487: as an ICE-lite agent this side always
//     is); another method than Binding (400);
//   - ignored (no answer): indications (keepalives) and responses;
//   - consent (RFC 7675): the selected address keeps it while its checks
//     keep coming, and loses it consent_timeout after its last answered one.
//
// Sans-I/O: the caller parses the datagram (parse_stun_message), passes the
// time and a buffer for the answer, and sends what was written to `from`.
// No allocation after construction.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "rtp/stun/stun_message.hpp"

namespace partyline::rtp {

class IceLiteResponder {
 public:
  static constexpr int64_t kDefaultConsentTimeoutUs = 30'000'000;  // RFC 7675 section 5.1
  // Room enough for any answer this responder writes.
  static constexpr size_t kMaxResponseSize = 160;
  // Addresses remembered as checked (the most recent ones).
  static constexpr size_t kMaxCheckedAddresses = 8;

  IceLiteResponder(std::string local_ufrag, std::string local_pwd,
                   int64_t consent_timeout_us = kDefaultConsentTimeoutUs);

  // The participant's fragment (its description's a=ice-ufrag). Changing it
  // (an ICE restart) forgets the addresses checked under the old one but
  // keeps the selected address until another is checked.
  void set_remote_ufrag(std::string_view ufrag);
  void set_local_credentials(std::string ufrag, std::string pwd);
  const std::string& local_ufrag() const { return local_ufrag_; }

  enum class Verdict : uint8_t { kAnswered, kRefused, kIgnored };
  struct Reply {
    Verdict verdict = Verdict::kIgnored;
    size_t response_size = 0;  // bytes written to `response`; 0: send nothing
    uint16_t error_code = 0;   // with kRefused: 400, 401, 420 or 487
    bool selected_changed = false;
  };
  // `response` needs kMaxResponseSize bytes; a smaller one gets no answer.
  Reply on_message(const StunMessage& message, const TransportAddress& from, int64_t now_us,
                   std::span<uint8_t> response);

  const std::optional<TransportAddress>& selected() const { return selected_; }
  bool nominated() const { return nominated_; }
  // True for an address a check was answered from (since the last ICE restart).
  bool is_checked(const TransportAddress& address) const;
  // When consent for the selected address lapses unless a check comes;
  // nullopt before an address is selected.
  std::optional<int64_t> consent_deadline_us() const;
  bool consent_expired(int64_t now_us) const;

  uint64_t checks_answered() const { return answered_; }
  uint64_t checks_refused() const { return refused_; }

 private:
  Reply refuse(const StunMessage& message, uint16_t code, std::string_view reason, bool with_integrity,
               std::span<uint8_t> response);
  void remember_checked(const TransportAddress& address);

  std::string local_ufrag_;
  std::string local_pwd_;
  std::string remote_ufrag_;  // empty: not known yet
  int64_t consent_timeout_us_;
  std::optional<TransportAddress> selected_;
  bool nominated_ = false;
  int64_t last_selected_check_us_ = 0;
  std::array<TransportAddress, kMaxCheckedAddresses> checked_{};
  size_t checked_count_ = 0;
  size_t checked_next_ = 0;
  uint64_t answered_ = 0;
  uint64_t refused_ = 0;
};

}  // namespace partyline::rtp
