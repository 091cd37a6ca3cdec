// vent-go-example: emits one event through vent-server's gRPC API with the
// vent package (vent.dev/go/vent) and prints the server's reply.
//
//	vent-go-example -server 127.0.0.1:50051 -channel threads::t1::new_message -json '{"message":"hi"}'
//
// Built by clients/go/build.sh with Debian's Go packages (GOPATH mode, no
// network). Exit 0 on success, 1 on a gRPC error (code and server message
// on stderr), 2 on bad flags.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"google.golang.org/grpc/status"

	"vent.dev/go/vent"
)

func main() {
	server := flag.String("server", envOr("VENT_SERVER", "127.0.0.1:50051"), "vent-server gRPC address")
	channel := flag.String("channel", "", "Redis channel (required)")
	payload := flag.String("json", "", "event JSON text (required)")
	apiKey := flag.String("api-key", os.Getenv("VENT_API_KEY"), "API key (authorization: Bearer)")
	timeout := flag.Duration("timeout", 10*time.Second, "call deadline")
	flag.Parse()
	if *channel == "" || *payload == "" || flag.NArg() != 0 {
		fmt.Fprintln(os.Stderr, "usage: vent-go-example -channel CHANNEL -json JSON [-server HOST:PORT] [-api-key KEY]")
		os.Exit(2)
	}

	client, err := vent.Dial(*server, vent.WithAPIKey(*apiKey))
	if err != nil {
		fmt.Fprintf(os.Stderr, "vent-go-example: dial %s: %v\n", *server, err)
		os.Exit(1)
	}
	defer client.Close()

	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	r, err := client.Emit(ctx, *channel, *payload)
	if err != nil {
		st := status.Convert(err)
		fmt.Fprintf(os.Stderr, "vent-go-example: emit failed: %s: %s\n", st.Code(), st.Message())
		os.Exit(1)
	}
	fmt.Printf("id=%s receivers=%d duplicate=%t\n", r.ID, r.Receivers, r.Duplicate)
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
