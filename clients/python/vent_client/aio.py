"""asyncio client of vent-server (grpc.aio), the async twin of VentClient.

    from vent_client.aio import AsyncVentClient
    async with AsyncVentClient("127.0.0.1:50051") as vent:
        r = await vent.emit("threads::t1::new_message", {"text": "hi"})
        sub = vent.subscribe(["threads::t1::new_message"])
        await sub.wait_ready()
        async for ev in sub:          # Event(channel, json, emitted_at)
            ...
        sub.cancel()

Same payload rules and errors as vent_client (grpc.aio.AioRpcError is a
grpc.RpcError). Use one AsyncVentClient per event loop.
"""

import asyncio

import grpc

from ._common import Event, EmitResult, StreamResult, emit_result, event_from, make_event
from ._common import metadata as _metadata
from ._common import positions as _positions
from ._common import received as _received
from ._common import starts as _starts
from .vent.v1 import vent_pb2, vent_pb2_grpc

__all__ = ["AsyncVentClient", "AsyncSubscription", "Event", "EmitResult", "StreamResult"]


class AsyncSubscription:
    """Events of one Subscribe call: `await wait_ready()`, then `async for`."""

    def __init__(self, call):
        self._call = call
        self._ready = False
        self._cancelled = False
        self.starts = []  # set with ready (see Subscription.starts)

    async def _read(self):
        try:
            msg = await self._call.read()
        except asyncio.CancelledError:
            if self._cancelled:
                return None
            raise
        except grpc.aio.AioRpcError as e:
            if self._cancelled and e.code() == grpc.StatusCode.CANCELLED:
                return None
            raise
        return None if msg is grpc.aio.EOF else msg

    async def wait_ready(self):
        """Returns once Redis confirmed the subscription; raises the call's
        error (grpc.aio.AioRpcError) if it failed first."""
        while not self._ready:
            msg = await self._read()
            if msg is None:
                raise RuntimeError("Subscribe ended before it was ready")
            self._ready = msg.ready
            if msg.ready:
                self.starts = _starts(msg)
        return self

    def __aiter__(self):
        return self

    async def __anext__(self):
        if not self._ready:
            await self.wait_ready()
        while True:
            msg = await self._read()
            if msg is None:
                raise StopAsyncIteration
            if msg.HasField("event"):
                return _received(msg.event)

    def cancel(self):
        self._cancelled = True
        self._call.cancel()


class AsyncVentClient:
    """asyncio client for the vent.v1.Vent service (arguments as VentClient)."""

    def __init__(self, address, api_key=None, credentials=None, timeout=10.0):
        if credentials is None:
            self._channel = grpc.aio.insecure_channel(address)
        else:
            self._channel = grpc.aio.secure_channel(address, credentials)
        self._stub = vent_pb2_grpc.VentStub(self._channel)
        self._metadata = _metadata(api_key)
        self._timeout = timeout

    async def emit(self, channel, obj, idempotency_key=None, timeout=None):
        req = vent_pb2.EmitRequest(event=make_event(channel, obj, idempotency_key))
        r = await self._stub.Emit(req, timeout=timeout or self._timeout, metadata=self._metadata)
        return emit_result(r)

    async def emit_batch(self, events, timeout=None):
        req = vent_pb2.EmitBatchRequest(events=[event_from(e) for e in events])
        r = await self._stub.EmitBatch(req, timeout=timeout or self._timeout,
                                       metadata=self._metadata)
        return [emit_result(x) for x in r.results]

    async def emit_stream(self, events, timeout=None, max_events_per_message=256):
        """Streams events (a sync or async iterable like emit_batch's).

        A pump task moves events into a bounded queue; each EmitStream message
        carries whatever is queued (up to max_events_per_message), in order.
        Returns StreamResult(published, receivers).
        """
        limit = max(1, int(max_events_per_message))
        q = asyncio.Queue(maxsize=4 * limit)

        async def pump():
            try:
                if hasattr(events, "__aiter__"):
                    async for e in events:
                        await q.put(("event", event_from(e)))
                else:
                    for e in events:
                        await q.put(("event", event_from(e)))
                await q.put(("end", None))
            except Exception as exc:  # noqa: BLE001 - re-raised in requests()
                await q.put(("error", exc))

        async def requests():
            while True:
                batch = []
                kind, value = await q.get()
                while True:
                    if kind in ("end", "error"):
                        if batch:
                            yield vent_pb2.EmitStreamRequest(events=batch)
                        if kind == "error":
                            raise value
                        return
                    batch.append(value)
                    if len(batch) >= limit:
                        break
                    try:
                        kind, value = q.get_nowait()
                    except asyncio.QueueEmpty:
                        break
                yield vent_pb2.EmitStreamRequest(events=batch)

        task = asyncio.ensure_future(pump())
        try:
            r = await self._stub.EmitStream(requests(), timeout=timeout, metadata=self._metadata)
        finally:
            task.cancel()
        return StreamResult(int(r.published), int(r.receivers))

    def subscribe(self, channels, timeout=None, since=None):
        """Returns an AsyncSubscription (see the module docstring); `since`
        as for VentClient.subscribe."""
        call = self._stub.Subscribe(vent_pb2.SubscribeRequest(channels=list(channels),
                                                              since=_positions(since)),
                                    timeout=timeout, metadata=self._metadata)
        return AsyncSubscription(call)

    async def close(self):
        await self._channel.close()

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        await self.close()
