"""Long commands draw a progress bar on a terminal, and nothing when piped."""

from __future__ import annotations

import io

from pyagent_cli.progress import progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_terminal_gets_a_bar_and_every_item() -> None:
    screen = Terminal()
    assert list(progress([1, 2, 3], "route", stream=screen)) == [1, 2, 3]
    assert "route" in screen.getvalue()


def test_a_pipe_gets_the_items_and_no_bar() -> None:
    pipe = io.StringIO()
    assert list(progress(["a", "b"], "eval", stream=pipe)) == ["a", "b"]
    assert pipe.getvalue() == ""
