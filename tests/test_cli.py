import subprocess
import sys
from pathlib import Path

import pytest

from pyagent_cli.main import main


def test_demo_runs_the_support_system_offline(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYAGENT_DATA_DIR", str(tmp_path))
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "Backend: local" in out
    assert out.count("Query:") == 10
    assert "Route:      escalate  (tier human" in out and "ESC-000001" in out
    assert "(online: claude-sonnet-4-6)" in out


def test_bad_usage_exits_2() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pyagent_cli", "no-such-command"], capture_output=True, text=True
    )
    assert result.returncode == 2 and "invalid choice" in result.stderr
