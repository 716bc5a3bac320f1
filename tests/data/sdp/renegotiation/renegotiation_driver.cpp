// The server side of the real-client renegotiation check (run_checks.sh):
// answers a client's first offer as the SFU does, then writes update offers
// for a changing set of publishers and validates the client's answers, all
// with partyline_rtp's own functions. One request per command on stdin:
//   OFFER\n<sdp lines>\n.\n  -> ANSWER\n<sdp lines>\n.\n
//   UPDATE b,c\n             -> OFFER\n<sdp lines>\n.\n (audio + video of each)
//   APPLY\n<sdp lines>\n.\n  -> OK <slots>\n
// and ERROR <code> <message>\n when a step fails. Lines go out with \n only,
// so each reader's line splitting sees the SDP lines unchanged.
#include <cstdint>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "rtp/sdp/sdp.hpp"
#include "rtp/sdp/sdp_answer.hpp"
#include "rtp/sdp/sdp_offer.hpp"

namespace {

using namespace partyline;
using namespace partyline::rtp;

// Lines up to a line holding only ".", joined with CRLF as SDP wants.
std::optional<std::string> read_sdp() {
  std::string sdp;
  std::string line;
  while (std::getline(std::cin, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line == ".") return sdp;
    sdp += line + "\r\n";
  }
  return std::nullopt;  // stdin ended inside an SDP
}

void print_sdp(const char* head, const std::string& sdp) {
  std::string out = std::string(head) + "\n";
  for (char c : sdp) {
    if (c != '\r') out += c;
  }
  if (!out.ends_with('\n')) out += '\n';
  std::cout << out << ".\n" << std::flush;
}

void print_error(const Error& error) {
  std::cout << "ERROR " << error.code << ' ' << error.message << '\n' << std::flush;
}

// "mid:kind:P|S:track" per m-line ("-" when nothing is sent, "R" when
// rejected), so the checker's log shows which slot each stream took.
std::string summary(const std::vector<MediaSlot>& slots) {
  std::string out;
  for (const MediaSlot& slot : slots) {
    if (!out.empty()) out += ' ';
    out += slot.mid + ':' + std::string(to_string(slot.kind)) + ':' +
           (slot.origin == MediaOrigin::kServer ? 'S' : 'P') + ':' +
           (slot.rejected ? std::string("R") : slot.stream ? slot.stream->track_id : std::string("-"));
  }
  return out;
}

class Driver {
 public:
  void offer() {
    auto text = read_sdp();
    if (!text) return print_error(make_error(error_code::kBadRequest, "stdin ended inside the offer"));
    auto offer = parse_sdp(*text);
    if (!offer) return print_error(offer.error());
    AnswerOptions options;
    options.ice_ufrag = "pLy1";
    options.ice_pwd = "partylinepartylinepass";
    options.fingerprint = Fingerprint{"sha-256",
                                      "AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:"
                                      "AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99"};
    options.cname = "partyline-cname";
    options.stream_id = "partyline-stream";
    options.send_media = false;  // as the SFU answers: the participant's m-lines only publish
    // Nothing listens there (the check is about SDP only), but a real
    // answer carries a candidate, and the client must accept it.
    options.candidates = {"candidate:1 1 udp 2130706431 127.0.0.1 40000 typ host"};
    options.candidates_complete = true;
    uint32_t next_ssrc = 0x10000001;
    options.generate_ssrc = [&next_ssrc] { return next_ssrc++; };
    auto answer = build_answer(*offer, options);
    if (!answer) return print_error(answer.error());
    auto session = start_session(*offer, *answer);
    if (!session) return print_error(session.error());
    session_ = std::move(session.value());
    pending_.reset();
    print_sdp("ANSWER", answer->sdp);
  }

  void update(const std::string& publishers) {
    if (!session_) return print_error(make_error(error_code::kConflict, "UPDATE before OFFER"));
    std::vector<OutgoingStream> streams;
    size_t start = 0;
    while (start < publishers.size()) {
      size_t comma = publishers.find(',', start);
      if (comma == std::string::npos) comma = publishers.size();
      const std::string name = publishers.substr(start, comma - start);
      start = comma + 1;
      if (name.empty()) continue;
      streams.push_back(stream(MediaKind::kAudio, name));
      streams.push_back(stream(MediaKind::kVideo, name));
    }
    auto offer = build_update_offer(*session_, streams);
    if (!offer) return print_error(offer.error());
    pending_ = std::move(offer.value());
    print_sdp("OFFER", pending_->sdp);
  }

  void apply() {
    auto text = read_sdp();
    if (!text) return print_error(make_error(error_code::kBadRequest, "stdin ended inside the answer"));
    if (!session_ || !pending_) return print_error(make_error(error_code::kConflict, "APPLY without an update offer"));
    auto answer = parse_sdp(*text);
    if (!answer) return print_error(answer.error());
    auto next = apply_update_answer(*session_, *pending_, *answer);
    if (!next) return print_error(next.error());
    session_ = std::move(next.value());
    pending_.reset();
    std::cout << "OK " << summary(session_->slots) << '\n' << std::flush;
  }

 private:
  // A publisher's stream keeps its SSRCs across offers, as the SFU keeps
  // them for as long as it forwards the stream.
  OutgoingStream stream(MediaKind kind, const std::string& publisher) {
    const std::string track = publisher + (kind == MediaKind::kAudio ? "-audio" : "-video");
    auto [it, added] = ssrcs_.try_emplace(track, 0x20000000u + 2u * static_cast<uint32_t>(ssrcs_.size()));
    OutgoingStream out{kind, publisher, track, it->second, std::nullopt, publisher + "-cname"};
    if (kind == MediaKind::kVideo) out.rtx_ssrc = it->second + 1;
    return out;
  }

  std::optional<NegotiatedSession> session_;
  std::optional<UpdateOffer> pending_;
  std::map<std::string, uint32_t> ssrcs_;
};

}  // namespace

int main() {
  Driver driver;
  std::string line;
  while (std::getline(std::cin, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line == "OFFER") {
      driver.offer();
    } else if (line == "UPDATE" || line.starts_with("UPDATE ")) {
      driver.update(line.size() > 7 ? line.substr(7) : std::string());
    } else if (line == "APPLY") {
      driver.apply();
    } else {
      print_error(make_error(error_code::kBadRequest, "unknown command: " + line));
    }
  }
  return 0;
}
