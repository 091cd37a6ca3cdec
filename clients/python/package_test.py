#!/usr/bin/python3
"""The Python package as a user meets it, offline.

Builds the wheel from a copy of clients/python (`pip wheel --no-deps
--no-build-isolation`, Debian's setuptools), installs it into a fresh venv
(`--system-site-packages` for Debian's python3-grpcio / python3-protobuf,
`--no-index`: its dependencies must be satisfied by those), then, from a
folder outside the repository with `python -I` (no PYTHONPATH, no cwd on
sys.path), emits and subscribes with the sync and the asyncio clients against
a real redis-server + vent-server.
Run: VENT_BIN_DIR=build/bin /usr/bin/python3 clients/python/package_test.py
"""

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
BIN_DIR = os.environ.get("VENT_BIN_DIR", os.path.join(ROOT, "build", "bin"))
PYTHON = "/usr/bin/python3"  # Debian's, with python3-grpcio

CONSUMER = r'''
import asyncio, json, sys
import vent_client
from vent_client import VentClient
from vent_client.aio import AsyncVentClient

addr, chan = sys.argv[1], sys.argv[2]
out = {"file": vent_client.__file__, "version": vent_client.__version__}
with VentClient(addr) as vent:
    with vent.subscribe([chan]) as sub:
        sub.wait_ready(timeout=10)
        out["emit"] = vent.emit(chan, {"n": 1})._asdict()
        out["batch"] = [r._asdict() for r in vent.emit_batch([(chan, '{"n": 2}'), {"channel": chan, "data": {"n": 3}}])]
        out["stream"] = vent.emit_stream((chan, {"n": i}) for i in range(4, 7))._asdict()
        got = [sub.get(timeout=10) for _ in range(6)]
        out["sync_events"] = [e.json for e in got]
        out["emitted_at"] = all(e.emitted_at is not None and e.channel == chan for e in got)

async def main():
    async with AsyncVentClient(addr) as vent:
        sub = vent.subscribe([chan + ".aio"])
        await sub.wait_ready()
        r = await vent.emit(chan + ".aio", '{"aio": 1}')
        b = await vent.emit_batch([(chan + ".aio", {"aio": 2})])

        async def gen():
            for i in range(3, 5):
                yield (chan + ".aio", {"aio": i})
        s = await vent.emit_stream(gen())
        events = []
        async for ev in sub:
            events.append(ev.json)
            if len(events) == 4:
                break
        sub.cancel()
        out["aio"] = {"emit": r._asdict(), "batch": len(b), "stream": s._asdict(), "events": events}

asyncio.run(main())
print(json.dumps(out))
'''


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(fn, timeout, what):
    deadline = time.monotonic() + timeout
    while True:
        try:
            if fn():
                return
        except Exception:  # noqa: BLE001 - "not yet"
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def run(cmd, **kw):
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=300, **kw)
    if res.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} exited {res.returncode}\n{res.stdout}\n{res.stderr}")
    return res.stdout


class PackageTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="vent-py-")
        cls.procs = []
        # Build from a copy: setuptools writes build/ and *.egg-info next to the sources.
        src = os.path.join(cls.tmp, "src")
        shutil.copytree(HERE, src, ignore=shutil.ignore_patterns("__pycache__", "build", "*.egg-info"))
        dist = os.path.join(cls.tmp, "dist")
        run([PYTHON, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
             "-w", dist, src])
        wheels = [f for f in os.listdir(dist) if f.endswith(".whl")]
        assert len(wheels) == 1, wheels
        cls.wheel = os.path.join(dist, wheels[0])
        venv = os.path.join(cls.tmp, "venv")
        run([PYTHON, "-m", "venv", "--system-site-packages", venv])
        cls.py = os.path.join(venv, "bin", "python")
        run([cls.py, "-m", "pip", "install", "--no-index", "--disable-pip-version-check", cls.wheel])
        # redis-server + vent-server on free ports.
        rport, gport, mport = free_port(), free_port(), free_port()
        cls.procs.append(subprocess.Popen(
            ["redis-server", "--port", str(rport), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        cls.procs.append(subprocess.Popen(
            [os.path.join(BIN_DIR, "vent-server"), "--listen", f"127.0.0.1:{gport}",
             "--redis", f"redis://127.0.0.1:{rport}", "--metrics-listen", f"127.0.0.1:{mport}",
             "--http-listen", "", "--log-level", "warn"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        wait_for(lambda: urllib.request.urlopen(f"http://127.0.0.1:{mport}/healthz", timeout=1).status == 200,
                 20, "vent-server /healthz")
        cls.addr = f"127.0.0.1:{gport}"

    @classmethod
    def tearDownClass(cls):
        for p in cls.procs:
            p.kill()
            p.wait()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_wheel_contents_and_metadata(self):
        with zipfile.ZipFile(self.wheel) as z:
            names = set(z.namelist())
            for f in ["vent_client/__init__.py", "vent_client/aio.py", "vent_client/vent/v1/vent_pb2.py",
                      "vent_client/vent/v1/vent_pb2_grpc.py", "vent_client/vent/v1/authorizer_pb2.py"]:
                self.assertIn(f, names)
            meta = z.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
        self.assertIn("Requires-Dist: grpcio", meta)
        self.assertIn("Requires-Dist: protobuf", meta)
        version = re.search(r"project\(vent VERSION ([0-9.]+)", read(os.path.join(ROOT, "CMakeLists.txt")))[1]
        self.assertIn(f"Version: {version}\n", meta)
        self.assertIn(f'__version__ = "{version}"', read(os.path.join(HERE, "vent_client", "__init__.py")))

    def test_emit_and_subscribe_from_the_venv(self):
        work = os.path.join(self.tmp, "app")
        os.makedirs(work, exist_ok=True)
        with open(os.path.join(work, "main.py"), "w") as f:
            f.write(CONSUMER)
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VENT_PROTO")}
        env["PATH"] = "/usr/bin:/bin"  # no protoc needed: prove it by not offering one
        out = json.loads(run([self.py, "-I", "main.py", self.addr, "pkg::py::events"], cwd=work, env=env))
        self.assertTrue(out["file"].startswith(os.path.join(self.tmp, "venv")), out["file"])
        self.assertEqual(out["emit"]["receivers"], 1)
        self.assertEqual(len(out["emit"]["id"]), 26)
        self.assertEqual([r["receivers"] for r in out["batch"]], [1, 1])
        self.assertEqual(out["stream"], {"published": 3, "receivers": 3})
        self.assertEqual(out["sync_events"], ['{"n":1}', '{"n": 2}', '{"n":3}', '{"n":4}', '{"n":5}', '{"n":6}'])
        self.assertTrue(out["emitted_at"])
        aio = out["aio"]
        self.assertEqual(aio["emit"]["receivers"], 1)
        self.assertEqual(aio["stream"], {"published": 2, "receivers": 2})
        self.assertEqual(aio["events"], ['{"aio": 1}', '{"aio":2}', '{"aio":3}', '{"aio":4}'])


if __name__ == "__main__":
    unittest.main(verbosity=2)
