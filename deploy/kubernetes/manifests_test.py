"""Checks deploy/kubernetes/ without a cluster (no kubectl here):

  * every manifest parses, kustomization.yaml lists every non-example one;
  * each Deployment (vent-server, vent-bridge) has /livez and /readyz probes
    on the port its VENT_*_LISTEN variable binds, CPU and memory requests and
    limits, a non-root pod (runAsNonRoot, numeric runAsUser), no privilege
    escalation, a read-only root filesystem, all capabilities dropped, and a
    termination grace period longer than its own shutdown timeout;
  * a Service and a PodDisruptionBudget select each Deployment's pods, and
    every Service targetPort names a container port;
  * the binaries accept the environment as written (`--print-config`: every
    VENT_* variable is read, none ignored), and with it rewritten to local
    ports and a local redis-server, the probe paths answer 200.

Run by ctest (tests/CMakeLists.txt) with VENT_BIN_DIR set.
"""

import glob
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
BIN_DIR = os.environ.get("VENT_BIN_DIR") or os.path.join(ROOT, "build", "bin")
LISTEN_VAR = {"vent-server": "VENT_SERVER_METRICS_LISTEN", "vent-bridge": "VENT_BRIDGE_LISTEN"}
SHUTDOWN_VAR = {"vent-server": "VENT_SERVER_SHUTDOWN_GRACE", "vent-bridge": "VENT_BRIDGE_SHUTDOWN_TIMEOUT"}
failures = []


def check(cond, msg):
    if not cond:
        failures.append(msg)
    return cond


def load():
    docs = {}
    for path in sorted(glob.glob(os.path.join(HERE, "*.yaml"))):
        with open(path) as f:
            docs[os.path.basename(path)] = [d for d in yaml.safe_load_all(f) if d]
    return docs


def seconds(text):
    m = re.fullmatch(r"(\d+)(ms|s|m)", text)
    check(m, f"duration {text!r} not in ms/s/m")
    if not m:
        return 0
    n, unit = int(m.group(1)), m.group(2)
    return n / 1000 if unit == "ms" else n * 60 if unit == "m" else n


def port_of(hostport):
    return int(hostport.rsplit(":", 1)[1])


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def env_of(container):
    out = {}
    for e in container.get("env", []):
        if "value" in e:
            out[e["name"]] = e["value"]
        else:
            ref = e["valueFrom"]["secretKeyRef"]
            out[e["name"]] = f"secret:{ref['name']}/{ref['key']}"
    return out


def check_deployment(dep, services, pdbs):
    name = dep["metadata"]["name"]
    spec = dep["spec"]
    pod = spec["template"]["spec"]
    labels = spec["template"]["metadata"]["labels"]
    check(spec["selector"]["matchLabels"].items() <= labels.items(), f"{name}: selector does not match its pods")
    psc = pod.get("securityContext", {})
    check(psc.get("runAsNonRoot") is True, f"{name}: pod not runAsNonRoot")
    check(isinstance(psc.get("runAsUser"), int) and psc["runAsUser"] > 0,
          f"{name}: runAsUser must be a non-zero number (the image's user is a name)")
    containers = pod["containers"]
    check(len(containers) == 1, f"{name}: one container expected")
    c = containers[0]
    env = env_of(c)
    ports = {p["name"]: p["containerPort"] for p in c.get("ports", [])}
    listen = env.get(LISTEN_VAR[name], "")
    check(listen.startswith("0.0.0.0:"), f"{name}: {LISTEN_VAR[name]} must listen on 0.0.0.0 in a pod")
    for probe, path in (("livenessProbe", "/livez"), ("readinessProbe", "/readyz")):
        get = (c.get(probe) or {}).get("httpGet") or {}
        check(get.get("path") == path, f"{name}: {probe} path {get.get('path')!r}, want {path}")
        port = get.get("port")
        port = ports.get(port, port)
        check(listen and port == port_of(listen), f"{name}: {probe} port {port} is not {LISTEN_VAR[name]} {listen}")
    res = c.get("resources") or {}
    for kind in ("requests", "limits"):
        for r in ("cpu", "memory"):
            check(r in (res.get(kind) or {}), f"{name}: resources.{kind}.{r} missing")
    sc = c.get("securityContext") or {}
    check(sc.get("allowPrivilegeEscalation") is False, f"{name}: allowPrivilegeEscalation not false")
    check(sc.get("readOnlyRootFilesystem") is True, f"{name}: readOnlyRootFilesystem not true")
    check("ALL" in ((sc.get("capabilities") or {}).get("drop") or []), f"{name}: capabilities not dropped")
    grace = pod.get("terminationGracePeriodSeconds", 30)
    shutdown = env.get(SHUTDOWN_VAR[name])
    check(shutdown and grace > seconds(shutdown),
          f"{name}: terminationGracePeriodSeconds {grace} must exceed {SHUTDOWN_VAR[name]} {shutdown}")
    check(env.get("VENT_REDIS", "").startswith("secret:"), f"{name}: VENT_REDIS should come from a Secret")
    mine = [s for s in services if s["spec"]["selector"].items() <= labels.items()]
    check(len(mine) == 1, f"{name}: {len(mine)} Services select it, want 1")
    for s in mine:
        for p in s["spec"]["ports"]:
            check(p["targetPort"] in ports, f"Service {s['metadata']['name']}: targetPort {p['targetPort']} unknown")
    mine = [p for p in pdbs if p["spec"]["selector"]["matchLabels"].items() <= labels.items()]
    check(len(mine) == 1, f"{name}: {len(mine)} PodDisruptionBudgets select it, want 1")
    for p in mine:
        check(("minAvailable" in p["spec"]) != ("maxUnavailable" in p["spec"]),
              f"PDB {p['metadata']['name']}: one of minAvailable / maxUnavailable")
    return env


