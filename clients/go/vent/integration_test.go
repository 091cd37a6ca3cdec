//go:build integration

// Against a running vent-server: go test -tags integration ./vent
// with VENT_SERVER=host:port (clients/go/go.test.js starts one).
package vent

import (
	"context"
	"os"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestEmitAndSubscribe(t *testing.T) {
	addr := os.Getenv("VENT_SERVER")
	if addr == "" {
		t.Fatal("VENT_SERVER (vent-server address) is not set")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const ch = "go::pkg::events"
	subCtx, stop := context.WithCancel(ctx)
	sub, err := c.Subscribe(subCtx, ch)
	if err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	r, err := c.Emit(ctx, ch, map[string]int{"n": 1})
	if err != nil || r.Receivers != 1 || len(r.ID) != 26 || r.Duplicate {
		t.Fatalf("Emit = %+v, %v", r, err)
	}
	rs, err := c.EmitBatch(ctx, []Event{{Channel: ch, Payload: `{"n": 2}`}, {Channel: ch, Payload: []byte(`{"n":3}`)}})
	if err != nil || len(rs) != 2 {
		t.Fatalf("EmitBatch = %+v, %v", rs, err)
	}
	s, err := c.EmitStream(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s.EventsPerMessage = 2
	for i := 4; i <= 6; i++ {
		if err := s.Send(Event{Channel: ch, Payload: map[string]int{"n": i}}); err != nil {
			t.Fatal(err)
		}
	}
	totals, err := s.CloseAndRecv()
	if err != nil || totals.Published != 3 || totals.Receivers != 3 {
		t.Fatalf("EmitStream = %+v, %v", totals, err)
	}
	want := []string{`{"n":1}`, `{"n": 2}`, `{"n":3}`, `{"n":4}`, `{"n":5}`, `{"n":6}`}
	for i, w := range want {
		got, err := sub.Recv()
		if err != nil {
			t.Fatalf("Recv %d: %v", i, err)
		}
		if got.Channel != ch || got.JSON != w || got.EmittedAt.IsZero() {
			t.Fatalf("Recv %d = %+v, want %s", i, got, w)
		}
	}
	stop()
	if _, err := sub.Recv(); status.Code(err) != codes.Canceled {
		t.Fatalf("Recv after cancel: %v, want Canceled", err)
	}
	// Invalid JSON: InvalidArgument with the server's reason.
	_, err = c.Emit(ctx, ch, `{oops`)
	if status.Code(err) != codes.InvalidArgument {
		t.Fatalf("Emit(bad JSON) = %v, want InvalidArgument", err)
	}
}
