#!/usr/bin/python3
"""Emits one event and a small batch to a running vent-server.

    /usr/bin/python3 clients/python/example.py [host:port] [api-key]
"""
import os
import sys

import grpc

from vent_client import VentClient


def main():
    address = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("VENT_ADDRESS", "127.0.0.1:50051")
    api_key = sys.argv[2] if len(sys.argv) > 2 else os.environ.get("VENT_API_KEY")
    with VentClient(address, api_key=api_key) as vent:
        try:
            r = vent.emit("threads::t1::new_message", {"text": "hello from Python"})
            print(f"emitted {r.id} to {r.receivers} receiver(s)")
            results = vent.emit_batch([
                ("threads::t1::typing", {"user": "u1"}),
                ("threads::t1::new_message", '{"text": "raw JSON text is sent byte for byte"}'),
            ])
            print("batch:", ", ".join(x.id for x in results))
        except grpc.RpcError as e:
            print(f"emit failed: {e.code().name}: {e.details()}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
