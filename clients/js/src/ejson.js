// EJSON in Vent events, decoded as Meteor's client decodes it
// (ejson's fromJSONValue), for the types a backend can publish:
//   {"$date": ms}        -> Date
//   {"$binary": base64}  -> Uint8Array
//   {"$escape": {...}}   -> the object inside, its keys taken literally
// An object is one of these forms only when it has exactly that key (Meteor's
// rule), and only when the value has the right type. Everything else —
// {"$InfNaN"}, {"$regexp"}, {"$type", "$value"} (custom types need the app's
// EJSON.addType) — is left as is. Events from redis-oplog's
// Vent.emit(channel, obj) are EJSON.stringify(obj), so Dates and binary data
// round-trip. Turned off with the client option `ejson: false`.

// True when the event text may hold EJSON (a `"$` after the 28-character
// prefix): events without it are not walked at all.
export function mayHaveEjson(raw) {
  return raw.indexOf('"$', 28) !== -1;
}

function base64ToBytes(s) {
  if (typeof globalThis.atob === 'function') {
    const bin = globalThis.atob(s);
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }
  return new Uint8Array(globalThis.Buffer.from(s, 'base64'));
}

function only(obj, key) {
  let n = 0;
  for (const k in obj) {
    if (!Object.prototype.hasOwnProperty.call(obj, k)) continue;
    if (++n > 1 || k !== key) return false;
  }
  return n === 1;
}

// Decodes `value` (a JSON.parse result) in place where it can and returns
// the result (a new value when the top level itself is a special form).
export function ejsonDecode(value) {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = ejsonDecode(value[i]);
    return value;
  }
  if (only(value, '$date') && typeof value.$date === 'number') return new Date(value.$date);
  if (only(value, '$binary') && typeof value.$binary === 'string') {
    try { return base64ToBytes(value.$binary); } catch (_) { return value; }
  }
  if (only(value, '$escape') && value.$escape && typeof value.$escape === 'object' &&
      !Array.isArray(value.$escape)) {
    const out = {};
    for (const k of Object.keys(value.$escape)) out[k] = ejsonDecode(value.$escape[k]);
    return out;
  }
  for (const k of Object.keys(value)) value[k] = ejsonDecode(value[k]);
  return value;
}
