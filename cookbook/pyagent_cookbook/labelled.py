"""Reading labelled JSONL files (tickets or conversations), light enough for argument checks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pyagent_providers import UserError

__all__ = ["read_labelled"]


def read_labelled(path: str | Path) -> list[dict[str, Any]]:
    """The labelled rows of a JSONL file.

    Raises:
        UserError: The file is missing, a line is not a JSON object, or a row has neither
            ``text`` nor ``turns``.
    """
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read {path}: {exc}") from exc
    rows: list[dict[str, Any]] = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise UserError(f"{path}:{number}: not JSON ({exc.msg})") from exc
        if not isinstance(row, dict) or not ("text" in row or "turns" in row):
            raise UserError(f'{path}:{number}: expected an object with "text" or "turns"')
        rows.append(dict(row))  # pyright: ignore[reportUnknownArgumentType]
    if not rows:
        raise UserError(f"{path}: no labelled rows")
    return rows
