// Go client of vent-server's gRPC API (vent.v1.Vent): package vent (Emit,
// EmitBatch, EmitStream, Subscribe) and the generated stubs in ventv1.
//
// The requirements are the versions Debian 12 ships, which the tests build
// against offline (GOPATH mode over /usr/share/gocode; see build.sh). go.sum
// is not committed: it can only be computed with access to the module proxy
// (`go mod tidy` writes it).
module vent.dev/go

go 1.19

require (
	google.golang.org/grpc v1.33.3
	google.golang.org/protobuf v1.28.1
)
