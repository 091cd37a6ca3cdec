"""Runs docker-compose.cluster.yml's services as local processes (used by
compose_cluster_test.sh), like compose_run.py does for docker-compose.yml.

Input: the normalized output of `docker-compose -f docker-compose.cluster.yml
config`. No container engine: each service's exact `command`, `environment`
and healthcheck run on this machine with these rewrites only:
  * every container port gets a local port per service (the six Redis nodes
    all use 6379 in their containers; locally each gets its own port, with
    the cluster bus port +10000 free too); "service:port", the Redis nodes'
    fixed addresses "172.30.0.1N:port", and a service's own "0.0.0.0:port" /
    "127.0.0.1:port" / bare "--port N" become 127.0.0.1:<its local port>;
  * /opt/vent/... -> the checkout (the images and the lb volume mirror it);
  * vent binaries -> $VENT_BIN_DIR; redis-server also gets --bind 127.0.0.1.
Services start in depends_on order: `service_healthy` waits on the
dependency's own healthcheck, `service_completed_successfully` on its exit 0.
Then, through the load balancer: two DDP clients land on different bridges,
events emitted through both vent-servers reach them byte for byte, and the
channels are sharded (SSUBSCRIBE) on the masters owning their slots.

Exit 0 when every check passed; otherwise 1 with the reason and the logs.
"""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compose_run import (BIN_DIR, ROOT, VENT_BINARIES, Failure, check,  # noqa: E402
                         free_port, http_get, wait_until)

REDIS_NODES = [f"redis-{i}" for i in range(1, 7)]
EXPECTED = {
    **{n: [] for n in REDIS_NODES},
    "redis-cluster-init": REDIS_NODES,
    "vent-server-1": ["redis-cluster-init"],
    "vent-server-2": ["redis-cluster-init"],
    "vent-bridge-1": ["redis-cluster-init"],
    "vent-bridge-2": ["redis-cluster-init"],
    "lb": ["vent-bridge-1", "vent-bridge-2"],
}
HOSTPORT = re.compile(r"\b([A-Za-z0-9.-]+):(\d{2,5})\b")
SELF_HOSTS = {"0.0.0.0", "127.0.0.1", "localhost"}


def cluster_port():
    """A free local port P <= 55535 whose cluster bus port P+10000 is free."""
    for _ in range(200):
        p = 20000 + free_port() % 25536
        ok = True
        for q in (p, p + 10000):
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", q))
                except OSError:
                    ok = False
        if ok:
            return p
    raise Failure("no free cluster port pair")


class ClusterStack:
    def __init__(self, config):
        self.services = config["services"]
        self.tmp = tempfile.mkdtemp(prefix="vent-compose-cluster-")
        self.procs = {}  # name -> (Popen, log)
        self.ip_of = {}
        for name, svc in self.services.items():
            for net in (svc.get("networks") or {}).values():
                if net and net.get("ipv4_address"):
                    self.ip_of[net["ipv4_address"]] = name
        self.ports = {}  # (service, container port) -> local port

    def local(self, service, port):
        key = (service, int(port))
        if key not in self.ports:
            self.ports[key] = cluster_port() if service in REDIS_NODES else free_port()
        return self.ports[key]

    def rewrite(self, s, own):
        s = str(s)

        def sub(m):
            host, port = m.group(1), int(m.group(2))
            if host in SELF_HOSTS:
                return f"127.0.0.1:{self.local(own, port)}"
            if host in self.services:
                return f"127.0.0.1:{self.local(host, port)}"
            if host in self.ip_of:
                return f"127.0.0.1:{self.local(self.ip_of[host], port)}"
            return m.group(0)

        s = HOSTPORT.sub(sub, s)
        if s.startswith("/opt/vent/"):
            s = os.path.join(ROOT, s[len("/opt/vent/"):])
        return s

    def argv(self, args, own):
        out = []
        prev = None
        for a in args:
            a = str(a)
            if prev in ("--port", "-p") and a.isdigit():
                out.append(str(self.local(own, int(a))))
            else:
                out.append(self.rewrite(a, own))
            prev = a
        name = os.path.basename(out[0])
        if name in VENT_BINARIES:
            out[0] = os.path.join(BIN_DIR, name)
            check(os.access(out[0], os.X_OK), f"{out[0]} not built (set VENT_BIN_DIR)")
        if name == "redis-server":
            out += ["--bind", "127.0.0.1"]  # tests listen on loopback only
        return out

    def start(self, name):
        svc = self.services[name]
        argv = self.argv(svc["command"], name)
        env = dict(os.environ)
        for k in [k for k in env if k.startswith("VENT_") and k != "VENT_BIN_DIR"]:
            del env[k]
        env.update({k: self.rewrite(v, name) for k, v in (svc.get("environment") or {}).items()})
        env.setdefault("NODE_PATH", os.path.join(ROOT, "node_modules"))
        cwd = os.path.join(self.tmp, name)  # e.g. each node's nodes.conf
        os.makedirs(cwd)
        log = os.path.join(self.tmp, f"{name}.log")
        print(f"compose_cluster_run: {name}: {' '.join(argv)}", flush=True)
        with open(log, "wb") as f:
            proc = subprocess.Popen(argv, env=env, cwd=cwd, stdout=f, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True)
        self.procs[name] = (proc, log)

    def wait_healthy(self, name):
        proc, _ = self.procs[name]
        test = self.services[name]["healthcheck"]["test"]
        check(test[0] == "CMD", f"{name}: use the CMD form for healthchecks (no shell in the test)")
        health = self.argv(test[1:], name)

        def healthy():
            if proc.poll() is not None:
                raise Failure(f"{name} exited with {proc.returncode}")
            return subprocess.run(health, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                  timeout=5).returncode == 0

        wait_until(healthy, 60, f"{name} healthcheck {' '.join(health)}")
        print(f"compose_cluster_run: {name}: healthy", flush=True)

    def wait_completed(self, name):
        proc, _ = self.procs[name]
        try:
            code = proc.wait(90)
        except subprocess.TimeoutExpired:
            raise Failure(f"{name} did not complete within 90 s")
        check(code == 0, f"{name} exited with {code}")
        print(f"compose_cluster_run: {name}: completed", flush=True)

    def stop(self):
        for _, (proc, _) in reversed(list(self.procs.items())):
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
                out.append(f"--- {name} ---\n{f.read()[-3000:].decode(errors='replace')}")
        return "\n".join(out)


