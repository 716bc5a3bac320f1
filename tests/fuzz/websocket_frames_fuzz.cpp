// What the server does with the bytes a client sends after the upgrade: a
// wslay context made by make_server_wslay_context (the server's own
// configuration and message limit) reads them, arriving in pieces, the way
// WebSocketConnection::on_io drives it: receive until the piece is used up,
// then send what wslay queued; a failed receive ends the connection without
// sending (finish()); the end of the input is the peer closing TCP.
//
// Input: byte 0 picks the limit (bit 0: the default 65536 or the smallest a
// config allows, 1024) and the size of the pieces (bits 1-3); the rest is
// the client's byte stream.
//
// Checks, against a model of RFC 6455 section 5 written here (the frame
// rules, not wslay's code): the messages handed to the server are exactly
// the complete, valid ones before the first error, text within the limit and
// valid UTF-8; each ping is answered by a pong with its payload (those
// still queued when the connection ends may be lost); a framing
// error wslay's event layer sees (RSV bits, an unmasked frame, an unknown
// opcode, a continuation out of place) closes with 1002, a message over the
// limit with 1009, invalid UTF-8 in a text message with 1007, a close with a
// code RFC 6455 7.4 forbids with 1002; a valid close is echoed. What wslay's
// frame layer refuses (a control frame over 125 bytes or fragmented, a
// non-minimal or 64-bit-overflowing length) fails the connection without a
// close frame, as RFC 6455 7.1.7 allows: nothing is delivered either way.
// wslay checks the UTF-8 of a close reason as it arrives, but from byte 2 of
// each chunk it reads, so a reason split across reads may be judged either
// way: once a close frame's reason has begun, a 1007 close is accepted in
// place of what the model expects, and what the model expects in place of
// 1007, as long as the messages before the close were handed over.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "signaling/websocket_connection.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace partyline::signaling {
namespace {

constexpr size_t kLimits[] = {65536, 1024};
constexpr size_t kPieceSizes[] = {1, 2, 3, 7, 64, 1000, 4096, SIZE_MAX};

constexpr uint8_t kContinuation = 0x0, kText = 0x1, kBinary = 0x2, kClose = 0x8, kPing = 0x9, kPong = 0xA;

struct Message {
  uint8_t opcode;
  std::string payload;
  bool operator==(const Message&) const = default;
};

// Incremental UTF-8 check (RFC 3629 section 4): rejects at the first byte
// no valid sequence can continue with (overlongs, surrogates, > U+10FFFF).
class Utf8 {
 public:
  bool feed(uint8_t byte) {
    if (needed_ == 0) {
      low_ = 0x80;
      high_ = 0xBF;
      if (byte < 0x80) return true;
      if (byte >= 0xC2 && byte <= 0xDF) {
        needed_ = 1;
      } else if (byte >= 0xE0 && byte <= 0xEF) {
        needed_ = 2;
        if (byte == 0xE0) low_ = 0xA0;  // no overlong form
        if (byte == 0xED) high_ = 0x9F;  // no surrogate
      } else if (byte >= 0xF0 && byte <= 0xF4) {
        needed_ = 3;
        if (byte == 0xF0) low_ = 0x90;  // no overlong form
        if (byte == 0xF4) high_ = 0x8F;  // nothing over U+10FFFF
      } else {
        return false;
      }
      return true;
    }
    if (byte < low_ || byte > high_) return false;
    low_ = 0x80;
    high_ = 0xBF;
    --needed_;
    return true;
  }
  bool complete() const { return needed_ == 0; }

 private:
  int needed_ = 0;
  uint8_t low_ = 0x80, high_ = 0xBF;
};

// True unless `text` has a byte no UTF-8 sequence continues with (it may
// end inside a sequence).
bool utf8_so_far(std::string_view text) {
  Utf8 utf8;
  for (char c : text) {
    if (!utf8.feed(static_cast<uint8_t>(c))) return false;
  }
  return true;
}

bool valid_utf8(std::string_view text) {
  Utf8 utf8;
  for (char c : text) {
    if (!utf8.feed(static_cast<uint8_t>(c))) return false;
  }
  return utf8.complete();
}

// RFC 6455 section 7.4: the codes an endpoint may send in a close frame.
bool valid_close_code(uint16_t code) {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1011) || (code >= 3000 && code <= 4999);
}

