// The production EventSink / ChannelSource: thin adapters over the Redis
// Publisher and Subscriber (same threading contracts as those classes).
#ifndef VENT_SERVER_REDIS_SINKS_H_
#define VENT_SERVER_REDIS_SINKS_H_

#include <memory>
#include <optional>

#include "server/sinks.h"
#include "vent/pub/catalog.h"
#include "vent/redis/publisher.h"
#include "vent/redis/subscriber.h"

namespace vent::server {

// Channels of publications with `history:` (docs/history.md) are published
// with history: appended to the channel's Redis stream and published in an
// envelope, atomically. Other channels: plain PUBLISH, byte for byte.
class PublisherSink final : public EventSink {
 public:
  PublisherSink(redis::Publisher* publisher,
                std::shared_ptr<const pub::Catalog> catalog = nullptr)
      : publisher_(publisher), catalog_(std::move(catalog)) {}
  void Publish(std::string channel, std::string message,
               Callback done) override {
    std::optional<redis::HistorySpec> history = HistoryOf(channel);
    publisher_->Publish(std::move(channel), std::move(message), std::move(done),
                        history);
  }
  void PublishBatch(std::vector<Message> messages,
                    BatchCallback done) override {
    std::vector<redis::Publisher::Message> m;
    m.reserve(messages.size());
    for (auto& x : messages) {
      std::optional<redis::HistorySpec> history = HistoryOf(x.channel);
      m.push_back({std::move(x.channel), std::move(x.message), history});
    }
    publisher_->PublishBatch(std::move(m), std::move(done));
  }
  bool connected() const override { return publisher_->connected(); }

 private:
  std::optional<redis::HistorySpec> HistoryOf(const std::string& channel) {
    if (catalog_ == nullptr || !catalog_->has_history()) return std::nullopt;
    std::optional<pub::History> h = catalog_->HistoryFor(channel);
    if (!h) return std::nullopt;
    return redis::HistorySpec{h->size, h->ttl};
  }

  redis::Publisher* const publisher_;
  const std::shared_ptr<const pub::Catalog> catalog_;
};

class SubscriberSource final : public ChannelSource {
 public:
  explicit SubscriberSource(redis::Subscriber* subscriber)
      : subscriber_(subscriber) {}
  void Subscribe(const std::string& channel,
                 absl::AnyInvocable<void(absl::Status) &&> on_ack) override {
    subscriber_->Subscribe(channel, std::move(on_ack));
  }
  void Unsubscribe(const std::string& channel) override {
    subscriber_->Unsubscribe(channel);
  }
  bool connected() const override { return subscriber_->connected(); }

 private:
  redis::Subscriber* const subscriber_;
};

// History reads for Subscribe's recovery (docs/history.md): the read script
// (which gives a channel without history its epoch now, so every start
// position names one) over `reader`, a Redis connection of its own (a Publisher
// used for commands, so a large read never delays emits). Sizes come from the
// config's publications, as for PublisherSink.
class RedisHistorySource final : public HistorySource {
 public:
  RedisHistorySource(redis::Publisher* reader,
                     std::shared_ptr<const pub::Catalog> catalog)
      : reader_(reader), catalog_(std::move(catalog)) {}
  int64_t SizeOf(const std::string& channel) const override {
    if (catalog_ == nullptr || !catalog_->has_history()) return 0;
    std::optional<pub::History> h = catalog_->HistoryFor(channel);
    return h ? h->size : 0;
  }
  void Read(const std::string& channel, int64_t after, int64_t max,
            ReadCallback done) override {
    absl::StatusOr<redis::HistoryKeys> keys = redis::HistoryKeysFor(channel);
    std::optional<pub::History> h =
        catalog_ == nullptr ? std::nullopt : catalog_->HistoryFor(channel);
    if (!keys.ok() || !h) {
      std::move(done)(!keys.ok() ? keys.status()
                                 : absl::InternalError("no history"));
      return;
    }
    reader_->Call(
        redis::HistoryReadCommand(*keys, after, max, h->ttl, redis::NewEpoch()),
        channel,
        [done =
             std::move(done)](absl::StatusOr<redis::ReplyPtr> reply) mutable {
          if (!reply.ok()) {
            std::move(done)(reply.status());
            return;
          }
          std::move(done)(redis::ParseHistoryReadReply(**reply));
        });
  }

 private:
  redis::Publisher* const reader_;
  const std::shared_ptr<const pub::Catalog> catalog_;
};

}  // namespace vent::server

#endif  // VENT_SERVER_REDIS_SINKS_H_
