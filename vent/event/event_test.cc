#include "vent/event/event.h"

#include <set>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "vent/event/event_id.h"

namespace vent::event {
namespace {

using google::protobuf::Struct;
using google::protobuf::Value;

TEST(Encode, JsonIsPublishedByteForByte) {
  std::string json = "{ \"b\" : 1,\n \"a\":\"\\u00e9\" }";
  auto m = Encode("ch::1", json, nullptr, Limits{}, "event");
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->channel, "ch::1");
  EXPECT_EQ(m->message, json);
}

TEST(Encode, JsonWinsOverData) {
  Struct data;
  (*data.mutable_fields())["x"].set_number_value(1);
  auto m = Encode("c", "[1]", &data, Limits{}, "event");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->message, "[1]");
}

TEST(Encode, DataIsSerializedCompactly) {
  Struct data;
  auto& f = *data.mutable_fields();
  f["n"].set_number_value(3);
  auto m = Encode("c", "", &data, Limits{}, "event");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->message, "{\"n\":3}");
}

TEST(Encode, NoPayload) {
  auto m = Encode("c", "", nullptr, Limits{}, "events[0]");
  EXPECT_EQ(m.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(m.status().message(), "events[0]: no payload (set json or data)");
}

TEST(Encode, ErrorsNameTheField) {
  EXPECT_EQ(Encode("", "1", nullptr, Limits{}, "event").status().message(),
            "event.channel: must not be empty");
  EXPECT_THAT(
      std::string(
          Encode("c", "{", nullptr, Limits{}, "events[3]").status().message()),
      ::testing::StartsWith("events[3].json: not valid JSON at offset 1"));
  Limits small;
  small.max_payload = 5;
  Struct data;
  (*data.mutable_fields())["long"].set_string_value("value");
  EXPECT_EQ(Encode("c", "", &data, small, "event").status().message(),
            "event.data: 16 bytes is over the 5-byte limit (--max-payload)");
}

TEST(StructToJson, AllKinds) {
  Struct s;
  Value list;
  auto* l = list.mutable_list_value();
  l->add_values()->set_number_value(1.5);
  l->add_values()->set_bool_value(true);
  l->add_values()->set_null_value(google::protobuf::NULL_VALUE);
  l->add_values()->set_string_value("q\"\\\n\x01");
  l->add_values()->mutable_struct_value();
  l->add_values()->set_number_value(-1e300);
  l->add_values()->set_number_value(9007199254740993.0);
  (*s.mutable_fields())["l"] = list;
  auto j = StructToJson(s, "event.data");
  ASSERT_TRUE(j.ok());
  EXPECT_EQ(*j,
            "{\"l\":[1.5,true,null,\"q\\\"\\\\\\n\\u0001\",{},-1e+300,"
            "9007199254740992]}");
}

TEST(StructToJson, NonFiniteIsRefused) {
  Struct s;
  (*s.mutable_fields())["x"].set_number_value(std::nan(""));
  auto j = StructToJson(s, "event.data");
  EXPECT_EQ(j.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(j.status().message()),
              ::testing::StartsWith("event.data: number"));
}

TEST(Decode, KeepsBytes) {
  auto msg = std::make_shared<const std::string>("not json at all");
  auto e = Decode("c", msg);
  EXPECT_EQ(e.channel, "c");
  EXPECT_EQ(e.json.get(), msg.get());
}

TEST(EventId, ShapeAndUniqueness) {
  std::set<std::string> seen;
  absl::Time t = absl::FromUnixMillis(1700000000000);
  for (int i = 0; i < 10000; ++i) {
    std::string id = NewEventId(t);
    ASSERT_EQ(id.size(), kEventIdLength);
    for (char c : id)
      ASSERT_NE(std::string("0123456789ABCDEFGHJKMNPQRSTVWXYZ").find(c),
                std::string::npos);
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 10000u);
  // Time prefix sorts by time.
  EXPECT_LT(NewEventId(t).substr(0, 10),
            NewEventId(t + absl::Milliseconds(1)).substr(0, 10));
  EXPECT_EQ(NewEventId(t).substr(0, 10), NewEventId(t).substr(0, 10));
}

}  // namespace
}  // namespace vent::event