// What the server must do with the whole stream.
struct Expected {
  enum class End { kOpen, kFailed, kClosed } end = End::kOpen;
  std::vector<Message> messages;
  std::vector<std::string> pongs;
  uint16_t close_code = 0;  // kClosed: the code sent (0: a close frame without one)
  std::string close_reason;  // the echoed reason
  bool close_may_be_1007 = false;  // a client's close frame with a reason began (see the top)
  size_t messages_before_close = 0;
  uint16_t close_code_unless_1007 = 0;  // if the reason is not judged: echo or 1002
};

uint64_t read_big_endian(const uint8_t* bytes, size_t count) {
  uint64_t value = 0;
  for (size_t i = 0; i < count; ++i) value = (value << 8) | bytes[i];
  return value;
}

Expected failed(Expected expected) {
  expected.end = Expected::End::kFailed;
  return expected;
}

Expected closed(Expected expected, uint16_t code) {
  expected.end = Expected::End::kClosed;
  expected.close_code = code;
  return expected;
}

// The client's close frame (complete, payload unmasked).
Expected on_close_frame(Expected expected, const std::string& payload) {
  if (payload.size() >= 2) {
    const auto code = static_cast<uint16_t>(read_big_endian(reinterpret_cast<const uint8_t*>(payload.data()), 2));
    if (!valid_close_code(code)) return closed(std::move(expected), 1002);
    if (!valid_utf8(std::string_view(payload).substr(2))) return closed(std::move(expected), 1007);
    expected.close_reason = payload.substr(2);
    expected.messages.push_back({kClose, payload});
    return closed(std::move(expected), code);
  }
  // RFC 6455 5.5.1 allows no 1-byte body; wslay answers it as a close
  // without a code. The connection ends either way.
  expected.messages.push_back({kClose, payload});
  return closed(std::move(expected), 0);
}

// A frame header (RFC 6455 section 5.2), as far as the input has it.
struct FrameHeader {
  bool fin = false;
  uint8_t rsv = 0;
  uint8_t opcode = 0;
  bool masked = false;
  uint64_t length = 0;
  uint8_t key[4] = {0, 0, 0, 0};
  size_t size = 0;  // bytes, with the extended length and the masking key
};

enum class HeaderRead { kComplete, kCutShort, kRefused };

// kRefused: what wslay's frame layer refuses (a control frame over 125 bytes
// or fragmented; an extended length that is not minimal or sets bit 63).
HeaderRead read_header(const uint8_t* frame, size_t available, FrameHeader& header) {
  if (available < 2) return HeaderRead::kCutShort;
  header.fin = (frame[0] & 0x80) != 0;
  header.rsv = frame[0] & 0x70;
  header.opcode = frame[0] & 0x0F;
  header.masked = (frame[1] & 0x80) != 0;
  const uint8_t length7 = frame[1] & 0x7F;
  if ((header.opcode & 0x8) != 0 && (length7 > 125 || !header.fin)) return HeaderRead::kRefused;
  header.size = 2;
  header.length = length7;
  if (length7 >= 126) {
    const size_t extended = length7 == 126 ? 2 : 8;
    if (available < header.size + extended) return HeaderRead::kCutShort;
    header.length = read_big_endian(frame + header.size, extended);
    header.size += extended;
    const bool minimal = extended == 2 ? header.length >= 126 : header.length >= 65536;
    if (!minimal || (header.length >> 63) != 0) return HeaderRead::kRefused;
  }
  if (header.masked) {
    if (available < header.size + 4) return HeaderRead::kCutShort;
    std::memcpy(header.key, frame + header.size, 4);
    header.size += 4;
  }
  return HeaderRead::kComplete;
}

// RFC 6455 section 5.4: inside a fragmented message only continuations and
// control frames; outside it no continuation. 3-7 and B-F are reserved.
bool opcode_allowed(uint8_t opcode, bool in_message) {
  if (opcode == kClose || opcode == kPing || opcode == kPong) return true;
  return in_message ? opcode == kContinuation : opcode == kText || opcode == kBinary;
}

