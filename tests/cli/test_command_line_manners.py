"""What a user meets at the command line: fast refusals, log format, Ctrl-C."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest

from pyagent_cli import main as cli
from pyagent_providers.logs import configure_logging, conversation_scope

PROBE = """
import sys
from pyagent_cli.main import main
code = main(sys.argv[1:])
heavy = [m for m in ("torch", "spacy", "pyagent_cookbook.customer_support") if m in sys.modules]
print(code, heavy)
"""


def test_bad_arguments_are_refused_before_any_model_loads(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "ok"}\nnot json\n', encoding="utf-8")
    commands = [["route"], ["eval", str(tmp_path / "missing.jsonl")], ["route", "--file", str(bad)]]
    for command in commands:
        done = subprocess.run(
            [sys.executable, "-c", PROBE, *command], capture_output=True, text=True
        )
        assert done.stdout.strip() == "2 []", done.stderr  # refused; no model was imported
        assert len(done.stderr.strip().splitlines()) == 1
    assert "bad.jsonl:2" in done.stderr


def test_a_log_record_says_when_how_bad_and_which_conversation(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PYAGENT_LOG_LEVEL", "info")
    configure_logging()
    with conversation_scope("conv-7"):
        logging.getLogger("pyagent.chat").info("answered")
    line = capsys.readouterr().err.strip()
    assert line.endswith("INFO    pyagent.chat [conv-7] answered") and line[:4].isdigit()


def test_an_unknown_log_level_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PYAGENT_LOG_LEVEL", "loud")
    assert cli.main(["route", "hi"]) == 2
    assert "PYAGENT_LOG_LEVEL" in capsys.readouterr().err


def test_ctrl_c_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def interrupted(args: object) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "_route", interrupted)
    assert cli.main(["route", "hi"]) == 130
    assert capsys.readouterr().err == "pyagent route: interrupted\n"
