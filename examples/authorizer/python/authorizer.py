#!/usr/bin/python3
"""Example Authorizer backend for vent-bridge (vent.v1.Authorizer), in Python.

    /usr/bin/python3 authorizer.py --listen 127.0.0.1:50061 [--api-key KEY]
        [--users users.json] [--login-expiration-days 90]

Uses Debian's python3-grpcio. The stubs are generated at start into a
temporary directory with protoc and grpc_python_plugin from
proto/vent/v1/authorizer.proto, so nothing generated is checked in.

Prints "authorizer listening on HOST:PORT" once bound (port 0 = any free
port). SIGINT/SIGTERM shut it down. Policy: see decide() and README.md; logins
(vent-bridge --login authorizer, Meteor resume tokens): see authenticate().
"""

import argparse
import base64
import datetime
import hashlib
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
import time
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


def hash_token(token):
    """Meteor's hashedToken: base64(SHA-256(token))."""
    return base64.b64encode(hashlib.sha256(token.encode()).digest()).decode()


def date_ms(v):
    """A Meteor/Mongo date as ms: number, ISO string or {"$date": ...}."""
    if isinstance(v, dict) and "$date" in v:
        v = v["$date"]
    if isinstance(v, dict) and "$numberLong" in v:
        v = int(v["$numberLong"])
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return float(v)
    if isinstance(v, str):
        try:
            d = datetime.datetime.fromisoformat(v.replace("Z", "+00:00"))
            return d.timestamp() * 1000
        except ValueError:
            return float("nan")
    return float("nan")


def load_users(path):
    """hashedToken -> (user document, when ms), from a JSON array of Meteor
    user documents ({_id, services: {resume: {loginTokens: [...]}}}). Point
    this at the Meteor app's MongoDB instead with a query on
    services.resume.loginTokens.hashedToken (see the Node example)."""
    by_hash = {}
    if not path:
        return by_hash
    with open(path, encoding="utf-8") as f:
        users = json.load(f)
    for user in users:
        tokens = (((user or {}).get("services") or {}).get("resume") or {}).get(
            "loginTokens") or []
        for t in tokens:
            hashed = t.get("hashedToken") or (
                hash_token(t["token"]) if isinstance(t.get("token"), str) else None)
            if hashed:
                by_hash[hashed] = (user, date_ms(t.get("when")))
    return by_hash


def authenticate(users, token, expiration_days=90, now_ms=None):
    """AuthenticateResponse fields for one login token (a dict)."""
    if not token:
        return {"refusal": "UNKNOWN_TOKEN"}
    found = users.get(hash_token(token))
    if found is None:
        return {"refusal": "UNKNOWN_TOKEN", "cache_seconds": -1}
    user, when = found
    if user.get("deactivated"):
        return {"refusal": "FORBIDDEN", "cache_seconds": -1}
    now_ms = time.time() * 1000 if now_ms is None else now_ms
    expires = when + expiration_days * 24 * 3600 * 1000
    if expires != expires or expires <= now_ms:  # NaN or past
        return {"refusal": "EXPIRED", "cache_seconds": -1}
    return {"user_id": str(user["_id"]), "expires_at_ms": int(expires),
            "cache_seconds": 30}


def make_servicer(pb2, pb2_grpc, api_key, users, expiration_days):
    expected = ("Bearer " + api_key).encode() if api_key else None

    def check_key(context):
        if expected is not None:
            got = dict(context.invocation_metadata()).get("authorization", "")
            if not hmac.compare_digest(got.encode(), expected):
                context.abort(grpc.StatusCode.UNAUTHENTICATED, "bad API key")

    class Authorizer(pb2_grpc.AuthorizerServicer):
        def Authorize(self, request, context):
            check_key(context)
            allow, reason, cache_seconds = decide(
                request.user_id, request.publication, request.params_json)
            return pb2.AuthorizeResponse(allow=allow, reason=reason,
                                         cache_seconds=cache_seconds)

        def Authenticate(self, request, context):
            check_key(context)
            return pb2.AuthenticateResponse(
                **authenticate(users, request.token, expiration_days))

    return Authorizer()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listen", default="127.0.0.1:50061")
    parser.add_argument("--api-key",
                        default=os.environ.get("VENT_AUTHORIZER_API_KEY", ""))
    parser.add_argument("--proto-root", default=PROTO_ROOT)
    parser.add_argument("--grpc-plugin", default="/usr/bin/grpc_python_plugin")
    parser.add_argument("--users", default="",
                        help="JSON array of Meteor user documents")
    parser.add_argument("--login-expiration-days", type=float, default=90)
    parser.add_argument("--hash-token", help="print Meteor's hashedToken")
    args = parser.parse_args()
    if args.hash_token is not None:
        print(hash_token(args.hash_token))
        return 0
    users = load_users(args.users)

    pb2, pb2_grpc = load_stubs(args.proto_root, args.grpc_plugin)
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    pb2_grpc.add_AuthorizerServicer_to_server(
        make_servicer(pb2, pb2_grpc, args.api_key, users,
                      args.login_expiration_days), server)
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