def check_static(config):
    services = config.get("services") or {}
    check(set(services) == set(EXPECTED), f"services are {sorted(services)}, want {sorted(EXPECTED)}")
    for name, deps in EXPECTED.items():
        svc = services[name]
        check(svc.get("command"), f"{name}: no explicit command")
        got = svc.get("depends_on") or {}
        check(sorted(got) == sorted(deps), f"{name}: depends_on {sorted(got)}, want {deps}")
        for d in deps:
            want = "service_completed_successfully" if d == "redis-cluster-init" else "service_healthy"
            check(got[d].get("condition") == want, f"{name}: depends_on {d} is not {want}")
        if name != "redis-cluster-init":
            check((svc.get("healthcheck") or {}).get("test"), f"{name}: no healthcheck")
    ips = []
    for n in REDIS_NODES:
        cmd = services[n]["command"]
        check("--cluster-enabled" in cmd and cmd[cmd.index("--cluster-enabled") + 1] == "yes",
              f"{n}: not --cluster-enabled yes")
        ips.append(services[n]["networks"]["vent-cluster"]["ipv4_address"])
    init = " ".join(services["redis-cluster-init"]["command"])
    for ip in ips:
        check(f"{ip}:6379" in init, f"redis-cluster-init does not join {ip}:6379")
    check("--cluster-replicas 1" in init, "redis-cluster-init: not 3 masters + 3 replicas")
    for name in ("vent-server-1", "vent-server-2", "vent-bridge-1", "vent-bridge-2"):
        env = services[name]["environment"]
        check(env.get("VENT_REDIS", "").startswith("redis-cluster://"), f"{name}: VENT_REDIS not a cluster URL")
        check(env.get("VENT_REDIS_PUBSUB") == "sharded", f"{name}: VENT_REDIS_PUBSUB is not sharded")
    lb = services["lb"]["command"]
    check("vent-bridge-1:3000" in lb and "vent-bridge-2:3000" in lb, "lb does not balance both bridges")
    for v in services["lb"].get("volumes") or []:
        src, dst = (v["source"], v["target"]) if isinstance(v, dict) else v.split(":")[:2]
        check(dst.startswith("/opt/vent/") and os.path.samefile(src, os.path.join(ROOT, dst[len("/opt/vent/"):])),
              f"lb volume {src} -> {dst} does not mirror the checkout")


def metric(url, name):
    status, body = http_get(url)
    check(status == 200, f"{url}: {status}")
    for line in body.decode().splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    return 0.0


def key_slot(key):
    o = key.find("{")
    if o >= 0:
        c = key.find("}", o + 1)
        if c > o + 1:
            key = key[o + 1:c]
    crc = 0
    for b in key.encode():
        crc ^= b << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) & 0xFFFF if crc & 0x8000 else (crc << 1) & 0xFFFF
    return crc & 16383


