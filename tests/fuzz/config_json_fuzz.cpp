// apply_config_json() on any JSON object (what --config reads). Checks: a
// refusal is an error with a message; an accepted configuration written out
// with config_to_json() applies to fresh defaults and gives the same JSON
// (nothing accepted is lost or changed on the way); validate_config() runs
// on whatever was accepted.
#include <cstdint>
#include <string>

#include "core/runtime/config.hpp"
#include "core/runtime/json.hpp"
#include "tests/fuzz/fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace partyline::core;
  auto root = parse_json_object(partyline::fuzz::as_text(data, size));
  if (!root) return 0;
  Config config;
  partyline::Status applied = apply_config_json(config, root->get());
  if (!applied) {
    FUZZ_REQUIRE(!applied.error().message.empty());
    return 0;
  }
  (void)validate_config(config);
  const JsonPtr written = config_to_json(config);
  Config again;
  partyline::Status reapplied = apply_config_json(again, written.get());
  if (!reapplied) std::fprintf(stderr, "config_to_json output refused: %s\n", reapplied.error().message.c_str());
  FUZZ_REQUIRE(reapplied.ok());
  FUZZ_REQUIRE(dump_json(config_to_json(again).get()) == dump_json(written.get()));
  return 0;
}
