#include "rtp/stun/ice_lite_responder.hpp"

#include <algorithm>
#include <utility>

namespace partyline::rtp {

IceLiteResponder::IceLiteResponder(std::string local_ufrag, std::string local_pwd, int64_t consent_timeout_us)
    : local_ufrag_(std::move(local_ufrag)), local_pwd_(std::move(local_pwd)),
      consent_timeout_us_(consent_timeout_us) {}

void IceLiteResponder::set_remote_ufrag(std::string_view ufrag) {
  if (ufrag == remote_ufrag_) return;
  if (!remote_ufrag_.empty()) {
    checked_count_ = 0;
    checked_next_ = 0;
  }
  remote_ufrag_.assign(ufrag);
}

void IceLiteResponder::set_local_credentials(std::string ufrag, std::string pwd) {
  local_ufrag_ = std::move(ufrag);
  local_pwd_ = std::move(pwd);
}

IceLiteResponder::Reply IceLiteResponder::refuse(const StunMessage& message, uint16_t code,
                                                 std::string_view reason, bool with_integrity,
                                                 std::span<uint8_t> response) {
  ++refused_;
  Reply reply{Verdict::kRefused, 0, code, false};
  if (response.size() < kMaxResponseSize) return reply;
  StunWriter writer(response, message.method, StunClass::kError, message.transaction_id);
  writer.add_error_code(code, reason);
  if (code == 420 && message.unknown_required) {
    const uint16_t unknown[] = {*message.unknown_required};
    writer.add_unknown_attributes(unknown);
  }
  if (with_integrity) writer.add_message_integrity(local_pwd_);
  writer.add_fingerprint();
  reply.response_size = writer.size();
  return reply;
}

IceLiteResponder::Reply IceLiteResponder::on_message(const StunMessage& message, const TransportAddress& from,
                                                     int64_t now_us, std::span<uint8_t> response) {
  if (message.message_class != StunClass::kRequest) return {};
  if (message.method != kStunBindingMethod) return refuse(message, 400, "Bad Request: not a Binding", false, response);
  if (!message.username || !message.has_integrity()) {
    return refuse(message, 400, "Bad Request: USERNAME and MESSAGE-INTEGRITY required", false, response);
  }
  const auto username = split_ice_username(*message.username);
  if (!username || username->receiver != local_ufrag_ ||
      (!remote_ufrag_.empty() && username->sender != remote_ufrag_) ||
      !stun_integrity_matches(message, local_pwd_)) {
    return refuse(message, 401, "Unauthorized", false, response);
  }
  if (message.unknown_required) return refuse(message, 420, "Unknown Attribute", true, response);
  // This side is controlled (lite); a peer that is controlled too must switch.
  if (message.ice_controlled) return refuse(message, 487, "Role Conflict", true, response);

  Reply reply{Verdict::kAnswered, 0, 0, false};
  ++answered_;
  remember_checked(from);
  if (!selected_ || (message.use_candidate && *selected_ != from)) {
    selected_ = from;
    reply.selected_changed = true;
  }
  if (message.use_candidate && *selected_ == from) nominated_ = true;
  if (*selected_ == from) last_selected_check_us_ = now_us;

  if (response.size() >= kMaxResponseSize) {
    StunWriter writer(response, kStunBindingMethod, StunClass::kSuccess, message.transaction_id);
    writer.add_xor_mapped_address(from);
    writer.add_message_integrity(local_pwd_);
    writer.add_fingerprint();
    reply.response_size = writer.size();
  }
  return reply;
}

void IceLiteResponder::remember_checked(const TransportAddress& address) {
  if (is_checked(address)) return;
  checked_[checked_next_] = address;
  checked_next_ = (checked_next_ + 1) % kMaxCheckedAddresses;
  checked_count_ = std::min(checked_count_ + 1, kMaxCheckedAddresses);
}

bool IceLiteResponder::is_checked(const TransportAddress& address) const {
  return std::find(checked_.begin(), checked_.begin() + checked_count_, address) != checked_.begin() + checked_count_;
}

std::optional<int64_t> IceLiteResponder::consent_deadline_us() const {
  if (!selected_) return std::nullopt;
  return last_selected_check_us_ + consent_timeout_us_;
}

bool IceLiteResponder::consent_expired(int64_t now_us) const {
  const auto deadline = consent_deadline_us();
  return deadline && now_us >= *deadline;
}

}  // namespace partyline::rtp
