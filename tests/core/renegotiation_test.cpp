// Renegotiation: who offers next on one session, as a table of steps.
#include "core/calls/renegotiation.hpp"

#include <gtest/gtest.h>

namespace partyline::core {
namespace {

using Outstanding = Renegotiation::Outstanding;

TEST(RenegotiationTest, AChangeIsOfferedAtOnceWhenNothingIsOutstanding) {
  Renegotiation renegotiation;
  EXPECT_TRUE(renegotiation.streams_changed());
  renegotiation.server_offer_sent();
  EXPECT_EQ(renegotiation.outstanding(), Outstanding::kServerOffer);
  EXPECT_FALSE(renegotiation.server_offer_answered());  // nothing came meanwhile
  EXPECT_EQ(renegotiation.outstanding(), Outstanding::kNone);
}

TEST(RenegotiationTest, ChangesWhileAServerOfferIsOutFollowTheAnswerOnce) {
  Renegotiation renegotiation;
  ASSERT_TRUE(renegotiation.streams_changed());
  renegotiation.server_offer_sent();
  EXPECT_FALSE(renegotiation.streams_changed());
  EXPECT_FALSE(renegotiation.streams_changed());
  EXPECT_TRUE(renegotiation.changed_meanwhile());
  EXPECT_TRUE(renegotiation.server_offer_answered());  // offer again, once
  EXPECT_FALSE(renegotiation.changed_meanwhile());
  renegotiation.server_offer_sent();
  EXPECT_FALSE(renegotiation.server_offer_answered());
}

TEST(RenegotiationTest, GlareTheClientOffersWhileTheServersOfferIsOut) {
  Renegotiation renegotiation;
  renegotiation.server_offer_sent();
  EXPECT_NE(renegotiation.client_offer(), "");  // 409: roll back, answer, offer again
  EXPECT_EQ(renegotiation.outstanding(), Outstanding::kServerOffer);  // changed nothing
  EXPECT_FALSE(renegotiation.server_offer_answered());
  EXPECT_EQ(renegotiation.client_offer(), "");  // the re-offer proceeds
  EXPECT_EQ(renegotiation.outstanding(), Outstanding::kClientOffer);
}

TEST(RenegotiationTest, GlareTheClientsOfferCameFirstAndTheServersWaitsForItsAnswer) {
  Renegotiation renegotiation;
  ASSERT_EQ(renegotiation.client_offer(), "");
  EXPECT_FALSE(renegotiation.streams_changed());        // a line change meanwhile waits
  EXPECT_NE(renegotiation.client_offer(), "");          // a second client offer: 409
  EXPECT_TRUE(renegotiation.client_offer_answered());   // then the server offers
  renegotiation.server_offer_sent();
  EXPECT_EQ(renegotiation.outstanding(), Outstanding::kServerOffer);
}

TEST(RenegotiationTest, AClientOfferWithNothingMeanwhileNeedsNoServerOffer) {
  Renegotiation renegotiation;
  ASSERT_EQ(renegotiation.client_offer(), "");
  EXPECT_FALSE(renegotiation.client_offer_answered());
  EXPECT_TRUE(renegotiation.streams_changed());
}

TEST(RenegotiationTest, AFailedServerOfferOrANewPeerConnectionLeavesNothingOutstanding) {
  Renegotiation renegotiation;
  renegotiation.server_offer_sent();
  renegotiation.server_offer_failed();
  EXPECT_EQ(renegotiation.outstanding(), Outstanding::kNone);
  EXPECT_EQ(renegotiation.client_offer(), "");
  EXPECT_FALSE(renegotiation.streams_changed());
  renegotiation.reset();
  EXPECT_EQ(renegotiation.outstanding(), Outstanding::kNone);
  EXPECT_FALSE(renegotiation.changed_meanwhile());
  EXPECT_TRUE(renegotiation.streams_changed());
}

}  // namespace
}  // namespace partyline::core
