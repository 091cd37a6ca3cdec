#!/usr/bin/env python3
"""Ratios and the regression verdict for bench/check.sh (not run on its own).

    bench/check.py RESULTS_DIR OUT.json BASELINE.json TOLERANCE UPDATE ROUNDS

Reads the vent-bench JSONs check.sh wrote (NAME.floor.json / NAME.bridge.json,
emit-*.json, wrk-64.txt), computes each metric as a ratio of Vent to the
baseline measured in the same run (fan-out: median over the rounds of the
per-round ratio), writes OUT.json, then either writes BASELINE.json
(UPDATE=1) or compares: a metric regressed when it is worse than the baseline
file's value by more than TOLERANCE (relative). Exit 1 if any regressed.
"""
import datetime
import json
import os
import re
import statistics
import sys

res, out, baseline_path, tol, update, rounds = sys.argv[1:7]
tol, update, rounds = float(tol), update == "1", int(rounds)


def load(name):
    p = os.path.join(res, name)
    if not os.path.exists(p):
        return None
    with open(p) as f:
        return json.load(f)


metrics = {}  # name -> {"value", "better", "what", "detail"}
problems = []


def put(name, values, better, what, detail):
    values = [v for v in values if v is not None]
    if not values:
        problems.append(f"{name}: no data (a run failed)")
        return
    metrics[name] = {"value": round(statistics.median(values), 4), "better": better, "what": what,
                     "samples": [round(v, 4) for v in values], "detail": detail}


def fan(j):
    if not j or j.get("ready", 0) < j.get("clients", 1):
        return None
    return j


for m in ("1m", "2m"):
    cpu, p99, dl, det = [], [], [], []
    for r in range(1, rounds + 1):
        f, b = fan(load(f"fanout-{m}-r{r}.floor.json")), fan(load(f"fanout-{m}-r{r}.bridge.json"))
        if not f or not b:
            continue
        cpu.append(b["bridge_cpu_s_per_million"] / f["bridge_cpu_s_per_million"])
        p99.append(b["latency_us"]["p99"] / f["latency_us"]["p99"])
        dl.append(b["delivered_per_s"] / f["delivered_per_s"])
        det.append(f"r{r}: CPU-s/M {b['bridge_cpu_s_per_million']:.3f} vs floor "
                   f"{f['bridge_cpu_s_per_million']:.3f}; p99 {b['latency_us']['p99'] / 1000:.1f} vs "
                   f"{f['latency_us']['p99'] / 1000:.1f} ms; {b['delivered_per_s'] / 1e6:.3f} vs "
                   f"{f['delivered_per_s'] / 1e6:.3f} M/s delivered; lost {b['lost']} vs {f['lost']}")
    put(f"fanout_{m}_cpu_per_delivery_vs_floor", cpu, "lower",
        f"1 x 1,000 at {m[0]}M deliveries/s: bridge CPU per delivery / floor's", det)
    put(f"fanout_{m}_p99_vs_floor", p99, "lower", f"1 x 1,000 at {m[0]}M/s: bridge p99 / floor's", [])
    put(f"fanout_{m}_delivered_vs_floor", dl, "higher", f"1 x 1,000 at {m[0]}M/s: delivered/s / floor's", [])

f, b = fan(load("own-10k.floor.json")), fan(load("own-10k.bridge.json"))
if f and b:
    put("own_10k_p99_vs_floor", [b["latency_us"]["p99"] / f["latency_us"]["p99"]], "lower",
        "10,000 clients on own channels, 10,000 events/s: bridge p99 / floor's",
        [f"p99 {b['latency_us']['p99'] / 1000:.2f} vs {f['latency_us']['p99'] / 1000:.2f} ms, "
         f"lost {b['lost']} vs {f['lost']}"])
    put("own_10k_cpu_vs_floor", [b["bridge_cpu_s_per_million"] / f["bridge_cpu_s_per_million"]], "lower",
        "10,000 x 10,000/s: bridge CPU per delivery / floor's",
        [f"{b['bridge_cpu_s_per_million']:.2f} vs {f['bridge_cpu_s_per_million']:.2f} CPU-s/M"])
else:
    problems.append("own_10k: a run failed")

