"""Runs docker-compose.yml's services as local processes (used by compose_test.sh).

Input: the normalized output of `docker-compose -f docker-compose.yml config`.
No container engine is needed: each service's exact `command` and
`environment` are started on this machine with three rewrites only:
  * host:port pairs (service names, 0.0.0.0, localhost) -> 127.0.0.1:<free port>,
    and a bare container port argument ("--port 6379") -> the same free port;
  * /opt/vent/... (the image layout mirrors the repository) -> the checkout;
  * vent binaries (vent-server, vent-bridge, vent) -> $VENT_BIN_DIR.
Services start in depends_on order; each must pass its own compose
healthcheck command (rewritten the same way) before its dependents start,
like `condition: service_healthy`. Then: /readyz and /livez of vent-server
and /readyz and /livez of vent-bridge answer 200, the bridge serves the demo page, and events emitted
through vent-server (the `vent` CLI) and through the demo backend (HTTP POST)
reach a Meteor-like DDP client as byte-exact Vent frames.

Exit 0 when every check passed; otherwise 1 with the reason and the service logs.
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN_DIR = os.environ.get("VENT_BIN_DIR") or os.path.join(ROOT, "build", "bin")
VENT_BINARIES = {"vent-server", "vent-bridge", "vent"}
EXPECTED = {
    "redis": [],
    "vent-server": ["redis"],
    "vent-bridge": ["redis"],
    "demo": ["vent-server", "vent-bridge"],
}
HOSTPORT = re.compile(r"\b(redis|vent-server|vent-bridge|demo|0\.0\.0\.0|127\.0\.0\.1|localhost):(\d{2,5})\b")


class Failure(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Failure(msg)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(fn, timeout, what):
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            if fn():
                return
        except Exception as e:  # noqa: BLE001 - "not yet", reported at the deadline
            last = e
        if time.monotonic() >= deadline:
            raise Failure(f"timed out after {timeout}s waiting for {what}" + (f": {last}" if last else ""))
        time.sleep(0.1)


def http_get(url, timeout=2):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.status, r.read()


def strings_of(service):
    out = list(service.get("command") or [])
    out += [str(v) for v in (service.get("environment") or {}).values()]
    out += [str(x) for x in (service.get("healthcheck") or {}).get("test", [])]
    return out


class Stack:
    def __init__(self, config):
        self.config = config
        self.services = config["services"]
        self.tmp = tempfile.mkdtemp(prefix="vent-compose-")
        self.procs = {}  # name -> (Popen, log path)
        # Every container port used anywhere gets one free local port.
        ports = set()
        for svc in self.services.values():
            for s in strings_of(svc):
                ports.update(int(m.group(2)) for m in HOSTPORT.finditer(s))
            for p in svc.get("ports") or []:
                ports.add(int(p["target"]) if isinstance(p, dict) else int(str(p).split(":")[-1]))
        self.port_map = {p: free_port() for p in sorted(ports)}

    def rewrite(self, s):
        s = str(s)
        if s.isdigit() and int(s) in self.port_map:
            return str(self.port_map[int(s)])
        s = HOSTPORT.sub(lambda m: f"127.0.0.1:{self.port_map[int(m.group(2))]}", s)
        if s.startswith("/opt/vent/"):
            s = os.path.join(ROOT, s[len("/opt/vent/"):])
        return s

    def argv(self, args):
        out = [self.rewrite(a) for a in args]
        name = os.path.basename(out[0])
        if name in VENT_BINARIES:
            out[0] = os.path.join(BIN_DIR, name)
            check(os.access(out[0], os.X_OK), f"{out[0]} not built (set VENT_BIN_DIR)")
        else:
            check(shutil.which(out[0]) is not None, f"{out[0]} not found in PATH")
        return out

    def port(self, container_port):
        return self.port_map[container_port]

    def start(self, name):
        svc = self.services[name]
        argv = self.argv(svc["command"])
        env = dict(os.environ)
        for k in [k for k in env if k.startswith("VENT_") and k != "VENT_BIN_DIR"]:
            del env[k]  # only what the compose file sets
        env.update({k: self.rewrite(v) for k, v in (svc.get("environment") or {}).items()})
        env.setdefault("NODE_PATH", os.path.join(ROOT, "node_modules"))
        log = os.path.join(self.tmp, f"{name}.log")
        print(f"compose_run: {name}: {' '.join(argv)}", flush=True)
        with open(log, "wb") as f:
            proc = subprocess.Popen(argv, env=env, cwd=self.tmp, stdout=f, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True)
        self.procs[name] = (proc, log)
        test = svc["healthcheck"]["test"]
        check(test[0] in ("CMD", "CMD-SHELL"), f"{name}: unsupported healthcheck {test}")
        check(test[0] == "CMD", f"{name}: use the CMD form for healthchecks (no shell in the test)")
        health = self.argv(test[1:])

        def healthy():
            if proc.poll() is not None:
                raise Failure(f"{name} exited with {proc.returncode}")
            return subprocess.run(health, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                  timeout=5).returncode == 0

        wait_until(healthy, 30, f"{name} healthcheck {' '.join(health)}")
        print(f"compose_run: {name}: healthy", flush=True)

    def stop(self):
        for name, (proc, _) in reversed(list(self.procs.items())):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(5)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()

    def logs(self):
        out = []
        for name, (_, log) in self.procs.items():
            with open(log, "rb") as f:
                out.append(f"--- {name} ---\n{f.read()[-4000:].decode(errors='replace')}")
        return "\n".join(out)


def check_static(config):
    services = config.get("services") or {}
    check(set(services) == set(EXPECTED), f"services are {sorted(services)}, want {sorted(EXPECTED)}")
    for name, deps in EXPECTED.items():
        svc = services[name]
        check(svc.get("command"), f"{name}: no explicit command")
        hc = svc.get("healthcheck") or {}
        check(hc.get("test"), f"{name}: no healthcheck")
        got = svc.get("depends_on") or {}
        check(sorted(got) == sorted(deps), f"{name}: depends_on {sorted(got)}, want {deps}")
        for d in deps:
            check(got[d].get("condition") == "service_healthy", f"{name}: depends_on {d} is not service_healthy")
    stages = dockerfile_stages()
    targets = {"vent-server": "vent-server", "vent-bridge": "vent-bridge", "demo": "vent-demo"}
    for name, target in targets.items():
        build = services[name].get("build") or {}
        check(build.get("dockerfile") == "docker/Dockerfile", f"{name}: not built from docker/Dockerfile")
        check(build.get("target") == target, f"{name}: build target {build.get('target')}, want {target}")
        check(target in stages, f"Dockerfile has no stage {target}")
    check_slim(stages)
    for name in ("vent-server", "vent-bridge"):
        check(services[name]["environment"].get("VENT_REDIS") == "redis://redis:6379", f"{name}: VENT_REDIS")
    # Every COPY source of the Dockerfile exists in the checkout (context = repository root).
    with open(os.path.join(ROOT, "docker", "Dockerfile")) as f:
        for line in f:
            parts = line.split()
            if parts[:1] == ["COPY"] and not parts[1].startswith("--from"):
                for src in parts[1:-1]:
                    check(os.path.exists(os.path.join(ROOT, src)), f"Dockerfile: COPY source {src} is missing")


def dockerfile_stages():
    """{stage name: [its instruction lines]} of docker/Dockerfile."""
    stages, current = {}, None
    with open(os.path.join(ROOT, "docker", "Dockerfile")) as f:
        for line in f:
            parts = line.split()
            if parts[:1] == ["FROM"]:
                check(len(parts) == 4 and parts[2].upper() == "AS", f"Dockerfile: unnamed stage: {line.strip()}")
                current = parts[3]
                stages[current] = [line.strip()]
            elif current and parts:
                stages[current].append(line.strip())
    return stages


def stage_chain(stages, name):
    """The stage and the stages it is built FROM, e.g. vent-server, base."""
    chain = []
    while name in stages:
        chain.append(name)
        name = stages[name][0].split()[1]
    return chain


def check_slim(stages):
    """One slim image per program: no compiler, no npm, no devDependencies."""
    for target in ("vent-server", "vent-bridge", "vent-demo"):
        text = "\n".join(line for st in stage_chain(stages, target) for line in stages[st])
        for word in ("build-essential", "cmake", " npm ", "npm ci", "playwright", "chromium", "-dev "):
            check(word not in text, f"Dockerfile: image {target} has {word.strip()!r}")
        if target != "vent-demo":
            check("nodejs" not in text and "node_modules" not in text, f"Dockerfile: image {target} has node")
    demo = "\n".join(stages["vent-demo"])
    check("--from=demo-deps" in demo, "vent-demo: node_modules not from the demo-deps stage")
    check("--omit=dev" in "\n".join(stages["demo-deps"]), "demo-deps: npm ci without --omit=dev")
    with open(os.path.join(ROOT, "clients", "node", "package-lock.json")) as f:
        lock = json.load(f)
    for path, meta in lock.get("packages", {}).items():
        check(not meta.get("dev"), f"clients/node/package-lock.json: devDependency {path}")
        check("playwright" not in path, f"clients/node/package-lock.json: {path}")


def run_checks(stack):
    bridge = stack.port(3000)
    metrics = stack.port(9464)
    grpc = stack.port(50051)
    demo = stack.port(3001)
    http_emit = stack.port(8080)
    check(http_get(f"http://127.0.0.1:{metrics}/readyz")[0] == 200, "vent-server /readyz")
    check(http_get(f"http://127.0.0.1:{metrics}/livez")[0] == 200, "vent-server /livez")
    check(http_get(f"http://127.0.0.1:{bridge}/readyz")[0] == 200, "vent-bridge /readyz")
    check(http_get(f"http://127.0.0.1:{bridge}/livez")[0] == 200, "vent-bridge /livez")
    status, body = http_get(f"http://127.0.0.1:{bridge}/")
    check(status == 200 and b"<html" in body.lower(), "vent-bridge does not serve the demo page at /")

    ddp = subprocess.Popen(
        ["node", os.path.join(ROOT, "clients", "cpp", "testdata", "ddp_listen.js"),
         f"ws://127.0.0.1:{bridge}/websocket", "threadMessage", json.dumps({"threadId": "compose"}), "3"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "NODE_PATH": os.path.join(ROOT, "node_modules")})
    try:
        ready = ddp.stdout.readline().strip()
        check(ready.startswith("READY "), f"DDP client not ready: {ready!r} {ddp.stderr.read() if ddp.poll() is not None else ''}")
        rand = ready.split(" ", 1)[1]
        emit = subprocess.run([os.path.join(BIN_DIR, "vent"), "--server", f"127.0.0.1:{grpc}", "emit",
                               "threads::compose::new_message", '{"message": "via gRPC", "x": 1}'],
                              capture_output=True, text=True, timeout=30)
        check(emit.returncode == 0, f"vent emit failed: {emit.stderr}")
        check(json.loads(emit.stdout)["receivers"] == 1, f"vent emit: {emit.stdout}")
        req = urllib.request.Request(f"http://127.0.0.1:{demo}/api/messages", method="POST",
                                     data=json.dumps({"threadId": "compose", "message": "via demo"}).encode(),
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as r:
            reply = json.loads(r.read())
        check(reply.get("ok") is True, f"demo backend reply {reply}")
        req = urllib.request.Request(f"http://127.0.0.1:{http_emit}/v1/emit", method="POST",
                                     data=json.dumps({"channel": "threads::compose::new_message",
                                                      "data": {"message": "via HTTP", "x": 2}}).encode(),
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as r:
            reply = json.loads(r.read())
        check(reply.get("receivers") == 1 and len(reply.get("id", "")) == 26, f"HTTP emit reply {reply}")
        out, err = ddp.communicate(timeout=30)
        check(ddp.returncode == 0, f"DDP client failed: {err}")
        frames = out.splitlines()
        prefix = '{"msg":"changed","__vent":"1","id":"' + rand + '.threadMessage","e":'
        want = [prefix + '{"message":"via gRPC"}}', prefix + '{"message":"via demo"}}',
                prefix + '{"message":"via HTTP"}}']
        check(frames == want, f"DDP frames {frames}, want {want}")
    finally:
        if ddp.poll() is None:
            ddp.kill()
            ddp.wait()


def main():
    with open(sys.argv[1]) as f:
        config = yaml.safe_load(f)
    check_static(config)
    print("compose_run: static checks passed", flush=True)
    stack = Stack(config)
    try:
        print(f"compose_run: port map {stack.port_map}", flush=True)
        started = set()
        while len(started) < len(stack.services):  # depends_on order
            name = next(n for n, svc in sorted(stack.services.items())
                        if n not in started and set(svc.get("depends_on") or {}) <= started)
            stack.start(name)
            started.add(name)
        run_checks(stack)
        print("compose_run: all checks passed", flush=True)
    except Failure as e:
        print(f"compose_run: FAILED: {e}\n{stack.logs()}", file=sys.stderr, flush=True)
        return 1
    finally:
        stack.stop()
        shutil.rmtree(stack.tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Failure as e:
        print(f"compose_run: FAILED: {e}", file=sys.stderr)
        sys.exit(1)
