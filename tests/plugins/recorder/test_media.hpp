// Test helpers for the recorder: real VP8 and Opus frames (libvpx through
// libavcodec, libopus), their RTP packets, and what ffprobe and ffmpeg say
// about a written file.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace recorder::test {

struct EncodedFrame {
  std::vector<uint8_t> data;
  bool keyframe = false;
};

// `count` frames of one solid colour, the first a keyframe (and each
// `keyframe_interval`-th after it).
std::vector<EncodedFrame> encode_vp8(int count, int width, int height, uint8_t red, uint8_t green, uint8_t blue,
                                     int keyframe_interval = 30);
// `count` 20 ms stereo Opus packets of a sine tone.
std::vector<std::vector<uint8_t>> encode_opus(int count, double frequency);

std::vector<uint8_t> rtp_packet(uint8_t payload_type, uint16_t sequence, uint32_t timestamp, bool marker,
                                const std::vector<uint8_t>& payload);
// One VP8 frame as RTP packets (RFC 7741 descriptor with a 15-bit picture
// id), payloads of at most `max_payload` bytes; `sequence` advances.
std::vector<std::vector<uint8_t>> vp8_rtp_packets(const EncodedFrame& frame, uint8_t payload_type,
                                                  uint16_t& sequence, uint32_t timestamp, uint16_t picture_id,
                                                  size_t max_payload = 1000);

// The standard output of a command (run by /bin/sh), or "" when it failed.
std::string run(const std::string& command);
std::string binary_output(const std::string& command);

struct Probe {
  bool ok = false;
  std::vector<std::string> codecs;  // codec_name of each stream, in order
  double duration = 0;              // format duration, seconds
  int width = 0;
  int height = 0;
};
Probe ffprobe(const std::string& path);
// The colour of a frame `at_seconds` into the file, averaged to one pixel.
std::vector<uint8_t> frame_colour(const std::string& path, double at_seconds);
// The strongest frequency (Hz, 10 Hz steps from 100 to 2000) of the audio.
double dominant_frequency(const std::string& path);

// A fresh empty folder under the test temp dir.
std::string temp_folder(const std::string& name);

}  // namespace recorder::test
