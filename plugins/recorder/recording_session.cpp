#include "recording_session.hpp"

#include <filesystem>
#include <system_error>

namespace recorder {

namespace {

// File names keep to [A-Za-z0-9_-]: ids come from clients.
std::string sanitize(const std::string& text) {
  std::string clean;
  for (char c : text.substr(0, 64)) {
    const bool safe = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    clean += safe ? c : '_';
  }
  return clean.empty() ? "_" : clean;
}

}  // namespace

RecordingSession::RecordingSession(SessionSettings settings) : settings_(std::move(settings)) {}

RecordingSession::~RecordingSession() = default;

void RecordingSession::on_item(const MediaItem& item, RequestSink& requests) {
  const std::span<const uint8_t> data(item.data.data(), item.length);
  switch (item.kind) {
    case ItemKind::kStreamAdded: {
      const auto info = decode_announcement(item.stream, data);
      if (!info) {
        ++counters_.bad_announcements;
        return;
      }
      add_stream(*info);
      return;
    }
    case ItemKind::kStreamRemoved: {
      auto found = by_stream_.find(item.stream);
      if (found == by_stream_.end()) return;
      PublisherRecording* publisher = found->second;
      by_stream_.erase(found);
      if (publisher->remove_stream(item.stream, requests)) ++version_;  // its file is complete
      collect_errors();
      return;
    }
    case ItemKind::kPacket: {
      auto found = by_stream_.find(item.stream);
      if (found == by_stream_.end()) {
        ++counters_.unknown_stream;
        return;
      }
      found->second->on_packet(item.stream, data, item.arrival, requests);
      collect_errors();
      return;
    }
  }
}

void RecordingSession::add_stream(const StreamInfo& info) {
  // The publisher's file still taking streams (none of its packets yet),
  // or a new one.
  PublisherRecording* publisher = nullptr;
  for (auto& each : publishers_) {
    if (each->summary().publisher == info.publisher && !each->summary().finished) publisher = each.get();
  }
  if (publisher == nullptr) {
    publishers_.push_back(std::make_unique<PublisherRecording>(file_path(info.publisher), info.publisher,
                                                               info.publisher_name));
    publisher = publishers_.back().get();
  }
  publisher->add_stream(info);
  if (publisher->has_stream(info.stream)) by_stream_[info.stream] = publisher;
  ++version_;
}

void RecordingSession::advance(Micros now, RequestSink& requests) {
  for (auto& publisher : publishers_) publisher->advance(now, requests);
  collect_errors();
}

void RecordingSession::finish(RequestSink& requests) {
  for (auto& publisher : publishers_) publisher->finish(requests);
  by_stream_.clear();
  collect_errors();
  ++version_;
}

std::vector<FileSummary> RecordingSession::files() const {
  std::vector<FileSummary> files;
  for (const auto& publisher : publishers_) {
    // A publisher that left before its first packet has no file to list.
    const FileSummary& summary = publisher->summary();
    if (!summary.finished || summary.created || !summary.error.empty()) files.push_back(summary);
  }
  return files;
}

SessionCounters RecordingSession::counters() const {
  SessionCounters sum = counters_;
  for (const auto& publisher : publishers_) {
    const StreamCounters each = publisher->counters();
    sum.streams.packets += each.packets;
    sum.streams.lost += each.lost;
    sum.streams.late += each.late;
    sum.streams.foreign += each.foreign;
    sum.streams.skipped_frames += each.skipped_frames;
    sum.streams.keyframe_requests += each.keyframe_requests;
    sum.dropped_frames += publisher->dropped_frames();
  }
  return sum;
}

std::vector<std::string> RecordingSession::take_errors() {
  std::vector<std::string> taken;
  taken.swap(errors_);
  return taken;
}

void RecordingSession::collect_errors() {
  for (const auto& publisher : publishers_) {
    if (publisher->summary().error.empty() || reported_.count(publisher.get()) != 0) continue;
    reported_.insert(publisher.get());
    errors_.push_back(publisher->summary().path + ": " + publisher->summary().error);
    ++version_;
  }
}

std::string RecordingSession::file_path(const std::string& publisher) {
  // <folder>/<line>_<start>_<publisher>[_<n>].webm, never one that exists:
  // a publisher that comes back, or a recording started in the same second.
  std::error_code ignored;
  std::filesystem::create_directories(settings_.folder, ignored);  // an error shows when the file is opened
  const std::string stem = settings_.folder + "/" + sanitize(settings_.line_id) + "_" + settings_.started + "_" +
                           sanitize(publisher);
  std::string path = stem + ".webm";
  for (int n = 2; used_paths_.count(path) != 0 || std::filesystem::exists(path, ignored); ++n) {
    path = stem + "_" + std::to_string(n) + ".webm";
  }
  used_paths_.insert(path);
  return path;
}

}  // namespace recorder
