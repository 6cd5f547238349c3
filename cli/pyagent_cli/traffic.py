"""Reading traffic files: JSONL, one ``{"id", "text", ...labels}`` object per line."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from pyagent_providers import UserError

__all__ = ["TrafficItem", "read_traffic"]

MAX_FILE_BYTES = 100 * 1024 * 1024


@dataclass(frozen=True, kw_only=True, slots=True)
class TrafficItem:
    """One message of a traffic file; `labels` holds every other field of its line."""

    id: str
    text: str
    labels: dict[str, Any] = field(default_factory=dict[str, Any])


def read_traffic(path: str | Path) -> list[TrafficItem]:
    """Read and validate the whole file before any work starts.

    A line without an ``id`` gets its line number. Blank lines are skipped.

    Raises:
        UserError: The file is missing, too large, not UTF-8, or a line is not a JSON object
            with a string ``text`` (the message names the line).
    """
    path = Path(path)
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise UserError(f"{path} is larger than {MAX_FILE_BYTES // 1024 // 1024} MB")
        content = path.read_bytes().decode("utf-8")
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise UserError(f"{path} is not valid UTF-8 (byte {exc.start})") from exc
    items: list[TrafficItem] = []
    seen: set[str] = set()
    for number, line in enumerate(content.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            raise UserError(f"{path}:{number}: not valid JSON ({exc.msg})") from exc
        if not isinstance(data, dict):
            raise UserError(f'{path}:{number}: expected an object like {{"id", "text"}}')
        line_data = cast(dict[str, Any], data)
        text = line_data.pop("text", None)
        if not isinstance(text, str):
            raise UserError(f'{path}:{number}: "text" must be a string')
        item_id = str(line_data.pop("id", number))
        if item_id in seen:
            raise UserError(f"{path}:{number}: id {item_id!r} appears twice")
        seen.add(item_id)
        items.append(TrafficItem(id=item_id, text=text, labels=line_data))
    if not items:
        raise UserError(f"{path} has no messages")
    return items
