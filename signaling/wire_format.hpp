// WireFormat: one session's translator between the texts on its WebSocket
// and the native request/event model (protocol.hpp). The native format
// (docs/protocol.md) passes messages as they are; the seed adapters
// (signaling/adapters/, docs/compat.md) translate other systems' wire
// formats onto the same requests and events, so every client lands on the
// one call core. A format holds no call state: only what translating needs
// (e.g. which method an invocation id answers). Runs on the signaling loop
// thread, owned by its ClientSession.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/runtime/json.hpp"
#include "rtp/result.hpp"
#include "signaling/protocol.hpp"

namespace partyline::signaling {

// Where a format's texts go: the session's WebSocket.
class TextSink {
 public:
  virtual ~TextSink() = default;
  virtual void send_text(std::string_view text) = 0;
};

// A client naming itself in a message (seed 004's verto `login`), for
// formats whose identity comes in-band: the login (its user id is
// verto_user_id() of it, an id space of its own), the name others see, and
// the line whose token must admit it.
struct InBandLogin {
  std::string login;  // "<client>@<channel>"
  std::string display_name;
  std::string line_id;
  std::string token;
};

// What one received WebSocket text carried.
struct DecodedText {
  // In order: keepalives, requests (each with a transaction the format can
  // match its response to), refusals to answer.
  std::vector<ClientMessage> messages;
  // The text counts as a sign of life for the keepalive watch even without
  // a keepalive in it (formats whose clients ping only when otherwise silent).
  bool alive = false;
  // The client said goodbye in the format's own terms: the session ends (1000).
  bool goodbye = false;
  // The text broke the format's framing: the connection closes with this
  // code (a WebSocket close code) and message.
  std::optional<Error> fatal;
  // A login (formats that identify in-band); its outcome comes to login_result().
  std::optional<InBandLogin> login;
};

class WireFormat {
 public:
  virtual ~WireFormat() = default;

  // Whether a lost connection's session may come back with ?resume= (only
  // formats whose handshake can carry the resume token).
  virtual bool resumable() const = 0;
  // Whether its clients expect one connection per user, `force` deciding
  // between a newer and an older one (seed 003), whatever
  // auth.sessions_per_user says for the others.
  virtual bool one_connection_per_user() const { return false; }
  // Whether its clients send something at least every keepalive interval
  // (4002 otherwise). Seed 001's and 002's send nothing when idle: the
  // WebSocket's own pings watch them (signaling.idle_timeout_ms).
  virtual bool client_keepalives() const { return true; }
  // Whether its clients say who they are in a message (seed 004's verto
  // `login`) rather than at connect: the session is not shown to the
  // request handlers (it runs no request, occupies nothing, is in no
  // presence) until a login in DecodedText::login was accepted.
  virtual bool identifies_in_band() const { return false; }
  // The outcome of that login: an error (403 the line's token does not
  // admit it, 409 logged in already, 429 too many logins, ...) or success,
  // after which the session is open to the handlers under its identity.
  virtual void login_result(const Status& result, TextSink& out);
  // The first texts of a connection, before anything it received is decoded.
  virtual void start(const HandshakeState& state, TextSink& out) = 0;
  // Texts the format answers itself (a handshake, a ping) go to `out`.
  virtual DecodedText decode(std::string_view text, TextSink& out) = 0;
  virtual void keepalive_ack(const std::string& transaction, TextSink& out) = 0;
  // The response to a request `decode` produced; `request` is its (native) name.
  virtual void success(const std::string& transaction, const std::string& request, const json_t* fields,
                       TextSink& out) = 0;
  // `transaction` and `request` are null when a refused message had none.
  virtual void error(const std::optional<std::string>& transaction, const std::optional<std::string>& request,
                     const Error& error, TextSink& out) = 0;
  // A native event (an object with a string "event"); a format may send
  // nothing for events its clients have no counterpart of.
  virtual void event(const json_t* event, TextSink& out) = 0;
  // The same event already formatted (format_event), shared by many
  // sessions: the native format sends it as it is, others read it back.
  virtual void event_text(std::string_view text, TextSink& out);
  // The server is about to close the connection with `code`: a format whose
  // clients expect a goodbye message of their own sends it here.
  virtual void closing(uint16_t code, std::string_view reason, TextSink& out);
  // Called every few seconds with the monotonic time, for formats that must
  // show the client they are alive in their own messages.
  virtual void tick(int64_t now_us, TextSink& out);

  // Native requests a format makes on its own, for no request of its
  // client: the lines protocol asks for the server's offer before it shows
  // an incoming call, and leaves the line when the other party hung up.
  // The session takes them after each call into the format and runs them
  // from its loop (not inside the call), as the client's would run; each
  // one's response comes to own_response(), never to success() or error().
  std::vector<Request> take_own_requests() { return std::exchange(own_requests_, {}); }
  bool has_own_requests() const { return !own_requests_.empty(); }
  // A format may end its session (e.g. when the line its endpoint stands
  // for refused it): the session closes with this code and reason after the
  // call into the format, from its loop, before running own requests.
  std::optional<Error> take_close() { return std::exchange(close_, std::nullopt); }
  bool wants_close() const { return close_.has_value(); }
  // `error` is null on success (then `fields` are the response's).
  virtual void own_response(const std::string& transaction, const std::string& request, const json_t* fields,
                            const Error* error, TextSink& out);

 protected:
  // Queues `name` with `message`'s fields (its "request" and "transaction"
  // are set here) and returns the transaction its response will carry:
  // "own-N" after a 0x01 byte, which a client's JSON could only carry escaped.
  std::string request_own(const std::string& name, core::JsonPtr message);
  void close_session(uint16_t code, std::string reason) { close_ = make_error(code, std::move(reason)); }

 private:
  std::vector<Request> own_requests_;
  std::optional<Error> close_;
  uint64_t own_counter_ = 0;
};

// What a connection's path chose, made once per session.
using WireFormatFactory = std::function<std::unique_ptr<WireFormat>()>;

// docs/protocol.md itself.
class NativeWireFormat final : public WireFormat {
 public:
  bool resumable() const override { return true; }
  void start(const HandshakeState& state, TextSink& out) override;
  DecodedText decode(std::string_view text, TextSink& out) override;
  void keepalive_ack(const std::string& transaction, TextSink& out) override;
  void success(const std::string& transaction, const std::string& request, const json_t* fields,
               TextSink& out) override;
  void error(const std::optional<std::string>& transaction, const std::optional<std::string>& request,
             const Error& error, TextSink& out) override;
  void event(const json_t* event, TextSink& out) override;
  void event_text(std::string_view text, TextSink& out) override;
};

}  // namespace partyline::signaling
