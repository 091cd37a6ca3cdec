#!/usr/bin/python3
"""Example Authorizer backend for vent-bridge (vent.v1.Authorizer), in Python.

    /usr/bin/python3 authorizer.py --listen 127.0.0.1:50061 [--api-key KEY]

Uses Debian's python3-grpcio. The stubs are generated at start into a
temporary directory with protoc and grpc_python_plugin from
proto/vent/v1/authorizer.proto, so nothing generated is checked in.

Prints "authorizer listening on HOST:PORT" once bound (port 0 = any free
port). SIGINT/SIGTERM shut it down. Policy: see decide() and README.md.
"""

import argparse
import hmac
import importlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from concurrent import futures

import grpc

HERE = os.path.dirname(os.path.abspath(__file__))
PROTO_ROOT = os.path.normpath(os.path.join(HERE, "..", "..", "..", "proto"))
PROTO_FILE = "vent/v1/authorizer.proto"


def load_stubs(proto_root, plugin):
    """Generates and imports authorizer_pb2 / authorizer_pb2_grpc."""
    out = tempfile.mkdtemp(prefix="vent-authorizer-")
    try:
        subprocess.run(
            ["protoc", f"-I{proto_root}", f"--python_out={out}",
             f"--grpc_python_out={out}",
             f"--plugin=protoc-gen-grpc_python={plugin}", PROTO_FILE],
            check=True)
        sys.path.insert(0, out)
        pb2 = importlib.import_module("vent.v1.authorizer_pb2")
        pb2_grpc = importlib.import_module("vent.v1.authorizer_pb2_grpc")
        return pb2, pb2_grpc
    finally:
        if out in sys.path:
            sys.path.remove(out)
        shutil.rmtree(out, ignore_errors=True)


def decide(user, publication, params_json):
    """The example policy: (allow, reason, cache_seconds).

    - "admin" may listen to everything;
    - "threadMessage" is allowed when params.threadId is the user's id or
      starts with "<userId>-" (so user "u1" does NOT get thread "u10-x");
    - anything else is denied (deny by default).
    """
    if user == "admin":
        return True, "", 60
    if publication != "threadMessage":
        return False, "No access rule for this publication", 60
    if not user:
        return False, "Login required", 0
    try:
        params = json.loads(params_json or "{}")
    except ValueError:
        return False, "Bad params", -1
    thread_id = params.get("threadId") if isinstance(params, dict) else None
    if not isinstance(thread_id, str):
        thread_id = ""
    if thread_id == user or thread_id.startswith(user + "-"):
        return True, "", 30
    return False, "This thread belongs to another user", 30


def make_servicer(pb2, pb2_grpc, api_key):
    expected = ("Bearer " + api_key).encode() if api_key else None

    class Authorizer(pb2_grpc.AuthorizerServicer):
        def Authorize(self, request, context):
            if expected is not None:
                got = dict(context.invocation_metadata()).get("authorization", "")
                if not hmac.compare_digest(got.encode(), expected):
                    context.abort(grpc.StatusCode.UNAUTHENTICATED, "bad API key")
            allow, reason, cache_seconds = decide(
                request.user_id, request.publication, request.params_json)
            return pb2.AuthorizeResponse(allow=allow, reason=reason,
                                         cache_seconds=cache_seconds)

    return Authorizer()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listen", default="127.0.0.1:50061")
    parser.add_argument("--api-key",
                        default=os.environ.get("VENT_AUTHORIZER_API_KEY", ""))
    parser.add_argument("--proto-root", default=PROTO_ROOT)
    parser.add_argument("--grpc-plugin", default="/usr/bin/grpc_python_plugin")
    args = parser.parse_args()

    pb2, pb2_grpc = load_stubs(args.proto_root, args.grpc_plugin)
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    pb2_grpc.add_AuthorizerServicer_to_server(
        make_servicer(pb2, pb2_grpc, args.api_key), server)
    port = server.add_insecure_port(args.listen)
    if port == 0:
        print(f"authorizer.py: cannot listen on {args.listen}", file=sys.stderr)
        return 1
    server.start()
    host = args.listen.rsplit(":", 1)[0]
    print(f"authorizer listening on {host}:{port}", flush=True)

    stopped = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopped.set())
    stopped.wait()
    server.stop(grace=1).wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
