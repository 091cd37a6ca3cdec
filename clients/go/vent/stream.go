package vent

import (
	"context"
	"time"

	"vent.dev/go/ventv1"
)

// DefaultEventsPerMessage is how many events a Stream packs into one
// EmitStream message at most (the per-message cost dominates otherwise).
const DefaultEventsPerMessage = 256

// Stream is one EmitStream call: Send queues events, every
// EventsPerMessage of them go out as one message (gRPC flow control may
// block Send), Flush sends what is queued, CloseAndRecv flushes, ends the
// call and returns the totals. Events are published in order. Not safe for
// concurrent use.
type Stream struct {
	call             ventv1.Vent_EmitStreamClient
	pending          []*ventv1.Event
	EventsPerMessage int
}

// StreamResult is the server's answer to a whole stream.
type StreamResult struct {
	Published int64
	Receivers int64
}

// EmitStream opens a client stream; cancel ctx to abandon it.
func (c *Client) EmitStream(ctx context.Context) (*Stream, error) {
	call, err := c.stub.EmitStream(c.ctx(ctx))
	if err != nil {
		return nil, err
	}
	return &Stream{call: call, EventsPerMessage: DefaultEventsPerMessage}, nil
}

// Send queues one event; sends a message when EventsPerMessage are queued.
func (s *Stream) Send(e Event) error {
	ev, err := toProto(e)
	if err != nil {
		return err
	}
	s.pending = append(s.pending, ev)
	if len(s.pending) >= s.EventsPerMessage {
		return s.Flush()
	}
	return nil
}

// Flush sends the queued events as one message.
func (s *Stream) Flush() error {
	if len(s.pending) == 0 {
		return nil
	}
	err := s.call.Send(&ventv1.EmitStreamRequest{Events: s.pending})
	s.pending = nil
	return err // io.EOF: the server ended the call; CloseAndRecv says why
}

// CloseAndRecv flushes, ends the stream and returns the server's totals or
// the error that ended the call.
func (s *Stream) CloseAndRecv() (StreamResult, error) {
	if err := s.Flush(); err != nil {
		if _, rerr := s.call.CloseAndRecv(); rerr != nil {
			return StreamResult{}, rerr
		}
		return StreamResult{}, err
	}
	r, err := s.call.CloseAndRecv()
	if err != nil {
		return StreamResult{}, err
	}
	return StreamResult{Published: r.GetPublished(), Receivers: r.GetReceivers()}, nil
}

// Received is one event delivered by Subscribe.
type Received struct {
	Channel   string
	JSON      string    // exactly as published to Redis
	EmittedAt time.Time // when vent-server received it from Redis
}

// Subscription is one Subscribe call; cancel its context to end it.
type Subscription struct {
	call ventv1.Vent_SubscribeClient
}

// Subscribe listens to channels (exact names). It returns once Redis
// confirmed the subscription: every event published after that is
// delivered to Recv, in order per channel.
func (c *Client) Subscribe(ctx context.Context, channels ...string) (*Subscription, error) {
	call, err := c.stub.Subscribe(c.ctx(ctx), &ventv1.SubscribeRequest{Channels: channels})
	if err != nil {
		return nil, err
	}
	for {
		m, err := call.Recv()
		if err != nil {
			return nil, err
		}
		if m.GetReady() {
			return &Subscription{call: call}, nil
		}
	}
}

// Recv blocks for the next event; the error ends the subscription
// (context.Canceled after its context is cancelled, or the server's status,
// e.g. ResourceExhausted for a subscriber that fell too far behind).
func (s *Subscription) Recv() (Received, error) {
	for {
		m, err := s.call.Recv()
		if err != nil {
			return Received{}, err
		}
		ev := m.GetEvent()
		if ev == nil {
			continue
		}
		var at time.Time
		if ev.GetEmittedAt() != nil {
			at = ev.GetEmittedAt().AsTime()
		}
		return Received{Channel: ev.GetChannel(), JSON: ev.GetJson(), EmittedAt: at}, nil
	}
}
