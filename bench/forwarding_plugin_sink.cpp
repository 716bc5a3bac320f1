#include "bench/forwarding_plugin_sink.hpp"

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstring>

namespace partyline::bench {

namespace {
constexpr core::StreamKey kKey = 1;
}  // namespace

void PluginSinkLine::CopyingSink::on_stream_rtp(uint32_t, std::span<const uint8_t> packet) {
  std::memcpy(slot_.data(), packet.data(), std::min(packet.size(), slot_.size()));
  benchmark::DoNotOptimize(slot_.data());
  ++copied;
}

PluginSinkLine::PluginSinkLine(MediaProfile profile, size_t sinks) : stream_(profile) {
  core::WorkerRouter& router = fabric_.router(0);
  router.add_source(kKey, &owner_);
  core::LegRequest request;
  request.key = kKey;
  request.source_worker = 0;
  request.source_format = publisher_format(profile);
  request.stream_id = "publisher";
  request.track_id = profile_name(profile);
  request.publisher_name = "Publisher";
  for (size_t i = 0; i < sinks; ++i) {
    sinks_.push_back(std::make_unique<CopyingSink>());
    guests_.push_back(std::make_unique<core::GuestMedia>(router, *sinks_.back(), static_cast<uint32_t>(i + 1)));
    guests_.back()->set_streams({request});
  }
}

PluginSinkLine::~PluginSinkLine() {
  guests_.clear();  // they leave the router before it goes
  fabric_.router(0).remove_source(kKey);
}

void PluginSinkLine::publish_next() {
  const std::span<const uint8_t> bytes = stream_.next();
  const auto packet = rtp::parse_rtp_packet(bytes);
  if (packet) fabric_.router(0).on_source_rtp(kKey, *packet, stream_.now_us());
}

uint64_t PluginSinkLine::delivered() const {
  uint64_t total = 0;
  for (const auto& sink : sinks_) total += sink->copied;
  return total;
}

}  // namespace partyline::bench
