#include "test_media.hpp"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavutil/frame.h>
}
#include <jansson.h>
#include <opus/opus.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <stdexcept>

namespace recorder::test {

namespace {

struct CodecDeleter {
  void operator()(AVCodecContext* context) const { avcodec_free_context(&context); }
};
struct FrameDeleter {
  void operator()(AVFrame* frame) const { av_frame_free(&frame); }
};
struct PacketDeleter {
  void operator()(AVPacket* packet) const { av_packet_free(&packet); }
};

void collect(AVCodecContext* context, AVPacket* packet, std::vector<EncodedFrame>& out) {
  while (avcodec_receive_packet(context, packet) == 0) {
    out.push_back({std::vector<uint8_t>(packet->data, packet->data + packet->size), (packet->flags & AV_PKT_FLAG_KEY) != 0});
    av_packet_unref(packet);
  }
}

}  // namespace

std::vector<EncodedFrame> encode_vp8(int count, int width, int height, uint8_t red, uint8_t green, uint8_t blue,
                                     int keyframe_interval) {
  const AVCodec* codec = avcodec_find_encoder_by_name("libvpx");
  if (codec == nullptr) throw std::runtime_error("no libvpx encoder");
  std::unique_ptr<AVCodecContext, CodecDeleter> context(avcodec_alloc_context3(codec));
  context->width = width;
  context->height = height;
  context->pix_fmt = AV_PIX_FMT_YUV420P;
  context->time_base = {1, 30};
  context->gop_size = keyframe_interval;
  context->max_b_frames = 0;
  context->bit_rate = 300000;
  if (avcodec_open2(context.get(), codec, nullptr) < 0) throw std::runtime_error("libvpx open");
  std::unique_ptr<AVFrame, FrameDeleter> frame(av_frame_alloc());
  frame->format = AV_PIX_FMT_YUV420P;
  frame->width = width;
  frame->height = height;
  av_frame_get_buffer(frame.get(), 0);
  // BT.601 limited range, as libvpx expects.
  const auto y = static_cast<uint8_t>(16 + 0.257 * red + 0.504 * green + 0.098 * blue);
  const auto u = static_cast<uint8_t>(128 - 0.148 * red - 0.291 * green + 0.439 * blue);
  const auto v = static_cast<uint8_t>(128 + 0.439 * red - 0.368 * green - 0.071 * blue);
  std::unique_ptr<AVPacket, PacketDeleter> packet(av_packet_alloc());
  std::vector<EncodedFrame> out;
  for (int i = 0; i < count; ++i) {
    av_frame_make_writable(frame.get());
    for (int row = 0; row < height; ++row) std::fill_n(frame->data[0] + row * frame->linesize[0], width, y);
    for (int row = 0; row < height / 2; ++row) {
      std::fill_n(frame->data[1] + row * frame->linesize[1], width / 2, u);
      std::fill_n(frame->data[2] + row * frame->linesize[2], width / 2, v);
    }
    frame->pts = i;
    frame->pict_type = i % keyframe_interval == 0 ? AV_PICTURE_TYPE_I : AV_PICTURE_TYPE_NONE;
    avcodec_send_frame(context.get(), frame.get());
    collect(context.get(), packet.get(), out);
  }
  avcodec_send_frame(context.get(), nullptr);
  collect(context.get(), packet.get(), out);
  return out;
}

std::vector<std::vector<uint8_t>> encode_opus(int count, double frequency) {
  int error = 0;
  std::unique_ptr<OpusEncoder, decltype(&opus_encoder_destroy)> encoder(
      opus_encoder_create(48000, 2, OPUS_APPLICATION_AUDIO, &error), &opus_encoder_destroy);
  if (error != OPUS_OK) throw std::runtime_error("opus encoder");
  std::vector<std::vector<uint8_t>> packets;
  std::vector<int16_t> pcm(960 * 2);
  for (int i = 0; i < count; ++i) {
    for (int s = 0; s < 960; ++s) {
      const double t = (i * 960 + s) / 48000.0;
      pcm[2 * s] = pcm[2 * s + 1] = static_cast<int16_t>(8000 * std::sin(2 * M_PI * frequency * t));
    }
    std::vector<uint8_t> packet(1500);
    const int length = opus_encode(encoder.get(), pcm.data(), 960, packet.data(), static_cast<int>(packet.size()));
    if (length < 0) throw std::runtime_error("opus encode");
    packet.resize(length);
    packets.push_back(std::move(packet));
  }
  return packets;
}

std::vector<uint8_t> rtp_packet(uint8_t payload_type, uint16_t sequence, uint32_t timestamp, bool marker,
                                const std::vector<uint8_t>& payload) {
  std::vector<uint8_t> packet = {0x80,
                                 static_cast<uint8_t>((marker ? 0x80 : 0) | payload_type),
                                 static_cast<uint8_t>(sequence >> 8),
                                 static_cast<uint8_t>(sequence),
                                 static_cast<uint8_t>(timestamp >> 24),
                                 static_cast<uint8_t>(timestamp >> 16),
                                 static_cast<uint8_t>(timestamp >> 8),
                                 static_cast<uint8_t>(timestamp),
                                 0x12, 0x34, 0x56, 0x78};
  packet.insert(packet.end(), payload.begin(), payload.end());
  return packet;
}

std::vector<std::vector<uint8_t>> vp8_rtp_packets(const EncodedFrame& frame, uint8_t payload_type,
                                                  uint16_t& sequence, uint32_t timestamp, uint16_t picture_id,
                                                  size_t max_payload) {
  std::vector<std::vector<uint8_t>> packets;
  for (size_t offset = 0; offset < frame.data.size(); offset += max_payload) {
    const size_t length = std::min(max_payload, frame.data.size() - offset);
    std::vector<uint8_t> payload = {static_cast<uint8_t>(0x80 | (offset == 0 ? 0x10 : 0)), 0x80,
                                    static_cast<uint8_t>(0x80 | (picture_id >> 8 & 0x7f)),
                                    static_cast<uint8_t>(picture_id)};
    payload.insert(payload.end(), frame.data.begin() + offset, frame.data.begin() + offset + length);
    const bool last = offset + length == frame.data.size();
    packets.push_back(rtp_packet(payload_type, sequence++, timestamp, last, payload));
  }
  return packets;
}

std::string binary_output(const std::string& command) {
  std::unique_ptr<FILE, decltype(&pclose)> pipe(popen(command.c_str(), "r"), &pclose);
  if (!pipe) return {};
  std::string out;
  char buffer[4096];
  size_t read;
  while ((read = fread(buffer, 1, sizeof(buffer), pipe.get())) > 0) out.append(buffer, read);
  return out;
}

std::string run(const std::string& command) { return binary_output(command); }

Probe ffprobe(const std::string& path) {
  const std::string text =
      run(std::string(RECORDER_FFPROBE) + " -v error -print_format json -show_streams -show_format '" + path + "'");
  Probe probe;
  std::unique_ptr<json_t, decltype(&json_decref)> root(json_loads(text.c_str(), 0, nullptr), &json_decref);
  if (!root) return probe;
  size_t index;
  json_t* stream;
  json_array_foreach(json_object_get(root.get(), "streams"), index, stream) {
    const char* name = json_string_value(json_object_get(stream, "codec_name"));
    probe.codecs.push_back(name ? name : "?");
    if (json_t* width = json_object_get(stream, "width")) probe.width = static_cast<int>(json_integer_value(width));
    if (json_t* height = json_object_get(stream, "height")) probe.height = static_cast<int>(json_integer_value(height));
  }
  const char* duration = json_string_value(json_object_get(json_object_get(root.get(), "format"), "duration"));
  probe.duration = duration ? std::atof(duration) : 0;
  probe.ok = true;
  return probe;
}

std::vector<uint8_t> frame_colour(const std::string& path, double at_seconds) {
  const std::string out = binary_output(std::string(RECORDER_FFMPEG) + " -v error -ss " + std::to_string(at_seconds) +
                                        " -i '" + path + "' -frames:v 1 -vf scale=1:1 -f rawvideo -pix_fmt rgb24 -");
  return std::vector<uint8_t>(out.begin(), out.end());
}

double dominant_frequency(const std::string& path) {
  const std::string out = binary_output(std::string(RECORDER_FFMPEG) + " -v error -i '" + path +
                                        "' -vn -f s16le -ac 1 -ar 48000 -");
  std::vector<double> samples(out.size() / 2);
  for (size_t i = 0; i < samples.size(); ++i) {
    samples[i] = static_cast<int16_t>(static_cast<uint8_t>(out[2 * i]) | static_cast<uint8_t>(out[2 * i + 1]) << 8);
  }
  // Goertzel at each candidate frequency over the whole signal.
  double best = 0, best_power = -1;
  for (double frequency = 100; frequency <= 2000; frequency += 10) {
    const double coefficient = 2 * std::cos(2 * M_PI * frequency / 48000);
    double s1 = 0, s2 = 0;
    for (double sample : samples) {
      const double s0 = sample + coefficient * s1 - s2;
      s2 = s1;
      s1 = s0;
    }
    const double power = s1 * s1 + s2 * s2 - coefficient * s1 * s2;
    if (power > best_power) best_power = power, best = frequency;
  }
  return best;
}

std::string temp_folder(const std::string& name) {
  const auto folder = std::filesystem::temp_directory_path() / ("recorder_tests_" + std::to_string(getpid())) / name;
  std::filesystem::remove_all(folder);
  std::filesystem::create_directories(folder);
  return folder.string();
}

}  // namespace recorder::test
