"""Vent emit client for Python (Debian's python3-grpcio; run with /usr/bin/python3).

    from vent_client import VentClient
    with VentClient("127.0.0.1:50051", api_key="k1") as vent:
        r = vent.emit("threads::t1::new_message", {"text": "hi"})
        print(r.receivers, r.id)

Stubs for proto/vent/v1/vent.proto are generated at first use into a private
temp dir (grpc_tools.protoc when installed, else /usr/bin/protoc with
/usr/bin/grpc_python_plugin); set VENT_PROTO to point at another vent.proto.

Payloads: a str is sent as JSON text exactly as given (it must be valid JSON;
Redis receives it byte for byte); bytes are decoded as UTF-8; any other value
is serialized with json.dumps (compact, UTF-8). Errors raise grpc.RpcError:
e.code() is a grpc.StatusCode (INVALID_ARGUMENT, UNAUTHENTICATED,
UNAVAILABLE, ...), e.details() the server's message. A VentClient is
thread-safe (gRPC channels are).
"""

import atexit
import collections
import importlib
import json
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading

import grpc

EmitResult = collections.namedtuple("EmitResult", ["receivers", "id", "duplicate"])
StreamResult = collections.namedtuple("StreamResult", ["published", "receivers"])

_HERE = os.path.dirname(os.path.abspath(__file__))
_lock = threading.Lock()
_modules = None  # (vent_pb2, vent_pb2_grpc)


def _proto_path():
    p = os.environ.get("VENT_PROTO") or os.path.join(
        _HERE, "..", "..", "proto", "vent", "v1", "vent.proto")
    p = os.path.abspath(p)
    if not os.path.exists(p):
        raise FileNotFoundError(f"vent.proto not found at {p}; set VENT_PROTO")
    return p


def _generate(out_dir):
    proto = _proto_path()
    root = os.path.dirname(os.path.dirname(os.path.dirname(proto)))  # holds vent/v1/
    rel = os.path.relpath(proto, root)
    try:
        from grpc_tools import protoc as grpc_protoc  # noqa: PLC0415
        import grpc_tools  # noqa: PLC0415
        wkt = os.path.join(os.path.dirname(grpc_tools.__file__), "_proto")
        args = ["grpc_tools.protoc", f"-I{root}", f"--python_out={out_dir}",
                f"--grpc_python_out={out_dir}", rel]
        if os.path.isdir(wkt):
            args.insert(1, f"-I{wkt}")
        if grpc_protoc.main(args) == 0:
            return
    except ImportError:
        pass
    cmd = ["protoc", f"-I{root}", "-I/usr/include", f"--python_out={out_dir}",
           f"--grpc_python_out={out_dir}",
           "--plugin=protoc-gen-grpc_python=/usr/bin/grpc_python_plugin", rel]
    res = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if res.returncode != 0:
        raise RuntimeError(f"protoc failed ({' '.join(cmd)}): {res.stderr.strip()}")


def load_stubs():
    """Returns (vent_pb2, vent_pb2_grpc), generating them on first call."""
    global _modules
    with _lock:
        if _modules is not None:
            return _modules
        out = tempfile.mkdtemp(prefix="vent-pystubs-")
        atexit.register(shutil.rmtree, out, True)
        _generate(out)
        # Regular packages, so a `vent` folder elsewhere on sys.path cannot
        # shadow the generated one.
        for pkg in ("vent", os.path.join("vent", "v1")):
            open(os.path.join(out, pkg, "__init__.py"), "a").close()
        sys.path.insert(0, out)
        for name in [m for m in sys.modules if m == "vent" or m.startswith("vent.")]:
            del sys.modules[name]
        pb2 = importlib.import_module("vent.v1.vent_pb2")
        pb2_grpc = importlib.import_module("vent.v1.vent_pb2_grpc")
        _modules = (pb2, pb2_grpc)
        return _modules


