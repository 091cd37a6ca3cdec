// A model checker for the bridge's connection logic (test support, not part
// of vent-bridge). It drives the real DdpHost (DDP session, subscriptions,
// login/logout/expiry, authorizer answers) and the real ChannelRegistry
// (Redis acks, fan-out) of several connections, with fakes behind their
// seams: a Redis that confirms SUBSCRIBEs and routes messages in the order a
// real one would, an authorizer whose answers arrive in any order, a
// transport that runs deferred callbacks in any order, and a fake clock.
//
// Every Step() applies one random operation (client message, Redis step,
// authorizer answer, deferred callback, clock tick, connection open/close);
// after each step the harness checks a small reference model:
//  * what the client was told last about a sub id (ready / nosub) decides
//    whether it gets events: no event unless the last word was `ready`, and
//    none after `nosub` or `unsub`;
//  * no loss: an event published while a sub was ready (and undisturbed
//    until the event reached the bridge) is delivered to it, exactly once;
//  * the session's active ids equal the client's view (every removal was
//    announced with a nosub) and the host's subscriptions (one per id);
//  * no `ready` for an authorizer answer that is stale, and none after deny;
//  * asynchronous login: no message sent after a `login` is processed before
//    that login's result; an answer that is not the waiting login's (late,
//    after its timeout) changes nothing; a failed or timed-out login is a
//    403, never a login; the login is refused by its deadline; a queue over
//    its bound closes the connection (1008);
//  * delivery collection: `added` for document "i" of __vent.<rand>.<pub>
//    before the first `ready` of a sub id, never twice; events only while
//    the client holds the document; `removed` before every nosub that ends
//    a sub holding it (unsub, refusal on re-run, deny), nothing on close;
//  * limits: at most max_subscriptions per connection;
//  * gauges: vent_bridge_subscriptions equals the model's ready count; the
//    registry's channels equal what Redis was asked for and the union of the
//    registered subscriptions' channels;
//  * history (a publication over two channels with a 3-event stream each,
//    reads answered late and in any order, histories lost): live events
//    of a ready sub come with the next offset of their channel (no gap,
//    no duplicate); events before `ready` are, when it says recovered,
//    exactly the ones after the position the client resubscribed from; it
//    never says not recovered while the model's stream still had them;
//  * Finish(): after every connection closed nothing is left anywhere.
// Failures are recorded (with a trace of the steps), not thrown, so the
// gtest (ddp_host_model_test.cc) and the libFuzzer target
// (ddp_host_model_fuzz.cc) report them their own way.
#ifndef VENT_BRIDGE_DDP_HOST_MODEL_H_
#define VENT_BRIDGE_DDP_HOST_MODEL_H_

#include <cstdint>
#include <memory>
#include <string>

namespace vent::bridge::testing {

class ModelHarness {
 public:
  ModelHarness();
  ~ModelHarness();
  ModelHarness(const ModelHarness&) = delete;
  ModelHarness& operator=(const ModelHarness&) = delete;

  // One operation: `choice` picks it, `arg` its parameters (any values).
  void Step(uint32_t choice, uint32_t arg);
  // Closes every connection, delivers what is in flight, checks that nothing
  // is left (registry, Redis, gauges).
  void Finish();

  bool failed() const;
  // The first violation and the steps that led to it.
  std::string report() const;
  // Counters, so tests can assert that the random walk reached the
  // interesting states (events delivered, authorizer answers, expiries...).
  struct Coverage {
    uint64_t events = 0, readies = 0, nosubs = 0, gaps = 0, stale_answers = 0,
             expiries = 0, limit_hits = 0, closes = 0, documents = 0,
             removals = 0, async_logins = 0, login_timeouts = 0,
             queued_messages = 0, queue_overflows = 0, recovered = 0,
             not_recovered = 0, early_events = 0, history_readies = 0,
             since_sent = 0;
  };
  const Coverage& coverage() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace vent::bridge::testing

#endif  // VENT_BRIDGE_DDP_HOST_MODEL_H_