def thread_in(prefix, lo, hi):
    n = 0
    while True:
        t = f"{prefix}{n}"
        if lo <= key_slot(f"threads::{t}::new_message") <= hi:
            return t
        n += 1


def run_checks(stack):
    lb = stack.local("lb", 8080)
    bridges = [stack.local("vent-bridge-1", 3000), stack.local("vent-bridge-2", 3000)]
    servers = [stack.local("vent-server-1", 50051), stack.local("vent-server-2", 50051)]
    for name in ("vent-server-1", "vent-server-2"):
        m = stack.local(name, 9464)
        check(http_get(f"http://127.0.0.1:{m}/readyz")[0] == 200, f"{name} /readyz")
        check(http_get(f"http://127.0.0.1:{m}/livez")[0] == 200, f"{name} /livez")
    check(http_get(f"http://127.0.0.1:{lb}/healthz")[0] == 200, "bridge /healthz through the lb")
    status, body = http_get(f"http://127.0.0.1:{lb}/")
    check(status == 200 and b"<html" in body.lower(), "the demo page through the lb")

    # Two clients through the lb, on threads owned by different masters.
    threads = [thread_in("cc", 0, 5000), thread_in("cc", 11000, 16383)]
    clients = []
    try:
        for t in threads:
            p = subprocess.Popen(
                ["node", os.path.join(ROOT, "clients", "cpp", "testdata", "ddp_listen.js"),
                 f"ws://127.0.0.1:{lb}/websocket", "threadMessage", json.dumps({"threadId": t}), "2"],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                env={**os.environ, "NODE_PATH": os.path.join(ROOT, "node_modules")})
            clients.append(p)
            ready = p.stdout.readline().strip()
            check(ready.startswith("READY "), f"DDP client not ready: {ready!r}")
            p.rand = ready.split(" ", 1)[1]
        # Round robin: one client on each bridge.
        conns = [metric(f"http://127.0.0.1:{b}/metrics", "vent_bridge_connections") for b in bridges]
        check(conns == [1.0, 1.0], f"connections per bridge {conns}, want one each")
        # Sharded: each channel is SSUBSCRIBEd on the master owning its slot.
        shard_channels = set()
        for n in REDIS_NODES:
            out = subprocess.run(["redis-cli", "-p", str(stack.local(n, 6379)), "PUBSUB", "SHARDCHANNELS"],
                                 capture_output=True, text=True, timeout=10).stdout
            shard_channels.update(out.split())
        for t in threads:
            check(f"threads::{t}::new_message" in shard_channels, f"{t}: not a sharded subscription")
        for i, t in enumerate(threads):
            for k, server in enumerate(servers):
                emit = subprocess.run([os.path.join(BIN_DIR, "vent"), "--server", f"127.0.0.1:{server}", "emit",
                                       f"threads::{t}::new_message", json.dumps({"message": f"s{k}", "i": i})],
                                      capture_output=True, text=True, timeout=30)
                check(emit.returncode == 0, f"vent emit via server {k + 1} failed: {emit.stderr}")
        for i, p in enumerate(clients):
            out, err = p.communicate(timeout=30)
            check(p.returncode == 0, f"DDP client {i} failed: {err}")
            prefix = '{"msg":"changed","__vent":"1","id":"' + p.rand + '.threadMessage","e":'
            want = [prefix + '{"message":"s0"}}', prefix + '{"message":"s1"}}']
            check(out.splitlines() == want, f"client {i} frames {out.splitlines()}, want {want}")
    finally:
        for p in clients:
            if p.poll() is None:
                p.kill()
                p.wait()


def main():
    with open(sys.argv[1]) as f:
        config = yaml.safe_load(f)
    check_static(config)
    print("compose_cluster_run: static checks passed", flush=True)
    stack = ClusterStack(config)
    try:
        done = set()
        while len(done) < len(stack.services):
            name = next(n for n, svc in sorted(stack.services.items())
                        if n not in done and set(svc.get("depends_on") or {}) <= done)
            stack.start(name)
            if name == "redis-cluster-init":
                stack.wait_completed(name)
            else:
                stack.wait_healthy(name)
            done.add(name)
        run_checks(stack)
        print("compose_cluster_run: all checks passed", flush=True)
    except Failure as e:
        print(f"compose_cluster_run: FAILED: {e}\n{stack.logs()}", file=sys.stderr, flush=True)
        return 1
    finally:
        stack.stop()
        subprocess.run(["rm", "-rf", stack.tmp])
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Failure as e:
        print(f"compose_cluster_run: FAILED: {e}", file=sys.stderr)
        sys.exit(1)
