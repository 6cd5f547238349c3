"""``tests.fakeapi.FakeAPI`` in a child process, with arrival times, for the benchmarks.

Why a child process: in-process, the server's handler threads share the benchmark's GIL.
Whenever our code releases the GIL (an SQLite write, a tiktoken count) a server thread can
take it, and getting it back costs up to the 5 ms switch interval -- an artefact no real,
remote API causes. The server's CPU time would also count as the client's.

Why a wrapper at all: the server's request log has no timestamps, and the rate benchmark
needs the arrival time of every request. This module records ``time.monotonic()`` (one
system-wide clock on Linux) as each request is logged.

Protocol with the parent, one line each over the child's stdin/stdout: the child prints
``{"base_url": ...}`` when it is serving; ``log`` asks for the requests so far as a JSON list
of ``{"t", "path", "user"}`` (arrival time, path, last user message); end of input stops it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


class FakeServerProcess:
    """The fake OpenAI/Anthropic server in a child process; use as a context manager.

    Args:
        latency: Seconds the server sleeps before every response.
    """

    def __init__(self, latency: float = 0.0) -> None:
        self.latency = latency
        self._process: subprocess.Popen[str] | None = None
        self.base_url = ""

    def __enter__(self) -> FakeServerProcess:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), *sys.path])}
        self._process = subprocess.Popen(
            [sys.executable, "-m", "bench._fakeserver", str(self.latency)],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._process.stdout is not None
        self.base_url = json.loads(self._process.stdout.readline())["base_url"]
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._process is not None:
            assert self._process.stdin is not None
            self._process.stdin.close()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
            self._process = None

    @property
    def openai_base_url(self) -> str:
        """``base_url + "/v1"``, for the OpenAI SDK."""
        return self.base_url + "/v1"

    def log(self) -> list[dict[str, Any]]:
        """Every request received so far: arrival time (monotonic), path, last user text."""
        assert self._process is not None and self._process.stdin and self._process.stdout
        self._process.stdin.write("log\n")
        self._process.stdin.flush()
        return json.loads(self._process.stdout.readline())


def _serve(latency: float) -> None:
    from tests.fakeapi import FakeAPI, server

    # http.server writes headers and body in two small writes; with Nagle's algorithm the
    # second waits for the client's delayed ACK (~40 ms on Linux loopback) -- a stall of
    # this server, not of any real API. (One line that belongs in tests/fakeapi/server.py.)
    server._Handler.disable_nagle_algorithm = True  # pyright: ignore[reportPrivateUsage]
    api = FakeAPI(latency=latency)
    state = api._state  # pyright: ignore[reportPrivateUsage]
    record, lock = state.record, threading.Lock()
    arrivals: list[float] = []

    def timed_record(request: Any) -> None:
        with lock:  # keeps arrivals[i] the time of requests[i]
            arrivals.append(time.monotonic())
            record(request)

    state.record = timed_record  # type: ignore[method-assign]
    with api:
        print(json.dumps({"base_url": api.base_url}), flush=True)
        for line in sys.stdin:
            if line.strip() == "log":
                with lock:
                    pairs = list(zip(arrivals, api.requests, strict=True))
                entries = [
                    {"t": t, "path": r.path, "user": server._last_user_text(r.json or {})}  # pyright: ignore[reportPrivateUsage]
                    for t, r in pairs
                ]
                print(json.dumps(entries), flush=True)


if __name__ == "__main__":
    _serve(float(sys.argv[1]))
