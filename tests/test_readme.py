"""Every ```python block of the READMEs runs as written, offline, without API keys."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
READMES = (ROOT / "README.md", ROOT / "cookbook" / "README.md")

_FENCE = re.compile(r"^```(\S*)\s*$")


def python_blocks(path: Path) -> list[tuple[int, str]]:
    """The ```python blocks of `path`: (line number of the opening fence, code)."""
    blocks: list[tuple[int, str]] = []
    language: str | None = None
    start = 0
    code: list[str] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        fence = _FENCE.match(line)
        if language is None:
            if fence:
                language, start, code = fence.group(1), number, []
        elif fence and not fence.group(1):
            if language == "python":
                blocks.append((start, "\n".join(code) + "\n"))
            language = None
        else:
            code.append(line)
    assert language is None, f"{path.name}: the block opened on line {start} is never closed"
    return blocks


BLOCKS = [
    pytest.param(code, id=f"{path.relative_to(ROOT)}:{line}")
    for path in READMES
    if path.exists()
    for line, code in python_blocks(path)
]


def test_readme_has_python_blocks() -> None:
    assert BLOCKS, "no ```python block found in the READMEs"


@pytest.mark.timeout(600)
@pytest.mark.parametrize("code", BLOCKS)
def test_readme_block_runs(code: str, tmp_path: Path) -> None:
    # no API key of any provider (OPENAI_API_KEY, ANTHROPIC_API_KEY, GROQ_API_KEY...)
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env["HF_HUB_OFFLINE"] = "1"
    env["PYAGENT_DATA_DIR"] = str(tmp_path / "data")
    # A fresh folder as the working directory: samples write files such as
    # costs.sqlite3 where they run, and must not leave them in the repository.
    work = tmp_path / "cwd"
    work.mkdir()
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=590,
        check=False,
    )
    assert result.returncode == 0, (
        f"exit code {result.returncode}\n--- code ---\n{code}\n"
        f"--- stdout ---\n{result.stdout[-2000:]}\n--- stderr ---\n{result.stderr[-6000:]}"
    )
