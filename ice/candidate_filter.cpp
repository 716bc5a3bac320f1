#include "ice/candidate_filter.hpp"

#include <nice/agent.h>

namespace partyline::ice {
namespace {

struct InetAddressDeleter {
  void operator()(GInetAddress* address) const { g_object_unref(address); }
};

}  // namespace

Result<CandidateFilter> CandidateFilter::create(const std::vector<std::string>& allowed_networks) {
  CandidateFilter filter;
  for (const std::string& network : allowed_networks) {
    GError* error = nullptr;
    GInetAddressMask* mask = g_inet_address_mask_new_from_string(network.c_str(), &error);
    if (mask == nullptr) {
      std::string reason = error != nullptr ? error->message : "invalid";
      g_clear_error(&error);
      return make_error(error_code::kBadRequest,
                        "ice.allowed_remote_networks: '" + network + "' is not a CIDR network (" +
                            reason + ")");
    }
    filter.networks_.emplace_back(mask, [](GInetAddressMask* m) { g_object_unref(m); });
  }
  return filter;
}

std::optional<std::string> CandidateFilter::rejection_reason(const NiceCandidate& candidate) const {
  if (candidate.transport != NICE_CANDIDATE_TRANSPORT_UDP) {
    return "TCP candidates are not supported (UDP only)";
  }
  if (candidate.component_id != 1) {
    return "component " + std::to_string(candidate.component_id) +
           " is not used (rtcp-mux is required)";
  }
  char text[NICE_ADDRESS_STRING_LEN] = {};
  nice_address_to_string(&candidate.addr, text);
  std::unique_ptr<GInetAddress, InetAddressDeleter> address(g_inet_address_new_from_string(text));
  if (!address) return "address '" + std::string(text) + "' is not an IP address";
  if (g_inet_address_get_family(address.get()) == G_SOCKET_FAMILY_IPV6 &&
      g_inet_address_get_is_loopback(address.get())) {
    return "IPv6 loopback candidates are not used";
  }
  if (networks_.empty()) return std::nullopt;
  for (const auto& network : networks_) {
    if (g_inet_address_mask_matches(network.get(), address.get())) return std::nullopt;
  }
  return "address " + std::string(text) + " is outside ice.allowed_remote_networks";
}

bool CandidateFilter::allows(const rtp::TransportAddress& address) const {
  const bool v4 = address.family == rtp::TransportAddress::Family::kIpv4;
  std::unique_ptr<GInetAddress, InetAddressDeleter> inet(
      g_inet_address_new_from_bytes(address.address.data(), v4 ? G_SOCKET_FAMILY_IPV4 : G_SOCKET_FAMILY_IPV6));
  if (!v4 && g_inet_address_get_is_loopback(inet.get())) return false;
  if (networks_.empty()) return true;
  for (const auto& network : networks_) {
    if (g_inet_address_mask_matches(network.get(), inet.get())) return true;
  }
  return false;
}

}  // namespace partyline::ice
