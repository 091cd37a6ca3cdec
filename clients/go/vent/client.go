// Package vent is the Go client of vent-server's gRPC API (vent.v1.Vent):
// publish events to Redis channels with Emit, EmitBatch and EmitStream, and
// listen to channels server-side with Subscribe.
//
//	c, err := vent.Dial("127.0.0.1:50051", vent.WithAPIKey(key))
//	defer c.Close()
//	r, err := c.Emit(ctx, "threads::t1::new_message", map[string]any{"message": "hi"})
//
// Payloads: a string, []byte or json.RawMessage is sent as JSON text exactly
// as given (it must be valid JSON; Redis receives it byte for byte); any
// other value goes through encoding/json. Errors are gRPC status errors:
// status.Code(err) is codes.InvalidArgument, Unauthenticated,
// PermissionDenied, Unavailable (nothing published), ResourceExhausted or
// DeadlineExceeded; status.Convert(err).Message() is the server's reason.
// A Client is safe for concurrent use.
package vent

import (
	"context"
	"encoding/json"
	"fmt"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"

	"vent.dev/go/ventv1"
)

// Event is one event to publish.
type Event struct {
	Channel string // exact Redis channel, 1..1024 bytes
	// Payload: string / []byte / json.RawMessage sent as is, else JSON-encoded.
	Payload any
	// Optional: a repeat within the server's window is not published again.
	IdempotencyKey string
}

// Result is the server's answer for one published event.
type Result struct {
	Receivers int64  // what Redis' PUBLISH reported
	ID        string // 26-character event id
	Duplicate bool   // IdempotencyKey seen before: nothing was published
}

// Client talks to one vent-server.
type Client struct {
	conn   *grpc.ClientConn // nil when the connection belongs to the caller
	stub   ventv1.VentClient
	apiKey string
}

type options struct {
	apiKey string
	creds  credentials.TransportCredentials
	dial   []grpc.DialOption
}

// Option configures Dial and New.
type Option func(*options)

// WithAPIKey sends `authorization: Bearer KEY` on every call.
func WithAPIKey(key string) Option { return func(o *options) { o.apiKey = key } }

// WithTransportCredentials uses TLS (default: plaintext).
func WithTransportCredentials(c credentials.TransportCredentials) Option {
	return func(o *options) { o.creds = c }
}

// WithDialOptions adds grpc.DialOptions (keepalive, interceptors, ...).
func WithDialOptions(d ...grpc.DialOption) Option {
	return func(o *options) { o.dial = append(o.dial, d...) }
}

// Dial connects to vent-server at address ("host:port"). The connection is
// made lazily; calls wait for it up to their context's deadline.
func Dial(address string, opts ...Option) (*Client, error) {
	var o options
	for _, f := range opts {
		f(&o)
	}
	dial := append([]grpc.DialOption{}, o.dial...)
	if o.creds != nil {
		dial = append(dial, grpc.WithTransportCredentials(o.creds))
	} else {
		dial = append(dial, grpc.WithInsecure())
	}
	conn, err := grpc.Dial(address, dial...)
	if err != nil {
		return nil, err
	}
	return &Client{conn: conn, stub: ventv1.NewVentClient(conn), apiKey: o.apiKey}, nil
}

// New wraps a connection the caller owns (Close does not close it).
func New(conn grpc.ClientConnInterface, opts ...Option) *Client {
	var o options
	for _, f := range opts {
		f(&o)
	}
	return &Client{stub: ventv1.NewVentClient(conn), apiKey: o.apiKey}
}

// Close closes the connection made by Dial.
func (c *Client) Close() error {
	if c.conn == nil {
		return nil
	}
	return c.conn.Close()
}

// Stub is the generated client, for what this package does not wrap.
func (c *Client) Stub() ventv1.VentClient { return c.stub }

func (c *Client) ctx(ctx context.Context) context.Context {
	if c.apiKey == "" {
		return ctx
	}
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+c.apiKey)
}

// JSONText is the JSON text a payload is sent as (see the package comment).
func JSONText(payload any) (string, error) {
	switch p := payload.(type) {
	case string:
		return p, nil
	case []byte:
		return string(p), nil
	case json.RawMessage:
		return string(p), nil
	}
	b, err := json.Marshal(payload)
	if err != nil {
		return "", fmt.Errorf("vent: payload is not JSON-encodable: %w", err)
	}
	return string(b), nil
}

func toProto(e Event) (*ventv1.Event, error) {
	text, err := JSONText(e.Payload)
	if err != nil {
		return nil, err
	}
	return &ventv1.Event{Channel: e.Channel, Json: text, IdempotencyKey: e.IdempotencyKey}, nil
}

func result(r *ventv1.EmitResponse) Result {
	return Result{Receivers: r.GetReceivers(), ID: r.GetId(), Duplicate: r.GetDuplicate()}
}

// Emit publishes one event on channel.
func (c *Client) Emit(ctx context.Context, channel string, payload any) (Result, error) {
	return c.EmitEvent(ctx, Event{Channel: channel, Payload: payload})
}

// EmitEvent publishes one event (with its idempotency key, if any).
func (c *Client) EmitEvent(ctx context.Context, e Event) (Result, error) {
	ev, err := toProto(e)
	if err != nil {
		return Result{}, err
	}
	r, err := c.stub.Emit(c.ctx(ctx), &ventv1.EmitRequest{Event: ev})
	if err != nil {
		return Result{}, err
	}
	return result(r), nil
}

// EmitBatch validates all events, then publishes them in order in one Redis
// round trip; one invalid event refuses the whole batch (nothing published).
func (c *Client) EmitBatch(ctx context.Context, events []Event) ([]Result, error) {
	req := &ventv1.EmitBatchRequest{Events: make([]*ventv1.Event, 0, len(events))}
	for _, e := range events {
		ev, err := toProto(e)
		if err != nil {
			return nil, err
		}
		req.Events = append(req.Events, ev)
	}
	r, err := c.stub.EmitBatch(c.ctx(ctx), req)
	if err != nil {
		return nil, err
	}
	out := make([]Result, 0, len(r.GetResults()))
	for _, x := range r.GetResults() {
		out = append(out, result(x))
	}
	return out, nil
}
