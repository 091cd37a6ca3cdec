// The production EventSink / ChannelSource: thin adapters over the Redis
// Publisher and Subscriber (same threading contracts as those classes).
#ifndef VENT_SERVER_REDIS_SINKS_H_
#define VENT_SERVER_REDIS_SINKS_H_

#include "server/sinks.h"
#include "vent/redis/publisher.h"
#include "vent/redis/subscriber.h"

namespace vent::server {

class PublisherSink final : public EventSink {
 public:
  explicit PublisherSink(redis::Publisher* publisher) : publisher_(publisher) {}
  void Publish(std::string channel, std::string message,
               Callback done) override {
    publisher_->Publish(std::move(channel), std::move(message),
                        std::move(done));
  }
  void PublishBatch(std::vector<Message> messages,
                    BatchCallback done) override {
    std::vector<redis::Publisher::Message> m;
    m.reserve(messages.size());
    for (auto& x : messages)
      m.push_back({std::move(x.channel), std::move(x.message)});
    publisher_->PublishBatch(std::move(m), std::move(done));
  }
  bool connected() const override { return publisher_->connected(); }

 private:
  redis::Publisher* const publisher_;
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

}  // namespace vent::server

#endif  // VENT_SERVER_REDIS_SINKS_H_
