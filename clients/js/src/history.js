// Positions: where one subscription stands in each channel of a publication
// with history (docs/history.md), so that a resubscribe after any reconnect
// can ask the server for exactly what was missed.
//
// Wire (Vent extensions; stock DDP clients ignore them):
//   event  {"msg":"changed","__vent":"1","id":…,"e":…,"h":[channel, offset, "epoch"]}
//   ready  {"msg":"ready","subs":[id],"h":[[channel, offset, "epoch"], …],"recovered"?:bool}
//   sub    {"msg":"sub",…,"since":[[channel, offset, "epoch"], …]}
// `channel` is the index of the Redis channel in the publication's channel
// list, offsets count 1, 2, 3… per channel within an epoch, an epoch is an
// opaque string ("" = no history existed).
//
// Invariants:
// * A channel's position only moves forward within an epoch: an event whose
//   offset is not above the position of its channel in the same epoch has
//   been delivered already and is dropped (defence in depth: the server
//   sends each event once). An event from another epoch replaces the
//   position (the history was lost and restarted).
// * A `ready` that carries positions REPLACES them: it is the server's word
//   after everything it sent for that subscription so far (events it replayed
//   or captured before the ready included), and it may be behind ours when
//   the server's history went back (a Redis failover to a replica that had
//   not caught up, an old snapshot restored) — then it says
//   recovered:false and later events reuse offsets we have seen.
// * A `ready` without positions for an active subscription (the server lost
//   its Redis subscription and made it again: recovered:false) makes every
//   position loose: the next event of each channel is accepted whatever its
//   offset, for the same reason, and until then the channel's position is
//   not sent in `since` (it may name an offset the server now uses for
//   another event; without it, the server answers recovered:false).
//   A ready that carries positions ends it.
// * `since` is sent only once a ready gave every channel's position (or the
//   application supplied them): a partial list would not be recovered.
//   A ready without positions in answer to our sub means the publication has
//   no history (any more): positions are forgotten, no `since` is sent.

// The reason of the nosub 400 a server answers to a `since` it cannot parse.
export const MALFORMED_POSITION = 'Malformed position';

// Publications have at most 16 channels (vent/pub/publication.h); anything
// far beyond is not a position we keep.
const MAX_CHANNEL = 255;

// [channel, offset, epoch] as the server sends it, else false.
export function isWirePosition(h) {
  return Array.isArray(h) && h.length === 3 && Number.isInteger(h[0]) && h[0] >= 0 && h[0] <= MAX_CHANNEL &&
    Number.isSafeInteger(h[1]) && h[1] >= 0 && typeof h[2] === 'string';
}

// A list of VentPosition objects ({channel, offset, epoch}) from the
// application (subscribeFrom) → wire tuples; throws TypeError when invalid.
export function positionsFromUser(list) {
  if (!Array.isArray(list)) throw new TypeError('position: expected an array of {channel, offset, epoch}');
  const seen = new Set();
  return list.map((p) => {
    const h = p && typeof p === 'object' ? [p.channel, p.offset, p.epoch] : null;
    if (!isWirePosition(h) || seen.has(h[0])) {
      throw new TypeError(`position: invalid entry ${JSON.stringify(p)} (expected {channel, offset, epoch}, one per channel)`);
    }
    seen.add(h[0]);
    return h;
  });
}

export class Positions {
  constructor() {
    this._p = []; // channel index -> {offset, epoch, loose}
    this._complete = false; // every channel's position is known: `since` may be sent
    this.dropped = 0; // events dropped as already delivered
  }

  // Positions supplied by the application (wire tuples, validated).
  seed(list) {
    this._p = [];
    for (const [c, offset, epoch] of list) this._p[c] = {offset, epoch, loose: false};
    this._complete = list.length > 0;
  }

  // The `h` of an event. Returns the position to hand to the listener
  // ({channel, offset, epoch}), undefined when the frame has none (a raw
  // PUBLISH, or a publication without history), or null when the event was
  // delivered already (drop it).
  accept(h) {
    if (h === undefined || !isWirePosition(h) || h[1] === 0) return undefined;
    const c = h[0];
    const offset = h[1];
    const epoch = h[2];
    const p = this._p[c];
    if (p === undefined) {
      this._p[c] = {offset, epoch, loose: false};
    } else if (p.epoch === epoch && offset <= p.offset && !p.loose) {
      this.dropped++;
      return null;
    } else {
      p.offset = offset;
      p.epoch = epoch;
      p.loose = false;
    }
    return {channel: c, offset, epoch};
  }

  // A `ready` for this subscription. h: its positions (undefined when it has
  // none); answered: it answers a `sub` this client sent (not a re-ready of
  // an active subscription).
  onReady(h, recovered, answered) {
    if (Array.isArray(h) && h.every(isWirePosition)) {
      this._p = [];
      for (const [c, offset, epoch] of h) this._p[c] = {offset, epoch, loose: false};
      this._complete = h.length > 0;
    } else if (answered) {
      this._p = []; // no history on this publication (any more)
      this._complete = false;
    } else if (recovered === false) {
      for (const p of this._p) if (p) p.loose = true;
    }
  }

  // Forgets everything (the server refused our positions).
  reset() {
    this._p = [];
    this._complete = false;
  }

  // The `since` of the next `sub`, or null when it must not carry one.
  since() {
    if (!this._complete) return null;
    const out = [];
    this._p.forEach((p, c) => { if (p && !p.loose) out.push([c, p.offset, p.epoch]); });
    return out.length ? out : null;
  }

  // [{channel, offset, epoch}] (a copy), or null when no position is known.
  list() {
    const out = [];
    this._p.forEach((p, c) => { if (p) out.push({channel: c, offset: p.offset, epoch: p.epoch}); });
    return out.length ? out : null;
  }
}
