"""Python client of vent-server's gRPC API (vent.v1.Vent).

    from vent_client import VentClient
    with VentClient("127.0.0.1:50051", api_key="k1") as vent:
        r = vent.emit("threads::t1::new_message", {"text": "hi"})
        print(r.receivers, r.id)

The vent/v1 stubs are pre-generated inside the package (vent_client.vent.v1;
no protoc at run time). The asyncio client is vent_client.aio.AsyncVentClient.

Payloads: a str is sent as JSON text exactly as given (it must be valid JSON;
Redis receives it byte for byte); bytes are decoded as UTF-8; any other value
is serialized with json.dumps (compact, UTF-8). Errors raise grpc.RpcError:
e.code() is a grpc.StatusCode (INVALID_ARGUMENT, UNAUTHENTICATED,
UNAVAILABLE, ...), e.details() the server's message. A VentClient is
thread-safe (gRPC channels are).
"""

import queue
import threading

import grpc

from ._common import Event, EmitResult, StreamResult, emit_result, event_from, make_event
from ._common import metadata as _metadata
from ._common import positions as _positions
from ._common import received as _received
from ._common import starts as _starts
from .vent.v1 import vent_pb2, vent_pb2_grpc

__version__ = "0.2.0"
__all__ = ["VentClient", "Subscription", "Event", "EmitResult", "StreamResult", "load_stubs",
           "__version__"]


def load_stubs():
    """Returns (vent_pb2, vent_pb2_grpc): the package's generated modules."""
    return vent_pb2, vent_pb2_grpc


class Subscription:
    """Events of one Subscribe call, in order; iterate it, or call get().

    A reader thread moves events into a bounded queue (`queue_size`); when the
    application falls that far behind, gRPC flow control pushes back and
    vent-server ends the call with RESOURCE_EXHAUSTED (its subscribe-queue),
    which iteration then raises.
    """

    _END = object()

    def __init__(self, call, queue_size=1024):
        self._call = call
        self._queue = queue.Queue(maxsize=max(1, int(queue_size)))
        self._ready = threading.Event()
        self._confirmed = False
        self._cancelled = False
        self._error = None
        self._done = False
        # Set with ready: [Start(channel, offset, epoch, recovered, reason)]
        # for history channels (docs/history.md).
        self.starts = []
        threading.Thread(target=self._read, name="vent-subscribe", daemon=True).start()

    def _read(self):
        try:
            for msg in self._call:
                if msg.ready:
                    self.starts = _starts(msg)
                    self._confirmed = True
                    self._ready.set()
                elif msg.HasField("event"):
                    self._queue.put(_received(msg.event))
        except grpc.RpcError as e:
            if not (self._cancelled and e.code() == grpc.StatusCode.CANCELLED):
                self._error = e
        finally:
            self._ready.set()  # wakes wait_ready(), which then reports the end
            self._queue.put(self._END)

    def wait_ready(self, timeout=10.0):
        """Blocks until Redis confirmed the subscription (events published
        from then on are delivered). Raises the call's grpc.RpcError if it
        failed, TimeoutError after `timeout` seconds."""
        if not self._ready.wait(timeout):
            raise TimeoutError(f"Subscribe not ready after {timeout}s")
        if self._error is not None:
            raise self._error
        if not self._confirmed:
            raise RuntimeError("Subscribe ended before it was ready")
        return self

    def get(self, timeout=None):
        """The next Event; None once the call ended (after cancel()).
        Raises queue.Empty after `timeout`, grpc.RpcError if the call failed."""
        if self._done:
            return None
        item = self._queue.get(timeout=timeout)
        if item is self._END:
            self._done = True
            if self._error is not None:
                raise self._error
            return None
        return item

    def __iter__(self):
        while True:
            ev = self.get()
            if ev is None:
                return
            yield ev

    def cancel(self):
        """Ends the call; iteration stops after the events already queued."""
        self._cancelled = True
        self._call.cancel()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.cancel()


class VentClient:
    """Client for the vent.v1.Vent service.

    address: "host:port". api_key: sent as `authorization: Bearer KEY`.
    credentials: grpc.ChannelCredentials for TLS (default: plaintext).
    timeout: per-call deadline in seconds for unary calls (None: no deadline).
    """

    def __init__(self, address, api_key=None, credentials=None, timeout=10.0):
        if credentials is None:
            self._channel = grpc.insecure_channel(address)
        else:
            self._channel = grpc.secure_channel(address, credentials)
        self._stub = vent_pb2_grpc.VentStub(self._channel)
        self._metadata = _metadata(api_key)
        self._timeout = timeout

    def emit(self, channel, obj, idempotency_key=None, timeout=None):
        """Publishes one event; returns EmitResult(receivers, id, duplicate)."""
        req = vent_pb2.EmitRequest(event=make_event(channel, obj, idempotency_key))
        r = self._stub.Emit(req, timeout=timeout or self._timeout, metadata=self._metadata)
        return emit_result(r)

    def emit_batch(self, events, timeout=None):
        """Publishes events in order in one call.

        events: (channel, obj[, idempotency_key]) tuples or dicts with
        channel and json|data (and optionally idempotency_key).
        Returns a list of EmitResult, one per event.
        """
        req = vent_pb2.EmitBatchRequest(events=[event_from(e) for e in events])
        r = self._stub.EmitBatch(req, timeout=timeout or self._timeout, metadata=self._metadata)
        return [emit_result(x) for x in r.results]

    def emit_stream(self, events, timeout=None, max_events_per_message=256):
        """Streams events (an iterable like emit_batch's); returns StreamResult.

        A pump thread reads `events`; each EmitStream message carries whatever
        it has queued (up to max_events_per_message), in order: batches while
        gRPC is busy, single events when the iterable is slow.
        """
        limit = max(1, int(max_events_per_message))
        q = queue.Queue(maxsize=4 * limit)
        stop = threading.Event()

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
                    if not put(("event", event_from(e))):
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
                            yield vent_pb2.EmitStreamRequest(events=batch)
                        return
                    if kind == "error":
                        if batch:
                            yield vent_pb2.EmitStreamRequest(events=batch)
                        raise value
                    batch.append(value)
                    if len(batch) >= limit:
                        break
                    try:
                        kind, value = q.get_nowait()
                    except queue.Empty:
                        break
                yield vent_pb2.EmitStreamRequest(events=batch)

        t = threading.Thread(target=pump, name="vent-emit-stream", daemon=True)
        t.start()
        try:
            r = self._stub.EmitStream(requests(), timeout=timeout, metadata=self._metadata)
        finally:
            stop.set()
        return StreamResult(int(r.published), int(r.receivers))

    def subscribe(self, channels, timeout=None, queue_size=1024, since=None):
        """Server-side listening: returns a Subscription yielding an Event for
        every message published on `channels` (by Emit, or a raw PUBLISH).
        Call wait_ready() before relying on delivery; cancel() to end it.
        `timeout`: deadline of the whole call in seconds (None: none).
        `since`: positions to resume after on history channels
        (docs/history.md): (channel, offset, epoch) tuples, dicts, or the
        last Event processed per channel; the missed events come first and
        Subscription.starts says per channel whether all were recovered."""
        call = self._stub.Subscribe(vent_pb2.SubscribeRequest(channels=list(channels),
                                                              since=_positions(since)),
                                    timeout=timeout, metadata=self._metadata)
        return Subscription(call, queue_size)

    def close(self):
        self._channel.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
