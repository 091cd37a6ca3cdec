"""Shared by the sync (vent_client) and asyncio (vent_client.aio) clients."""

import collections
import datetime
import json

from .vent.v1 import vent_pb2

EmitResult = collections.namedtuple("EmitResult", ["receivers", "id", "duplicate"])
StreamResult = collections.namedtuple("StreamResult", ["published", "receivers"])
# One event received by subscribe(): json is the text exactly as published to
# Redis (on a history channel: as emitted); emitted_at a timezone-aware
# datetime (None for raw PUBLISHes); offset and epoch its position on a
# history channel (docs/history.md), 0 and "" otherwise. An Event is a valid
# `since` entry (channel, offset and epoch are read from it).
Event = collections.namedtuple("Event", ["channel", "json", "emitted_at", "offset", "epoch"],
                               defaults=(0, ""))
# Where a Subscribe call starts on a history channel (Subscription.starts).
Start = collections.namedtuple("Start", ["channel", "offset", "epoch", "recovered", "reason"])


def positions(since):
    """vent_pb2.Position list from (channel, offset, epoch) tuples, dicts with
    those keys, or objects with those attributes (an Event, a Start)."""
    out = []
    for p in since or ():
        if isinstance(p, dict):
            ch, off, ep = p["channel"], p.get("offset", 0), p.get("epoch", "")
        elif hasattr(p, "channel"):
            ch, off, ep = p.channel, p.offset, p.epoch
        else:
            ch, off, ep = p
        out.append(vent_pb2.Position(channel=ch, offset=int(off), epoch=ep))
    return out


def starts(msg):
    return [Start(s.position.channel, int(s.position.offset), s.position.epoch,
                  bool(s.recovered), s.reason) for s in msg.starts]


def json_text(obj):
    """str: sent as is (must be JSON); bytes: UTF-8; anything else: json.dumps."""
    if isinstance(obj, str):
        return obj
    if isinstance(obj, (bytes, bytearray)):
        return bytes(obj).decode("utf-8")
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def make_event(channel, obj, idempotency_key=None):
    ev = vent_pb2.Event(channel=channel, json=json_text(obj))
    if idempotency_key:
        ev.idempotency_key = idempotency_key
    return ev


def event_from(e):
    """(channel, obj[, idempotency_key]) or {channel, json|data[, idempotency_key]}."""
    if isinstance(e, dict):
        payload = e["json"] if "json" in e else e["data"]
        return make_event(e["channel"], payload, e.get("idempotency_key"))
    return make_event(*e)


def emit_result(r):
    return EmitResult(int(r.receivers), r.id, bool(r.duplicate))


def received(ev):
    emitted_at = None
    if ev.HasField("emitted_at"):
        emitted_at = datetime.datetime.fromtimestamp(
            ev.emitted_at.seconds + ev.emitted_at.nanos / 1e9, tz=datetime.timezone.utc)
    return Event(ev.channel, ev.json, emitted_at, int(ev.offset), ev.epoch)


def metadata(api_key):
    return (("authorization", f"Bearer {api_key}"),) if api_key else ()
