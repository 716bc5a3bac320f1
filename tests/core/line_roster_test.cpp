// LineRoster: occupants in join order, room, mute, who receives what with
// which track ids, and members' presence.
#include "core/calls/line_roster.hpp"

#include <gtest/gtest.h>

namespace partyline::core {
namespace {

PublishedStream stream(StreamKey key, rtp::MediaKind kind, std::string mid) {
  PublishedStream published;
  published.key = key;
  published.format.kind = kind;
  published.mid = std::move(mid);
  return published;
}

Occupant occupant(std::string session, std::string user, std::vector<PublishedStream> published = {},
                  OccupantMedia media = OccupantMedia::kServer) {
  Occupant entry;
  entry.session = std::move(session);
  entry.user = std::move(user);
  entry.name = entry.user;
  entry.media = media;
  entry.published = std::move(published);
  return entry;
}

std::vector<std::string> sessions(const std::vector<Occupant>& occupants) {
  std::vector<std::string> ids;
  for (const Occupant& entry : occupants) ids.push_back(entry.session);
  return ids;
}

TEST(LineRosterTest, OccupantsInJoinOrderWithRoomAndAnEmptiedLineDropped) {
  LineRoster roster(2);
  EXPECT_TRUE(roster.check_room("L").ok());
  roster.add("L", occupant("s1", "alice"));
  roster.add("L", occupant("s2", "bob", {}, OccupantMedia::kNone));  // signaling only counts too
  EXPECT_EQ(roster.check_room("L").error().code, error_code::kUnavailable);
  EXPECT_EQ(sessions(roster.occupants("L")), (std::vector<std::string>{"s1", "s2"}));
  EXPECT_EQ(roster.occupant_count(), 2u);
  EXPECT_FALSE(roster.remove("L", "s9"));
  EXPECT_FALSE(roster.remove("M", "s1"));
  EXPECT_TRUE(roster.remove("L", "s1"));
  EXPECT_TRUE(roster.check_room("L").ok());
  EXPECT_TRUE(roster.remove("L", "s2"));
  EXPECT_FALSE(roster.occupied("L"));
  EXPECT_TRUE(roster.occupied_lines().empty());
  EXPECT_TRUE(roster.occupants("L").empty());
}

TEST(LineRosterTest, MuteIsTheOccupantsOwnUnlessAnOperatorForcedIt) {
  LineRoster roster(10);
  roster.add("L", occupant("s1", "alice"));
  EXPECT_EQ(roster.mute("L", "s2", true, std::nullopt).error().code, error_code::kNotFound);
  EXPECT_EQ(roster.mute("", "s1", true, std::nullopt).error().code, error_code::kNotFound);
  ASSERT_TRUE(roster.mute("L", "s1", true, std::nullopt).ok());
  EXPECT_TRUE(roster.find("L", "s1")->muted_audio);
  EXPECT_FALSE(roster.find("L", "s1")->muted_video);
  roster.find("L", "s1")->forced_mute_video = true;
  roster.find("L", "s1")->muted_video = true;
  EXPECT_EQ(roster.mute("L", "s1", std::nullopt, false).error().code, error_code::kForbidden);
  EXPECT_TRUE(roster.mute("L", "s1", false, true).ok());  // unmuting audio, keeping video muted
  EXPECT_FALSE(roster.find("L", "s1")->muted_audio);
}

TEST(LineRosterTest, EachOccupantReceivesEveryOtherOccupantsStreamsInJoinOrder) {
  LineRoster roster(10);
  roster.add("L", occupant("aaaaaaaa-1", "alice",
                           {stream(1, rtp::MediaKind::kAudio, "0"), stream(2, rtp::MediaKind::kVideo, "1"),
                            stream(3, rtp::MediaKind::kVideo, "4")}));  // camera and screen share
  roster.add("L", occupant("bbbbbbbb-2", "bob", {}, OccupantMedia::kNone));
  roster.add("L", occupant("cccccccc-3", "carol", {stream(7, rtp::MediaKind::kAudio, "0")}));
  roster.add("M", occupant("dddddddd-4", "dave", {stream(9, rtp::MediaKind::kAudio, "0")}));

  auto for_bob = roster.received_by("L", "bbbbbbbb-2");
  ASSERT_EQ(for_bob.size(), 4u);
  std::vector<StreamKey> keys;
  std::vector<std::string> tracks;
  for (const ReceivedStream& received : for_bob) {
    keys.push_back(received.stream->key);
    tracks.push_back(received.track_id);
  }
  EXPECT_EQ(keys, (std::vector<StreamKey>{1, 2, 3, 7}));
  EXPECT_EQ(tracks, (std::vector<std::string>{"audio-aaaaaaaa", "video-aaaaaaaa", "video-aaaaaaaa-4", "audio-cccccccc"}));
  EXPECT_EQ(for_bob[3].publisher->user, "carol");
  // Never its own streams, never another line's.
  auto for_alice = roster.received_by("L", "aaaaaaaa-1");
  ASSERT_EQ(for_alice.size(), 1u);
  EXPECT_EQ(for_alice[0].stream->key, 7u);
}

// A line of mixed audio: the mixer hears every occupant's audio and sees
// no video; each occupant hears only its own stream from the mixer, and
// still sees every other occupant's video.
TEST(LineRosterTest, InALineOfMixedAudioOnlyTheMixerHearsTheOccupantsAndEachHearsOnlyItsMix) {
  LineRoster roster(2);  // the mixer takes no room
  roster.add("L", occupant("aaaaaaaa-1", "alice", {stream(1, rtp::MediaKind::kAudio, "0"), stream(2, rtp::MediaKind::kVideo, "1")}),
             LineAudio::kMixed);
  // A later add does not change how the line hears.
  roster.add("L", occupant("bbbbbbbb-2", "bob", {stream(3, rtp::MediaKind::kAudio, "0"), stream(4, rtp::MediaKind::kVideo, "1")}),
             LineAudio::kForwarded);
  EXPECT_EQ(roster.audio("L"), LineAudio::kMixed);
  EXPECT_EQ(roster.mixer("L"), nullptr);
  Occupant mixer = occupant("mmmmmmmm-9", "plugin:audiobridge", {}, OccupantMedia::kPlugin);
  mixer.mixer = true;
  PublishedStream for_alice = stream(10, rtp::MediaKind::kAudio, "");
  for_alice.audience = "aaaaaaaa-1";
  PublishedStream for_bob = stream(11, rtp::MediaKind::kAudio, "");
  for_bob.audience = "bbbbbbbb-2";
  mixer.published = {for_alice, for_bob};
  roster.add("L", mixer);
  ASSERT_NE(roster.mixer("L"), nullptr);
  EXPECT_EQ(roster.people("L"), 2u);
  EXPECT_EQ(roster.check_room("L").error().code, error_code::kUnavailable);

  auto keys = [&](const std::string& session) {
    std::vector<StreamKey> received;
    for (const ReceivedStream& stream : roster.received_by("L", session)) received.push_back(stream.stream->key);
    return received;
  };
  EXPECT_EQ(keys("aaaaaaaa-1"), (std::vector<StreamKey>{4, 10}));  // bob's video, its own mix
  EXPECT_EQ(keys("bbbbbbbb-2"), (std::vector<StreamKey>{2, 11}));
  EXPECT_EQ(keys("mmmmmmmm-9"), (std::vector<StreamKey>{1, 3}));   // everyone's audio, no video
  // The mix's track id does not depend on where the listener's stream sits.
  EXPECT_EQ(roster.received_by("L", "bbbbbbbb-2")[1].track_id, "audio-mmmmmmmm");
  EXPECT_EQ(roster.received_by("L", "aaaaaaaa-1")[1].track_id, "audio-mmmmmmmm");
  // A line that forwards audio ignores nobody's audio.
  roster.add("F", occupant("cccccccc-3", "carol", {stream(20, rtp::MediaKind::kAudio, "0")}));
  roster.add("F", occupant("dddddddd-4", "dave", {stream(21, rtp::MediaKind::kAudio, "0")}));
  EXPECT_EQ(roster.audio("F"), LineAudio::kForwarded);
  std::vector<StreamKey> for_dave;
  for (const ReceivedStream& stream : roster.received_by("F", "dddddddd-4")) for_dave.push_back(stream.stream->key);
  EXPECT_EQ(for_dave, std::vector<StreamKey>{20});
  // Emptied, the line forgets how it heard.
  roster.remove("L", "aaaaaaaa-1");
  roster.remove("L", "bbbbbbbb-2");
  roster.remove("L", "mmmmmmmm-9");
  EXPECT_EQ(roster.audio("L"), LineAudio::kForwarded);
}

TEST(LineRosterTest, PresenceListsMembersSortedWithOnlineAndInLine) {
  LineRoster roster(10);
  roster.add("L", occupant("s1", "carol"));
  roster.add("L", occupant("s2", "carol"));  // two sessions: one entry
  auto online = [](const std::string& user) -> std::optional<std::string> {
    if (user == "alice") return std::string("Alice");
    if (user == "carol") return std::string("Carol");
    return std::nullopt;
  };
  auto presence = roster.presence("L", {"carol", "bob", "alice", "bob"}, online);
  ASSERT_EQ(presence.size(), 3u);
  EXPECT_EQ(presence[0], (MemberPresence{"alice", std::string("Alice"), true, false}));
  EXPECT_EQ(presence[1], (MemberPresence{"bob", std::nullopt, false, false}));
  EXPECT_EQ(presence[2], (MemberPresence{"carol", std::string("Carol"), true, true}));
  EXPECT_TRUE(roster.presence("empty", {}, online).empty());
}

// Last-N over a line: the speakers the line's detector heard, the viewer's
// pins, the mixer never; one who leaves is forgotten by both.
TEST(LineRosterTest, LastNFollowsTheLinesSpeakersAndPinsAndForgetsWhoLeft) {
  LineRoster roster(10);
  roster.add("L", occupant("s1", "alice"));
  Occupant mixer = occupant("mix", "plugin:audiobridge", {}, OccupantMedia::kPlugin);
  mixer.mixer = true;
  roster.add("L", std::move(mixer));
  roster.add("L", occupant("s2", "bob"));
  roster.add("L", occupant("s3", "carol"));
  EXPECT_FALSE(roster.video_for("L", "s1", 0));  // last-N off
  EXPECT_FALSE(roster.video_for("L", "nobody", 1));
  EXPECT_EQ(roster.video_for("L", "s1", 1), (std::vector<std::string>{"s2"}));  // join order, no mixer

  SpeakerDetector* speakers = roster.speakers("L");
  ASSERT_NE(speakers, nullptr);
  for (int64_t now = 0; now < 2'000; now += 200) speakers->on_level("s3", 10, now);
  ASSERT_EQ(speakers->active(), "s3");
  EXPECT_EQ(roster.video_for("L", "s1", 1), (std::vector<std::string>{"s3"}));
  EXPECT_EQ(roster.video_for("L", "s3", 1), (std::vector<std::string>{"s1"}));

  roster.find("L", "s1")->pinned.push_back("s2");
  EXPECT_EQ(roster.video_for("L", "s1", 1), (std::vector<std::string>{"s2", "s3"}));
  ASSERT_TRUE(roster.remove("L", "s3"));
  EXPECT_FALSE(speakers->active());
  EXPECT_TRUE(speakers->recent().empty());
  ASSERT_TRUE(roster.remove("L", "s2"));
  EXPECT_TRUE(roster.find("L", "s1")->pinned.empty());
  EXPECT_EQ(roster.speakers("nowhere"), nullptr);
}

// A stream an occupant's answer could not take (its codec) is left out of
// what it receives while the publisher sends that codec, and forgotten with
// the publisher.
TEST(LineRosterTest, AStreamAnOccupantCannotReceiveIsLeftOutInThatCodecOnly) {
  LineRoster roster(10);
  PublishedStream h264 = stream(7, rtp::MediaKind::kVideo, "1");
  h264.format.codec_name = "H264";
  roster.add("L", occupant("s1", "alice", {stream(6, rtp::MediaKind::kAudio, "0"), h264}));
  roster.add("L", occupant("s2", "bob"));
  ASSERT_EQ(roster.received_by("L", "s2").size(), 2u);
  const Occupant& alice = *roster.find("L", "s1");
  const std::string track = LineRoster::track_id(alice, alice.published[1]);
  roster.find("L", "s2")->cannot_receive.push_back(UnreceivableStream{"s1", track, "H264"});
  auto received = roster.received_by("L", "s2");
  ASSERT_EQ(received.size(), 1u);
  EXPECT_EQ(received[0].stream->key, 6u);
  // The publisher switches to VP8 (a re-offer): offered again.
  roster.find("L", "s1")->published[1].format.codec_name = "VP8";
  EXPECT_EQ(roster.received_by("L", "s2").size(), 2u);
  ASSERT_TRUE(roster.remove("L", "s1"));
  EXPECT_TRUE(roster.find("L", "s2")->cannot_receive.empty());
}

}  // namespace
}  // namespace partyline::core
