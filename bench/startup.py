"""Cold start to first answer, and memory after warm-up, of ``pyagent serve`` (offline).

Each run starts ``pyagent serve --classification local`` on a fresh data directory (the
triage models come from the shared cache, as on any machine after its first start),
times until ``/healthz`` answers (the server warms its models up before it accepts a
request) and until the first customer message is answered, then reads the process's
resident memory (``VmRSS``). In the same run, a peer measures the floor: a fresh Python
process that only imports torch, sentence-transformers and spaCy, which any server doing
this work pays; the ratio to it is what start-up work of our own costs. The machine is
shared and noisy: medians of ``--runs`` runs, with min and max.

``python -m bench.startup [--runs 3]``
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

SECRET_HEX = "00112233445566778899aabbccddeeff"
_FLOOR = "import torch, sentence_transformers, spacy, presidio_analyzer"


def main(argv: list[str]) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="bench.startup")
    parser.add_argument("--runs", type=int, default=3)
    args, _ = parser.parse_known_args(argv)
    runs = [_one_run() for _ in range(args.runs)]
    floors = [_floor() for _ in range(args.runs)]
    ready = [r["ready_s"] for r in runs]
    first = [r["first_answer_s"] for r in runs]
    return {
        "runs": args.runs,
        "ready_s": _spread(ready),
        "cold_start_to_first_answer_s": _spread(first),
        "first_answer_latency_ms": _spread(
            [1000 * (f - r) for f, r in zip(first, ready, strict=True)]
        ),
        "rss_after_first_answer_mib": _spread([r["rss_mib"] for r in runs]),
        "import_floor_s": _spread(floors),
        "cold_start_over_import_floor": round(
            statistics.median(first) / statistics.median(floors), 2
        ),
        "note": "offline LocalModel; triage models from the cache; medians over runs",
    }


def _one_run() -> dict[str, float]:
    port = _free_port()
    with tempfile.TemporaryDirectory(prefix="pyagent-startup-") as data:
        env = {
            **os.environ,
            "PYAGENT_DATA_DIR": data,
            "PYAGENT_CUSTOMER_SECRET": SECRET_HEX,
            "HF_HUB_OFFLINE": "1",
        }
        for key in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY"):
            env.pop(key, None)
        token = subprocess.run(
            [sys.executable, "-m", "pyagent_cli", "token", "bench"],
            env=env, capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
        command = [sys.executable, "-m", "pyagent_cli", "serve", "--classification", "local"]
        command += ["--port", str(port), "--store", str(Path(data) / "c.sqlite3")]
        started = time.perf_counter()
        process = subprocess.Popen(
            command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            url = f"http://127.0.0.1:{port}"
            ready = _wait_ready(url, process, started)
            reply = httpx.post(
                f"{url}/v1/conversations/c1/messages",
                json={"text": "My webhooks stopped firing after I rotated the API key"},
                headers={"Authorization": f"Bearer {token}"},
                timeout=120,
            )
            first = time.perf_counter() - started
            reply.raise_for_status()
            return {"ready_s": ready, "first_answer_s": first, "rss_mib": _rss_mib(process.pid)}
        finally:
            process.terminate()
            process.wait(60)


def _wait_ready(url: str, process: subprocess.Popen[bytes], started: float) -> float:
    while True:
        if process.poll() is not None:
            raise RuntimeError("pyagent serve exited before it was ready")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return time.perf_counter() - started
        except httpx.TransportError:
            time.sleep(0.05)


def _floor() -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", _FLOOR], check=True, capture_output=True)
    return time.perf_counter() - started


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _spread(values: list[float]) -> dict[str, float]:
    return {
        "median": round(statistics.median(values), 3),
        "min": round(min(values), 3),
        "max": round(max(values), 3),
    }


if __name__ == "__main__":
    import json

    print(json.dumps(main(sys.argv[1:]), indent=2))