def _json_text(obj):
    if isinstance(obj, str):
        return obj
    if isinstance(obj, (bytes, bytearray)):
        return bytes(obj).decode("utf-8")
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


class VentClient:
    """Client for the vent.v1.Vent service.

    address: "host:port". api_key: sent as `authorization: Bearer KEY`.
    credentials: grpc.ChannelCredentials for TLS (default: plaintext).
    timeout: per-call deadline in seconds for unary calls (None: no deadline).
    """

    def __init__(self, address, api_key=None, credentials=None, timeout=10.0):
        self._pb2, pb2_grpc = load_stubs()
        if credentials is None:
            self._channel = grpc.insecure_channel(address)
        else:
            self._channel = grpc.secure_channel(address, credentials)
        self._stub = pb2_grpc.VentStub(self._channel)
        self._metadata = (("authorization", f"Bearer {api_key}"),) if api_key else ()
        self._timeout = timeout

    def _event(self, channel, obj, idempotency_key=None):
        ev = self._pb2.Event(channel=channel, json=_json_text(obj))
        if idempotency_key:
            ev.idempotency_key = idempotency_key
        return ev

    def _event_from(self, e):
        if isinstance(e, dict):
            payload = e["json"] if "json" in e else e["data"]
            return self._event(e["channel"], payload, e.get("idempotency_key"))
        return self._event(*e)

    @staticmethod
    def _result(r):
        return EmitResult(int(r.receivers), r.id, bool(r.duplicate))

    def emit(self, channel, obj, idempotency_key=None, timeout=None):
        """Publishes one event; returns EmitResult(receivers, id, duplicate)."""
        req = self._pb2.EmitRequest(event=self._event(channel, obj, idempotency_key))
        r = self._stub.Emit(req, timeout=timeout or self._timeout, metadata=self._metadata)
        return self._result(r)

    def emit_batch(self, events, timeout=None):
        """Publishes events in order in one call.

        events: (channel, obj[, idempotency_key]) tuples or dicts with
        channel and json|data (and optionally idempotency_key).
        Returns a list of EmitResult, one per event.
        """
        req = self._pb2.EmitBatchRequest(events=[self._event_from(e) for e in events])
        r = self._stub.EmitBatch(req, timeout=timeout or self._timeout, metadata=self._metadata)
        return [self._result(x) for x in r.results]

    def emit_stream(self, events, timeout=None, max_events_per_message=256):
        """Streams events (an iterable like emit_batch's); returns StreamResult.

        A pump thread reads `events`; each EmitStream message carries whatever
        it has queued (up to max_events_per_message), in order: batches while
        gRPC is busy, single events when the iterable is slow.
        """
        limit = max(1, int(max_events_per_message))
        q = queue.Queue(maxsize=4 * limit)
        stop = threading.Event()
        end = object()

        def put(item):
            while not stop.is_set():
                try:
                    q.put(item, timeout=0.1)
                    return True
                except queue.Full:
                    continue
            return False

        def pump():
            try:
                for e in events:
                    if not put(("event", self._event_from(e))):
                        return
                put(("end", None))
            except BaseException as exc:  # re-raised in the request iterator
                put(("error", exc))

        def requests():
            while True:
                batch = []
                kind, value = q.get()
                while True:
                    if kind == "end":
                        if batch:
                            yield self._pb2.EmitStreamRequest(events=batch)
                        return
                    if kind == "error":
                        if batch:
                            yield self._pb2.EmitStreamRequest(events=batch)
                        raise value
                    batch.append(value)
                    if len(batch) >= limit:
                        break
                    try:
                        kind, value = q.get_nowait()
                    except queue.Empty:
                        break
                yield self._pb2.EmitStreamRequest(events=batch)

        t = threading.Thread(target=pump, name="vent-emit-stream", daemon=True)
        t.start()
        try:
            r = self._stub.EmitStream(requests(), timeout=timeout, metadata=self._metadata)
        finally:
            stop.set()
        return StreamResult(int(r.published), int(r.receivers))

    def close(self):
        self._channel.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
