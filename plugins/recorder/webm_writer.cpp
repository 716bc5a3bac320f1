#include "webm_writer.hpp"

extern "C" {
#include <libavformat/avformat.h>
#include <libavutil/channel_layout.h>
#include <libavutil/mem.h>
}

#include <cstring>

#include "opus_packet.hpp"

namespace recorder {

namespace {

constexpr AVRational kMilliseconds{1, 1000};

std::string av_error(int code) {
  char text[AV_ERROR_MAX_STRING_SIZE] = {};
  av_strerror(code, text, sizeof(text));
  return text;
}

// Pre-skip 0: the recording starts in the middle of the sender's stream,
// whose encoder delay passed long ago; a pre-skip would only cut 6.5 ms of
// real audio (and need Matroska's CodecDelay to agree with it).
constexpr uint16_t kOpusPreSkip = 0;

bool add_opus_track(AVFormatContext* context) {
  AVStream* stream = avformat_new_stream(context, nullptr);
  if (stream == nullptr) return false;
  stream->time_base = kMilliseconds;
  AVCodecParameters* parameters = stream->codecpar;
  parameters->codec_type = AVMEDIA_TYPE_AUDIO;
  parameters->codec_id = AV_CODEC_ID_OPUS;
  parameters->sample_rate = 48000;
  av_channel_layout_default(&parameters->ch_layout, 2);
  // Players decode Opus in Matroska only with the OpusHead as codec private
  // data; libavformat frees it with the context.
  const auto head = opus_head(kOpusPreSkip);
  parameters->extradata = static_cast<uint8_t*>(av_mallocz(head.size() + AV_INPUT_BUFFER_PADDING_SIZE));
  if (parameters->extradata == nullptr) return false;
  std::memcpy(parameters->extradata, head.data(), head.size());
  parameters->extradata_size = static_cast<int>(head.size());
  return true;
}

bool add_vp8_track(AVFormatContext* context, uint16_t width, uint16_t height) {
  AVStream* stream = avformat_new_stream(context, nullptr);
  if (stream == nullptr) return false;
  stream->time_base = kMilliseconds;
  stream->codecpar->codec_type = AVMEDIA_TYPE_VIDEO;
  stream->codecpar->codec_id = AV_CODEC_ID_VP8;
  stream->codecpar->width = width;
  stream->codecpar->height = height;
  return true;
}

}  // namespace

void WebmWriter::FormatDeleter::operator()(AVFormatContext* context) const {
  if (context->pb != nullptr) avio_closep(&context->pb);
  avformat_free_context(context);
}

void WebmWriter::PacketDeleter::operator()(AVPacket* packet) const { av_packet_free(&packet); }

std::unique_ptr<WebmWriter> WebmWriter::open(const std::string& path, const WebmTracks& tracks, std::string& error) {
  auto writer = std::make_unique<WebmWriter>(Key());
  AVFormatContext* raw = nullptr;
  int code = avformat_alloc_output_context2(&raw, nullptr, "webm", path.c_str());
  if (code < 0 || raw == nullptr) return error = "webm muxer: " + av_error(code), nullptr;
  writer->context_.reset(raw);
  AVFormatContext* context = writer->context_.get();
  // Interleaving waits for a packet of every track before writing; a track
  // that goes quiet (a muted camera) would hold the other one in memory for
  // libavformat's default 10 s. One second keeps memory small and the file
  // still well interleaved.
  context->max_interleave_delta = 1'000'000;
  if (tracks.video) {
    if (!add_vp8_track(context, tracks.width, tracks.height)) return error = "no memory for a track", nullptr;
    writer->video_index_ = static_cast<int>(context->nb_streams) - 1;
  }
  if (tracks.audio) {
    if (!add_opus_track(context)) return error = "no memory for a track", nullptr;
    writer->audio_index_ = static_cast<int>(context->nb_streams) - 1;
  }
  if ((code = avio_open(&context->pb, path.c_str(), AVIO_FLAG_WRITE)) < 0) {
    return error = "cannot create " + path + ": " + av_error(code), nullptr;
  }
  if ((code = avformat_write_header(context, nullptr)) < 0) {
    return error = "cannot write the header of " + path + ": " + av_error(code), nullptr;
  }
  writer->packet_.reset(av_packet_alloc());
  if (!writer->packet_) return error = "no memory for a packet", nullptr;
  return writer;
}

WebmWriter::~WebmWriter() {
  if (context_ && packet_) (void)finish();
}

Status WebmWriter::write_video(std::span<const uint8_t> frame, int64_t pts_ms, bool keyframe) {
  if (video_index_ < 0) return Status::failure("no video track");
  return write(video_index_, frame, pts_ms, 0, keyframe);
}

Status WebmWriter::write_audio(std::span<const uint8_t> packet, int64_t pts_ms, int64_t duration_ms) {
  if (audio_index_ < 0) return Status::failure("no audio track");
  return write(audio_index_, packet, pts_ms, duration_ms, true);  // every Opus packet decodes on its own
}

Status WebmWriter::write(int stream_index, std::span<const uint8_t> data, int64_t pts_ms, int64_t duration_ms,
                         bool key) {
  if (finished_) return Status::failure("the file is finished");
  AVPacket* packet = packet_.get();
  // Not reference counted: libavformat copies it when it must keep it for
  // interleaving, and the caller's buffer stays the caller's.
  packet->data = const_cast<uint8_t*>(data.data());
  packet->size = static_cast<int>(data.size());
  packet->stream_index = stream_index;
  const AVRational time_base = context_->streams[stream_index]->time_base;  // the muxer may have chosen its own
  packet->pts = packet->dts = av_rescale_q(pts_ms, kMilliseconds, time_base);
  packet->duration = av_rescale_q(duration_ms, kMilliseconds, time_base);
  packet->flags = key ? AV_PKT_FLAG_KEY : 0;
  const int code = av_interleaved_write_frame(context_.get(), packet);
  av_packet_unref(packet);
  if (code < 0) return Status::failure("write failed: " + av_error(code));
  return {};
}

Status WebmWriter::finish() {
  if (finished_) return finish_status_;
  finished_ = true;
  const int code = av_write_trailer(context_.get());
  if (code < 0) finish_status_ = Status::failure("trailer failed: " + av_error(code));
  const int closed = avio_closep(&context_->pb);
  if (closed < 0 && finish_status_.ok()) finish_status_ = Status::failure("close failed: " + av_error(closed));
  return finish_status_;
}

}  // namespace recorder
