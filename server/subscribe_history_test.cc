// SubscribeHistory against a reference model: simulated channel histories
// (offsets, trimming to `size`, lost histories with new epochs, raw
// publishes), a call that resumes from a random position (recent, too old,
// from the future, of a lost epoch, "nothing seen yet", none), live events
// that arrive before or after the read's answer, in any split. Checked: the
// events delivered after ready are exactly the model's (each once, in
// order); `recovered` is exactly the model's; the start position is the
// one the delivered events follow.
#include "server/subscribe_history.h"

#include <deque>
#include <limits>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gtest/gtest.h"
#include "vent/v1/vent.pb.h"

namespace vent::server {
namespace {

struct Published {
  size_t channel = 0;
  int64_t offset = 0;  // 0: raw publish
  std::string epoch;
  std::string json;
};

// One channel's history in "Redis".
struct Sim {
  std::string name;
  int64_t size = 0;
  bool exists = false;
  std::string epoch;
  int64_t last = 0;
  std::deque<Published> stream;

  void Lose() {
    exists = false;
    stream.clear();
  }
  Published Publish(size_t ci, int* epochs, int* counter) {
    if (!exists) {
      exists = true;
      epoch = absl::StrFormat("%08d", ++*epochs);  // sorts by creation
      last = 0;
      stream.clear();
    }
    Published p{ci, ++last, epoch, absl::StrCat("{\"n\":", ++*counter, "}")};
    stream.push_back(p);
    while (static_cast<int64_t>(stream.size()) > size) stream.pop_front();
    return p;
  }
  // `create`: a missing history gets its epoch now (vent-server's reads).
  redis::HistoryState Read(int64_t after, int64_t max, bool create,
                           int* epochs) {
    redis::HistoryState st;
    if (!exists && create) {
      exists = true;
      epoch = absl::StrFormat("%08d", ++*epochs);
      last = 0;
      stream.clear();
    }
    if (!exists) return st;
    st.exists = true;
    st.epoch = epoch;
    st.last = last;
    st.first = stream.empty() ? 0 : stream.front().offset;
    if (after < last) {
      for (const Published& p : stream) {
        if (p.offset > after && static_cast<int64_t>(st.entries.size()) < max) {
          st.entries.push_back({p.offset, p.json});
        }
      }
    }
    return st;
  }
};

std::shared_ptr<const SharedEvent> Live(const Sim& sim, const Published& p) {
  auto payload = std::make_shared<const std::string>(p.json);
  absl::string_view json = *payload;
  return EncodeSubscribeEvent(sim.name, payload, json, p.offset, p.epoch,
                              absl::Now());
}

struct Seen {
  std::string channel;
  int64_t offset = 0;
  std::string epoch;
  std::string json;
  bool operator==(const Seen&) const = default;
};
std::ostream& operator<<(std::ostream& os, const Seen& s) {
  return os << s.channel << "@" << s.epoch << ":" << s.offset << " " << s.json;
}

Seen Decode(const SharedEvent& e) {
  std::vector<grpc::Slice> slices;
  EXPECT_TRUE(e.bytes.Dump(&slices).ok());
  std::string bytes;
  for (auto& s : slices)
    bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  v1::SubscribeResponse r;
  EXPECT_TRUE(r.ParseFromString(bytes));
  EXPECT_EQ(bytes.size(), e.size);
  return {r.event().channel(), r.event().offset(), r.event().epoch(),
          r.event().json()};
}

TEST(SubscribeHistory, MatchesModel) {
  const int kRuns = 3000;
  for (int run = 0; run < kRuns; ++run) {
    SCOPED_TRACE(absl::StrCat("run ", run));
    std::mt19937 rng(run);
    auto chance = [&](int pct) {
      return std::uniform_int_distribution<int>(0, 99)(rng) < pct;
    };
    auto pick = [&](int lo, int hi) {
      return std::uniform_int_distribution<int>(lo, hi)(rng);
    };
    int epochs = 0, counter = 0;
    const bool create = chance(50);
    const size_t nch = static_cast<size_t>(pick(1, 3));
    std::vector<Sim> sims(nch);
    std::vector<SubscribeHistory::Channel> channels;
    std::vector<std::vector<Published>> all(nch);  // everything published
    for (size_t c = 0; c < nch; ++c) {
      sims[c].name = absl::StrCat("ch", c);
      sims[c].size = chance(20) ? 0 : pick(1, 8);  // 0: no history
    }
    auto publish = [&](size_t c) {
      Sim& s = sims[c];
      Published p;
      if (s.size == 0 || chance(8)) {
        p = {c, 0, "", absl::StrCat("{\"raw\":", ++counter, "}")};
      } else {
        if (chance(4)) s.Lose();
        p = s.Publish(c, &epochs, &counter);
      }
      all[c].push_back(p);
      return p;
    };
    // Before the call.
    for (int i = pick(0, 20); i > 0; --i) publish(pick(0, nch - 1));
    // The call's positions: one the caller saw, or odd ones.
    for (size_t c = 0; c < nch; ++c) {
      SubscribeHistory::Channel ch{sims[c].name, sims[c].size, std::nullopt};
      std::vector<Published> seen;
      for (const Published& p : all[c])
        if (p.offset > 0) seen.push_back(p);
      int kind = pick(0, 9);
      if (kind <= 4 && !seen.empty()) {
        const Published& p = seen[pick(0, seen.size() - 1)];
        ch.since = SubscribeHistory::Position{p.offset, p.epoch};
      } else if (kind == 5) {
        ch.since = SubscribeHistory::Position{0, ""};
      } else if (kind == 6) {
        ch.since = SubscribeHistory::Position{pick(1, 30), "99999999"};
      } else if (kind == 7 && sims[c].exists) {
        ch.since = SubscribeHistory::Position{sims[c].last + pick(1, 3),
                                              sims[c].epoch};
      } else if (kind == 8) {
        ch.since = SubscribeHistory::Position{pick(1, 5), "00000000"};
      }
      channels.push_back(ch);
    }
    SubscribeHistory h(channels, {1 << 20, 1 << 30});
    std::vector<std::string> names;
    for (const auto& c : h.channels()) names.push_back(c.name);

    // Subscribed (acked): everything from here on is delivered live.
    std::vector<Published> live;
    for (int i = pick(0, 10); i > 0; --i)
      live.push_back(publish(pick(0, nch - 1)));
    // The reads, answered now (state at this point), live events split
    // around the answers at random.
    std::map<size_t, redis::HistoryState> read_state;
    std::vector<SubscribeHistory::Read> reads = h.Reads();
    for (const auto& r : reads) {
      size_t c = 0;
      while (sims[c].name != r.channel) ++c;
      read_state[r.index] = sims[c].Read(r.after, r.max, create, &epochs);
    }
    for (int i = pick(0, 10); i > 0; --i)
      live.push_back(publish(pick(0, nch - 1)));
    const size_t split = static_cast<size_t>(pick(0, live.size()));
    std::vector<Seen> delivered;
    for (size_t i = 0; i < split; ++i) {
      ASSERT_TRUE(h.Capture(Live(sims[live[i].channel], live[i])).ok());
    }
    for (const auto& [index, st] : read_state) {
      ASSERT_FALSE(h.done());
      h.OnRead(index, st);
    }
    ASSERT_TRUE(h.done());
    auto f = h.Finish(absl::Now());
    ASSERT_TRUE(f.ok()) << f.status();
    for (const auto& e : f->replay) delivered.push_back(Decode(*e));
    for (const auto& e : f->captured) delivered.push_back(Decode(*e));
    for (size_t i = split; i < live.size(); ++i) {
      auto e = Live(sims[live[i].channel], live[i]);
      if (h.Admit(*e)) delivered.push_back(Decode(*e));
    }

    // The model, per channel.
    ASSERT_EQ(f->starts.size(), h.channels().size());
    for (size_t k = 0; k < h.channels().size(); ++k) {
      const SubscribeHistory::Channel& ch = h.channels()[k];
      const SubscribeHistory::Start& start = f->starts[k];
      size_t c = 0;
      while (sims[c].name != ch.name) ++c;
      SCOPED_TRACE(absl::StrCat("channel ", ch.name));
      ASSERT_EQ(start.channel, ch.name);
      std::vector<Seen> got;
      for (const Seen& s : delivered)
        if (s.channel == ch.name) got.push_back(s);
      std::vector<Seen> want;
      if (ch.size == 0) {
        EXPECT_FALSE(start.recovered);
        for (const Published& p : live) {
          if (p.channel == c) want.push_back({ch.name, 0, "", p.json});
        }
        EXPECT_EQ(got, want);
        continue;
      }
      const redis::HistoryState& st = read_state.at(k);
      // Recoverable: every event after the position is still held.
      bool recoverable = false;
      if (ch.since) {
        const auto& p = *ch.since;
        if (!st.exists) {
          recoverable = p.epoch.empty() && p.offset == 0;
        } else if (p.epoch.empty()) {
          recoverable = p.offset == 0 && (st.last == 0 || st.first == 1);
        } else {
          recoverable = p.epoch == st.epoch && p.offset <= st.last &&
                        (p.offset == st.last || p.offset + 1 >= st.first);
        }
      }
      EXPECT_EQ(start.recovered, recoverable);
      EXPECT_EQ(start.reason.empty(), recoverable || !ch.since);
      // Start position: the since given (recovered) or the read's.
      SubscribeHistory::Position from =
          recoverable ? *ch.since
                      : SubscribeHistory::Position{st.exists ? st.last : 0,
                                                   st.exists ? st.epoch : ""};
      EXPECT_EQ(start.position.offset, from.offset);
      EXPECT_EQ(start.position.epoch, from.epoch);
      // Wanted: every positioned event after `from` in publish order (those
      // published before the call only when recovered), and the raw ones
      // published live.
      std::vector<Published> events;
      const size_t before = all[c].size() - [&] {
        size_t n = 0;
        for (const Published& p : live) n += p.channel == c;
        return n;
      }();
      for (size_t i = 0; i < all[c].size(); ++i) {
        const Published& p = all[c][i];
        if (p.offset == 0) {
          if (i >= before) want.push_back({ch.name, 0, "", p.json});
          continue;
        }
        // After the start, and not of an epoch lost before the read (a
        // caller that saw nothing gets the read's epoch only).
        if (redis::PositionBefore(from.epoch, from.offset, p.epoch, p.offset) &&
            !(p.epoch < st.epoch)) {
          want.push_back({ch.name, p.offset, p.epoch, p.json});
        }
      }
      // Raw publishes come in arrival order, positioned ones in offset
      // order: compare each kind's order, and the total.
      auto split_kinds = [](const std::vector<Seen>& v, bool raw) {
        std::vector<Seen> out;
        for (const Seen& s : v)
          if ((s.offset == 0) == raw) out.push_back(s);
        return out;
      };
      EXPECT_EQ(split_kinds(got, false), split_kinds(want, false));
      EXPECT_EQ(split_kinds(got, true), split_kinds(want, true));
      if (HasFailure()) return;
    }
  }
}

TEST(SubscribeHistory, ReadFailureIsUnavailable) {
  SubscribeHistory h({{"a", 10, SubscribeHistory::Position{3, "e"}}}, {});
  ASSERT_EQ(h.Reads().size(), 1u);
  h.OnRead(0, absl::InternalError("boom"));
  auto f = h.Finish(absl::Now());
  EXPECT_TRUE(absl::IsUnavailable(f.status())) << f.status();
}

TEST(SubscribeHistory, CaptureIsBounded) {
  SubscribeHistory h({{"a", 10, std::nullopt}}, {2, 1 << 20});
  auto e = EncodeSubscribeEvent("a", std::make_shared<std::string>("1"),
                                absl::Now());
  ASSERT_TRUE(h.Capture(e).ok());
  ASSERT_TRUE(h.Capture(e).ok());
  EXPECT_TRUE(absl::IsResourceExhausted(h.Capture(e)));
}

TEST(SubscribeHistory, NotNeededWithoutHistoryOrPositions) {
  SubscribeHistory h({{"a", 0, std::nullopt}, {"b", 0, std::nullopt}}, {});
  EXPECT_FALSE(h.needed());
}

}  // namespace
}  // namespace vent::server