Expected model(const uint8_t* data, size_t size, size_t limit) {
  Expected expected;
  bool in_message = false;  // a data message in progress, of message_opcode
  uint8_t message_opcode = 0;
  std::string message;
  Utf8 text_utf8;
  size_t pos = 0;
  for (;;) {
    FrameHeader header;
    const HeaderRead read = read_header(data + pos, size - pos, header);
    if (read == HeaderRead::kCutShort) return expected;  // the peer closed between frames or in a header
    if (read == HeaderRead::kRefused) return failed(std::move(expected));
    const uint8_t opcode = header.opcode;
    const bool control = (opcode & 0x8) != 0;
    const uint64_t length = header.length;
    const size_t available = static_cast<size_t>(std::min<uint64_t>(length, size - pos - header.size));
    if (length > 0 && available == 0) return expected;  // wslay looks at a frame with its first byte

    if (header.rsv != 0 || !header.masked) return closed(std::move(expected), 1002);
    if (!opcode_allowed(opcode, in_message)) return closed(std::move(expected), 1002);
    const size_t so_far = control ? 0 : message.size();
    if (so_far + length > limit) return closed(std::move(expected), 1009);

    std::string payload(reinterpret_cast<const char*>(data + pos + header.size), available);
    for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>(payload[i] ^ header.key[i % 4]);
    if (opcode == kClose && payload.size() > 2) {
      expected.close_may_be_1007 = true;
      expected.messages_before_close = expected.messages.size();
      const auto code = static_cast<uint16_t>(read_big_endian(reinterpret_cast<const uint8_t*>(payload.data()), 2));
      expected.close_code_unless_1007 = valid_close_code(code) ? code : 1002;
      if (!utf8_so_far(std::string_view(payload).substr(2))) return closed(std::move(expected), 1007);
    }
    const bool text = !control && (opcode == kText || (in_message && message_opcode == kText));
    if (text) {
      for (char c : payload) {
        if (!text_utf8.feed(static_cast<uint8_t>(c))) return closed(std::move(expected), 1007);
      }
    }
    if (available < length) return expected;  // the peer closed inside the payload
    pos += header.size + available;

    if (control) {
      if (opcode == kClose) return on_close_frame(std::move(expected), payload);
      expected.messages.push_back({opcode, payload});
      if (opcode == kPing) expected.pongs.push_back(payload);
      continue;
    }
    if (!in_message) message_opcode = opcode;
    in_message = true;
    message += payload;
    if (!header.fin) continue;
    if (text && !text_utf8.complete()) return closed(std::move(expected), 1007);
    expected.messages.push_back({message_opcode, std::move(message)});
    message.clear();
    in_message = false;
    text_utf8 = Utf8();
  }
}

// The server's side of one connection, fed piece by piece.
struct Peer {
  const uint8_t* input = nullptr;
  size_t size = 0;
  size_t limit = 0;
  size_t offset = 0;
  size_t piece_end = 0;
  bool eof = false;
  std::vector<Message> messages;
  std::string output;
};

ssize_t receive(wslay_event_context_ptr context, uint8_t* buf, size_t len, int, void* user) {
  auto* peer = static_cast<Peer*>(user);
  if (peer->offset == peer->piece_end) {
    // As WebSocketConnection::receive: EAGAIN is WOULDBLOCK, recv() == 0 a failure.
    wslay_event_set_error(context, peer->eof ? WSLAY_ERR_CALLBACK_FAILURE : WSLAY_ERR_WOULDBLOCK);
    return -1;
  }
  const size_t n = std::min(len, peer->piece_end - peer->offset);
  std::memcpy(buf, peer->input + peer->offset, n);
  peer->offset += n;
  return static_cast<ssize_t>(n);
}

ssize_t transmit(wslay_event_context_ptr, const uint8_t* data, size_t len, int, void* user) {
  static_cast<Peer*>(user)->output.append(reinterpret_cast<const char*>(data), len);
  return static_cast<ssize_t>(len);
}

void on_message(wslay_event_context_ptr, const wslay_event_on_msg_recv_arg* arg, void* user) {
  auto* peer = static_cast<Peer*>(user);
  if (arg->opcode == kText || arg->opcode == kBinary) {
    FUZZ_REQUIRE(arg->msg_length <= peer->limit);
    if (arg->opcode == kText) FUZZ_REQUIRE(valid_utf8({reinterpret_cast<const char*>(arg->msg), arg->msg_length}));
  }
  peer->messages.push_back({arg->opcode, std::string(reinterpret_cast<const char*>(arg->msg), arg->msg_length)});
}

// The server's frames: unmasked, final, control frames only here (pongs,
// then at most one close, last).
struct Sent {
  std::vector<std::string> pongs;
  std::optional<std::string> close;  // its payload
};

Sent parse_sent(const std::string& output) {
  Sent sent;
  const auto* bytes = reinterpret_cast<const uint8_t*>(output.data());
  size_t pos = 0;
  while (pos < output.size()) {
    FUZZ_REQUIRE(!sent.close);  // nothing after the close frame
    FUZZ_REQUIRE(output.size() - pos >= 2);
    const uint8_t opcode = bytes[pos] & 0x0F;
    FUZZ_REQUIRE((bytes[pos] & 0xF0) == 0x80);  // FIN, no RSV bits
    FUZZ_REQUIRE((bytes[pos + 1] & 0x80) == 0);  // a server does not mask
    const size_t length = bytes[pos + 1] & 0x7F;
    FUZZ_REQUIRE(length <= 125 && output.size() - pos - 2 >= length);
    std::string payload = output.substr(pos + 2, length);
    pos += 2 + length;
    FUZZ_REQUIRE(opcode == kPong || opcode == kClose);
    if (opcode == kPong) {
      sent.pongs.push_back(std::move(payload));
    } else {
      sent.close = std::move(payload);
    }
  }
  return sent;
}

