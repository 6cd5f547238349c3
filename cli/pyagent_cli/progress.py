"""A progress bar for long commands, drawn only on a terminal."""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from typing import TextIO, TypeVar

__all__ = ["progress"]

T = TypeVar("T")


def progress(items: Sequence[T], description: str, *, stream: TextIO | None = None) -> Iterator[T]:
    """Yield `items`; on a terminal, with a rich progress bar on stderr that then clears.

    Piped or redirected output (scripts, CI, ``--json > file``) gets no bar and no escape
    codes; without rich installed there is no bar either.
    """
    out = stream or sys.stderr
    try:
        if not out.isatty():
            raise ImportError
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn
    except ImportError:
        yield from items
        return
    columns = (f"[bold]{description}", BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=Console(file=out), transient=True) as bar:
        task = bar.add_task(description, total=len(items))
        for item in items:
            yield item
            bar.advance(task)
