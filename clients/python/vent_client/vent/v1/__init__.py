"""Generated gRPC/protobuf stubs of proto/vent/v1 (see gen_stubs.py)."""