bool is_prefix(const std::vector<std::string>& prefix, const std::vector<std::string>& whole) {
  return prefix.size() <= whole.size() && std::equal(prefix.begin(), prefix.end(), whole.begin());
}

uint16_t close_code_of(const std::string& body) {
  return body.size() < 2 ? 0 : static_cast<uint16_t>(read_big_endian(reinterpret_cast<const uint8_t*>(body.data()), 2));
}

void check(const Peer& peer, const Expected& expected, bool connection_failed) {
  const Sent sent = parse_sent(peer.output);
  if (expected.close_may_be_1007) {
    // The close reason is read in chunks (see the top): the messages before
    // it are handed over, then at most the close itself; the connection
    // ends with the code the model expects or 1007, or (the frame cut short)
    // fails.
    const size_t before = expected.messages_before_close;
    FUZZ_REQUIRE(peer.messages.size() == before || peer.messages.size() == before + 1);
    FUZZ_REQUIRE(std::equal(peer.messages.begin(), peer.messages.begin() + before, expected.messages.begin()));
    if (peer.messages.size() > before) FUZZ_REQUIRE(peer.messages.back().opcode == kClose);
    if (sent.close) {
      const uint16_t code = close_code_of(*sent.close);
      FUZZ_REQUIRE(code == 1007 || code == expected.close_code_unless_1007);
    }
    return;
  }
  switch (expected.end) {
    case Expected::End::kOpen:
    case Expected::End::kFailed:
      // No close frame: the connection fails (finish() on the failed
      // receive); pongs queued in that same receive are not sent.
      FUZZ_REQUIRE(connection_failed && !sent.close);
      FUZZ_REQUIRE(peer.messages == expected.messages);
      FUZZ_REQUIRE(is_prefix(sent.pongs, expected.pongs));
      return;
    case Expected::End::kClosed: {
      FUZZ_REQUIRE(!connection_failed && sent.close);
      // Pongs still queued when wslay queues its close frame are not sent
      // (wslay 1.1.1): harmless, the peer is told the connection ends.
      FUZZ_REQUIRE(is_prefix(sent.pongs, expected.pongs));
      const std::string& body = *sent.close;
      FUZZ_REQUIRE(body.size() != 1);
      const uint16_t code = close_code_of(body);
      if (code != expected.close_code) std::fprintf(stderr, "close code %u, expected %u\n", code, expected.close_code);
      FUZZ_REQUIRE(code == expected.close_code);
      FUZZ_REQUIRE(peer.messages == expected.messages);
      const bool echo = !expected.messages.empty() && expected.messages.back().opcode == kClose;
      FUZZ_REQUIRE(body.size() == (code == 0 ? 0 : 2 + (echo ? expected.close_reason.size() : 0)));
      return;
    }
  }
}

}  // namespace
}  // namespace partyline::signaling

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace partyline::signaling;
  if (size == 0) return 0;
  WebSocketOptions options;
  options.max_message_bytes = kLimits[data[0] & 1];
  const size_t piece = kPieceSizes[(data[0] >> 1) & 7];
  Peer peer;
  peer.input = data + 1;
  peer.size = size - 1;
  peer.limit = options.max_message_bytes;

  wslay_event_callbacks callbacks{};
  callbacks.recv_callback = &receive;
  callbacks.send_callback = &transmit;
  callbacks.on_msg_recv_callback = &on_message;
  WslayContextPtr context = make_server_wslay_context(callbacks, &peer, options);

  // WebSocketConnection::on_io, once per piece, then once at the end of input.
  bool failed = false;
  while (!failed && wslay_event_want_read(context.get())) {
    peer.eof = peer.offset == peer.size;
    peer.piece_end = peer.offset + std::min(piece, peer.size - peer.offset);
    failed = wslay_event_recv(context.get()) != 0;
    if (!failed && wslay_event_want_write(context.get())) failed = wslay_event_send(context.get()) != 0;
    if (peer.eof) break;
  }
  FUZZ_REQUIRE(failed || !wslay_event_want_read(context.get()));
  check(peer, model(data + 1, size - 1, options.max_message_bytes), failed);
  return 0;
}
