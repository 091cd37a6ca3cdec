"""Emit path end to end from Python (clients/python/vent_client.py).

Starts redis-server and vent-server on free ports, emits with VentClient and
checks with a raw RESP subscriber that Redis delivers the exact bytes.
Run: VENT_BIN_DIR=build/bin /usr/bin/python3 tests/emit/python_emit_test.py
"""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "clients", "python"))

import grpc  # noqa: E402
import vent_client  # noqa: E402

BIN_DIR = os.environ.get("VENT_BIN_DIR", os.path.join(ROOT, "build", "bin"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(fn, timeout, what, interval=0.05):
    """Polls fn() until truthy or the deadline; exceptions count as 'not yet'."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            v = fn()
            if v:
                return v
        except Exception as e:  # noqa: BLE001 - reported below
            last = e
        if time.monotonic() >= deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}; last error: {last}")
        time.sleep(interval)


class Proc:
    """A child process whose output goes to a temp file (shown on failure)."""

    def __init__(self, args):
        self.log = tempfile.TemporaryFile()
        self.args = args
        self.p = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT)

    def output(self):
        self.log.seek(0)
        return self.log.read().decode(errors="replace")[-8000:]

    def check_alive(self):
        if self.p.poll() is not None:
            raise RuntimeError(f"{self.args[0]} exited with {self.p.returncode}:\n{self.output()}")

    def stop(self):
        if self.p.poll() is None:
            self.p.terminate()
            try:
                self.p.wait(5)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self.log.close()


class Resp:
    """Minimal RESP2 reader over a socket, enough for SUBSCRIBE pushes."""

    def __init__(self, port, timeout=5.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""

    def send(self, *args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            b = a if isinstance(a, bytes) else str(a).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(b), b))
        self.sock.sendall(b"".join(out))

    def _line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("redis closed the connection")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _exact(self, n):
        while len(self.buf) < n + 2:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("redis closed the connection")
            self.buf += chunk
        data, self.buf = self.buf[:n], self.buf[n + 2:]
        return data

    def read(self):
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise RuntimeError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            return None if n < 0 else self._exact(n)
        if kind == b"*":
            return [self.read() for _ in range(int(rest))]
        raise ValueError(f"bad RESP type {kind!r}")

    def close(self):
        self.sock.close()


class Subscriber(Resp):
    def __init__(self, port, channels):
        super().__init__(port)
        self.send("SUBSCRIBE", *channels)
        for _ in channels:
            reply = self.read()
            assert reply[0] == b"subscribe", reply

    def next_message(self):
        """Returns (channel bytes, payload bytes) of the next message (5 s timeout)."""
        while True:
            reply = self.read()
            if reply[0] == b"message":
                return reply[1], reply[2]


def redis_ping(port):
    r = Resp(port, timeout=1.0)
    try:
        r.send("PING")
        return r.read() == "PONG"
    finally:
        r.close()


def http_status(url):
    try:
        with urllib.request.urlopen(url, timeout=1) as resp:
            return resp.status
    except urllib.error.HTTPError as e:
        return e.code


class PythonEmitTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.procs = []
        cls.tmp = tempfile.mkdtemp(prefix="vent-pytest-")
        try:
            cls.redis_port = free_port()
            redis = Proc(["/usr/bin/redis-server", "--port", str(cls.redis_port), "--bind",
                          "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", cls.tmp])
            cls.procs.append(redis)

            def redis_up():
                redis.check_alive()
                return redis_ping(cls.redis_port)

            wait_for(redis_up, 20, "redis-server PING")

            grpc_port, metrics_port = free_port(), free_port()
            server = Proc([os.path.join(BIN_DIR, "vent-server"),
                           "--listen", f"127.0.0.1:{grpc_port}",
                           "--redis", f"redis://127.0.0.1:{cls.redis_port}",
                           "--metrics-listen", f"127.0.0.1:{metrics_port}",
                           "--http-listen", ""])
            cls.procs.append(server)
            cls.server = server

            def server_up():
                try:
                    return http_status(f"http://127.0.0.1:{metrics_port}/healthz") == 200
                except OSError:
                    server.check_alive()
                    return False

            try:
                wait_for(server_up, 20, "vent-server /healthz 200")
            except TimeoutError as e:
                raise TimeoutError(f"{e}\n--- vent-server output ---\n{server.output()}") from e
            cls.client = vent_client.VentClient(f"127.0.0.1:{grpc_port}")
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        if getattr(cls, "client", None):
            cls.client.close()
        for p in reversed(cls.procs):
            p.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_emit_bytes_exact(self):
        channel = "py::threads::t1 \u00e9"
        sub = Subscriber(self.redis_port, [channel])
        try:
            text = '{ "z": 1,  "a": "h\u00e9llo \u2713 \U0001F680", "n": [1.50, null] }'
            r = self.client.emit(channel, text)
            self.assertEqual(r.receivers, 1)
            self.assertEqual(len(r.id), 26)
            self.assertFalse(r.duplicate)
            ch, payload = sub.next_message()
            self.assertEqual(ch, channel.encode())
            self.assertEqual(payload, text.encode("utf-8"))
            # dict payloads are serialized compactly, UTF-8, in insertion order
            self.client.emit(channel, {"b": 2, "a": "\u00e9"})
            self.assertEqual(sub.next_message()[1], '{"b":2,"a":"\u00e9"}'.encode("utf-8"))
        finally:
            sub.close()

    def test_emit_batch(self):
        channel = "py::batch"
        sub = Subscriber(self.redis_port, [channel])
        try:
            results = self.client.emit_batch([(channel, {"i": i}) for i in range(500)])
            self.assertEqual(len(results), 500)
            self.assertTrue(all(r.receivers == 1 for r in results))
            self.assertEqual(len({r.id for r in results}), 500)
            for i in range(500):
                self.assertEqual(sub.next_message()[1], b'{"i":%d}' % i)
        finally:
            sub.close()

    def test_emit_stream(self):
        channel = "py::stream"
        sub = Subscriber(self.redis_port, [channel])
        try:
            res = self.client.emit_stream((channel, {"i": i}) for i in range(2000))
            self.assertEqual(res.published, 2000)
            for i in range(2000):
                self.assertEqual(sub.next_message()[1], b'{"i":%d}' % i)
        finally:
            sub.close()

    def test_invalid_json(self):
        channel = "py::invalid"
        sub = Subscriber(self.redis_port, [channel])
        try:
            for bad in ['{"a":', "{'a': 1}", "", "nope"]:
                with self.assertRaises(grpc.RpcError) as cm:
                    self.client.emit(channel, bad)
                self.assertEqual(cm.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
                self.assertRegex(cm.exception.details(), "(?i)json")
            with self.assertRaises(grpc.RpcError) as cm:
                self.client.emit("", {})
            self.assertEqual(cm.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
            with self.assertRaises(grpc.RpcError) as cm:
                self.client.emit_batch([(channel, {"ok": 1}), (channel, "{bad")])
            self.assertEqual(cm.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
            # Nothing from the refused calls reached Redis: the sentinel comes first.
            self.client.emit(channel, '"sentinel"')
            self.assertEqual(sub.next_message()[1], b'"sentinel"')
        finally:
            sub.close()


if __name__ == "__main__":
    # unittest.main exits 1 on failure or error, which ctest reports.
    unittest.main(verbosity=2)
