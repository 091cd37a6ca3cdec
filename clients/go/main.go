// vent-go-example: emits one event through vent-server's gRPC API
// (vent.v1.Vent/Emit) and prints the server's reply.
//
//	vent-go-example -server 127.0.0.1:50051 -channel threads::t1::new_message -json '{"message":"hi"}'
//
// Built by clients/go/build.sh with Debian's Go packages (GOPATH mode, no
// network); the vent/v1 stubs are generated from proto/vent/v1/vent.proto at
// build time. Exit 0 on success, 1 on a gRPC error (code and server message
// on stderr), 2 on bad flags.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	ventv1 "vent/v1"
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

	conn, err := grpc.Dial(*server, grpc.WithInsecure())
	if err != nil {
		fmt.Fprintf(os.Stderr, "vent-go-example: dial %s: %v\n", *server, err)
		os.Exit(1)
	}
	defer conn.Close()
	client := ventv1.NewVentClient(conn)

	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	if *apiKey != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+*apiKey)
	}
	resp, err := client.Emit(ctx, &ventv1.EmitRequest{
		Event: &ventv1.Event{Channel: *channel, Json: *payload},
	})
	if err != nil {
		st := status.Convert(err)
		fmt.Fprintf(os.Stderr, "vent-go-example: emit failed: %s: %s\n", st.Code(), st.Message())
		os.Exit(1)
	}
	fmt.Printf("id=%s receivers=%d duplicate=%t\n", resp.GetId(), resp.GetReceivers(), resp.GetDuplicate())
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