def local_env(env, redis_url, ca_file, listen_ports):
    """The manifest's environment with the pod-only parts made local."""
    out = {}
    for k, v in env.items():
        if v.startswith("secret:"):
            v = redis_url
        elif v.startswith("/etc/vent/redis/"):
            v = ca_file
        elif v == "/etc/vent/vent.yaml":
            v = os.path.join(HERE, "_local_vent.yaml")
        elif re.fullmatch(r"0\.0\.0\.0:\d+", v):
            p = free_port()
            listen_ports[k] = p
            v = f"127.0.0.1:{p}"
        out[k] = v
    return out


def http_status(url):
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def run_binary(name, env):
    """--print-config accepts every variable; the probes answer 200."""
    binary = os.path.join(BIN_DIR, name)
    base = {k: v for k, v in os.environ.items() if not k.startswith("VENT_")}
    r = subprocess.run([binary, "--print-config"], env={**base, **env}, capture_output=True, text=True, timeout=30)
    check(r.returncode == 0, f"{name} --print-config failed: {r.stderr}")
    text = r.stdout + r.stderr
    check("warning" not in text, f"{name}: configuration warnings: {text}")
    for k, v in env.items():
        if k == "VENT_CONFIG":  # named in the header: "(file PATH, ...)"
            check(v in text, f"{name}: the VENT_CONFIG file is not read")
        else:
            check(f"${k}" in text, f"{name}: {k} is not read (--print-config shows no ${k})")
    return binary


def main():
    docs = load()
    with open(os.path.join(HERE, "kustomization.yaml")) as f:
        kust = yaml.safe_load(f)
    listed = set(kust.get("resources", []))
    for fname in docs:
        if fname in ("kustomization.yaml",) or ".example." in fname:
            continue
        check(fname in listed, f"kustomization.yaml does not list {fname}")
    objs = [d for fname, ds in docs.items() if fname != "kustomization.yaml" for d in ds]
    for d in objs:
        check(d.get("apiVersion") and d.get("kind") and d.get("metadata", {}).get("name"),
              f"object without apiVersion/kind/name: {str(d)[:80]}")
    deployments = {d["metadata"]["name"]: d for d in objs if d["kind"] == "Deployment"}
    services = [d for d in objs if d["kind"] == "Service"]
    pdbs = [d for d in objs if d["kind"] == "PodDisruptionBudget"]
    check(set(deployments) == {"vent-server", "vent-bridge"}, f"Deployments {sorted(deployments)}")
    envs = {n: check_deployment(d, services, pdbs) for n, d in deployments.items()}

    # The environment as the binaries see it, then the probes live.
    cfg = next(d for d in objs if d["kind"] == "ConfigMap")
    local_cfg = os.path.join(HERE, "_local_vent.yaml")
    with open(local_cfg, "w") as f:
        f.write(cfg["data"]["vent.yaml"])
    tmp = tempfile.mkdtemp(prefix="vent-k8s-")
    redis_port = free_port()
    redis = subprocess.Popen(["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "",
                              "--appendonly", "no", "--dir", tmp], stdout=subprocess.DEVNULL)
    procs = [redis]
    try:
        ca = os.path.join(tmp, "ca.pem")
        subprocess.run([os.path.join(BIN_DIR, "vent-test-redis"), "pki", tmp], check=True,
                       stdout=subprocess.DEVNULL)
        for name, env in envs.items():
            ports = {}
            env = local_env(env, f"redis://127.0.0.1:{redis_port}", ca, ports)
            # A plain local Redis: the TLS and mode variables are checked by
            # --print-config, but the live run needs plain TCP.
            binary = run_binary(name, env)
            live = {k: v for k, v in env.items() if not k.startswith("VENT_REDIS_TLS")}
            live["VENT_REDIS_PUBSUB"] = env.get("VENT_REDIS_PUBSUB", "classic")
            base = {k: v for k, v in os.environ.items() if not k.startswith("VENT_")}
            p = subprocess.Popen([binary], env={**base, **live}, stdout=subprocess.DEVNULL,
                                 stderr=open(os.path.join(tmp, f"{name}.log"), "w"))
            procs.append(p)
            port = ports[LISTEN_VAR[name]]
            deadline = time.monotonic() + 20
            got = {}
            while time.monotonic() < deadline:
                try:
                    got = {path: http_status(f"http://127.0.0.1:{port}{path}") for path in ("/livez", "/readyz")}
                except OSError:
                    got = {}
                if got == {"/livez": 200, "/readyz": 200}:
                    break
                if p.poll() is not None:
                    break
                time.sleep(0.05)  # readiness poll interval, bounded by the deadline
            with open(os.path.join(tmp, f"{name}.log")) as f:
                log = f.read()[-2000:]
            check(got == {"/livez": 200, "/readyz": 200}, f"{name}: probes answered {got}\n{log}")
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    p.kill()
        os.remove(local_cfg)
        subprocess.run(["rm", "-rf", tmp])

    if failures:
        for f in failures:
            print(f"manifests_test: FAIL: {f}", file=sys.stderr)
        return 1
    print("manifests_test: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