f, b = load("idle-5000.floor.json"), load("idle-5000.bridge.json")
if f and b and f["bridge_bytes_per_connection"] > 0:
    put("idle_bytes_per_connection_vs_floor",
        [b["bridge_bytes_per_connection"] / f["bridge_bytes_per_connection"]], "lower",
        "5,000 idle subscribed connections: bridge bytes per connection / floor's",
        [f"{b['bridge_bytes_per_connection']:.0f} vs {f['bridge_bytes_per_connection']:.0f} B"])
else:
    problems.append("idle-5000: a run failed")

base, st, un = load("emit-baseline.json"), load("emit-stream-1.json"), load("emit-unary-64.json")
if base and st and un:
    rb = base["redis_benchmark_publish_per_s"]
    put("emit_stream_vs_redis_benchmark", [st["events_per_s"] / rb], "higher",
        "EmitStream (1 stream) events/s / redis-benchmark -P 64 PUBLISH/s",
        [f"{st['events_per_s']:.0f} vs {rb:.0f}/s"])
    put("emit_unary64_vs_redis_benchmark", [un["events_per_s"] / rb], "higher",
        "unary Emit, 64 callers, events/s / redis-benchmark -P 64 PUBLISH/s",
        [f"{un['events_per_s']:.0f}/s"])
    wrk = os.path.join(res, "wrk-64.txt")
    text = open(wrk).read() if os.path.exists(wrk) else ""
    m = re.search(r"Requests/sec:\s+([\d.]+)", text)
    if m and "Non-2xx" not in text:
        put("emit_http64_vs_unary64", [float(m.group(1)) / un["events_per_s"]], "higher",
            "HTTP POST /v1/emit, 64 connections, events/s / unary gRPC Emit at 64",
            [f"{float(m.group(1)):.0f} vs {un['events_per_s']:.0f}/s"])
    else:
        problems.append("HTTP emit: wrk failed or got non-2xx answers")
else:
    problems.append("emit: a run failed")

now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
doc = {"time": now, "rounds": rounds, "metrics": metrics, "problems": problems}
os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
with open(out, "w") as fh:
    json.dump(doc, fh, indent=1)

print(f"\n{'metric':<40} {'this run':>9} {'baseline':>9} {'change':>8}  verdict")
if update:
    with open(baseline_path, "w") as fh:
        json.dump({"recorded": now, "tolerance": tol,
                   "note": "ratios of Vent to baselines measured in the same run (bench/check.sh); "
                           "'better' says which direction is an improvement",
                   "metrics": {k: {"value": v["value"], "better": v["better"], "what": v["what"]}
                               for k, v in metrics.items()}}, fh, indent=1)
        fh.write("\n")
    for k, v in metrics.items():
        print(f"{k:<40} {v['value']:>9.3f} {'':>9} {'':>8}  recorded")
    print(f"\nwrote {baseline_path}")
    sys.exit(1 if problems else 0)

with open(baseline_path) as fh:
    base_doc = json.load(fh)
regressed = []
for k, v in metrics.items():
    b = base_doc["metrics"].get(k)
    if not b:
        print(f"{k:<40} {v['value']:>9.3f} {'-':>9} {'':>8}  new (not in the baseline)")
        continue
    change = v["value"] / b["value"] - 1 if b["value"] else 0.0
    worse = change > tol if v["better"] == "lower" else change < -tol
    better = change < -tol if v["better"] == "lower" else change > tol
    verdict = "REGRESSED" if worse else "improved" if better else "ok"
    if worse:
        regressed.append(k)
    print(f"{k:<40} {v['value']:>9.3f} {b['value']:>9.3f} {change:>+7.0%}  {verdict}")
for k, v in metrics.items():
    for d in v["detail"]:
        print(f"  {k}: {d}")
for p in problems:
    print(f"problem: {p}")
if regressed:
    print(f"\nREGRESSED by more than {tol:.0%} against {os.path.relpath(baseline_path)}: " + ", ".join(regressed))
    for k in regressed:
        print(f"  {k}: {metrics[k]['what']} ({metrics[k]['better']} is better)")
    sys.exit(1)
if problems:
    sys.exit(2)
print(f"\nno regression beyond {tol:.0%} (results: {out})")
