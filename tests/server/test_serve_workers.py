"""``pyagent serve --workers 2``: two processes on one port, each warmed up, both serving."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from pyagent_cli.main import main
from tests.server.conftest import free_port
from tests.server.test_serve_command import SECRET_HEX, customer_headers

ROOT = Path(__file__).resolve().parents[2]
RECIPE = "tests.server.workers_recipe"


def children(pid: int) -> set[int]:
    """The worker processes of `pid` (uvicorn spawns them with multiprocessing)."""
    found: set[int] = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes()
        except OSError:  # gone meanwhile
            continue
        parent = int(stat.rpartition(")")[2].split()[1])
        if parent == pid and b"spawn_main" in command:
            found.add(int(entry.name))
    return found


def wait_for(condition: object, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 120
    while True:
        assert process.poll() is None, log.read_text()
        assert time.monotonic() < deadline, log.read_text()
        try:
            if condition():  # type: ignore[operator]
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)


@pytest.mark.timeout(300)
def test_two_workers_serve_one_port_and_each_warms_up(tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "PYAGENT_DATA_DIR": str(tmp_path),
        "PYAGENT_CUSTOMER_SECRET": SECRET_HEX,
        "PYTHONPATH": str(ROOT),  # the recipe is a test module
    }
    env.pop("PYAGENT_DATABASE_URL", None)
    env.pop("PYAGENT_REDIS_URL", None)
    command = [sys.executable, "-m", "pyagent_cli", "--recipe", RECIPE, "serve"]
    command += ["--classification", "local", "--workers", "2", "--port", str(port)]
    log = tmp_path / "serve.log"
    with log.open("wb") as output:
        process = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: httpx.get(f"{url}/readyz").status_code == 200, process, log)
        wait_for(lambda: len(children(process.pid)) == 2, process, log)
        workers = children(process.pid)
        # every worker warmed up (before it accepted a request)
        wait_for(
            lambda: {int(p.name[7:]) for p in tmp_path.glob("warmed-*")} == workers,
            process,
            log,
        )
        assert process.pid not in {int(p.name[7:]) for p in tmp_path.glob("warmed-*")}

        headers = customer_headers("alice")

        def send(number: int) -> httpx.Response:
            return httpx.post(
                f"{url}/v1/conversations/c{number}/messages",
                json={"text": f"hello {number}"},
                headers=headers,
                timeout=60,
            )

        with ThreadPoolExecutor(max_workers=2) as pool:
            replies = list(pool.map(send, range(2)))
        assert [r.status_code for r in replies] == [200, 200], [r.text for r in replies]
        for number, reply in enumerate(replies):
            answer = reply.json()["reply"]
            pid = int(answer.removeprefix("echo from ").partition(":")[0])
            assert pid in workers and answer.endswith(f": hello {number}")
        ready = httpx.get(f"{url}/readyz")
        assert ready.status_code == 200 and ready.json()["checks"] == {"database": "ok"}
    finally:
        process.terminate()
        process.wait(60)
    assert not children(process.pid)
    assert all(not Path(f"/proc/{pid}").exists() for pid in workers)


def test_serve_refuses_fewer_than_one_worker(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PYAGENT_CUSTOMER_SECRET", SECRET_HEX)
    assert main(["serve", "--workers", "0"]) == 2
    assert "--workers must be at least 1" in capsys.readouterr().err


def test_serve_refuses_an_unknown_classification_before_starting_workers(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PYAGENT_CUSTOMER_SECRET", SECRET_HEX)
    assert main(["--recipe", RECIPE, "serve", "--classification", "llm", "--workers", "2"]) == 2
    assert "has no classification 'llm'" in capsys.readouterr().err
