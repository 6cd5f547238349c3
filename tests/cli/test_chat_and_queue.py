"""`pyagent chat` and `pyagent queue` on one store, offline."""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path

import pytest

from pyagent_cli.chat import chat_command
from pyagent_cli.main import main


async def _chat(store: Path, conversation: str, *lines: str) -> str:
    out = io.StringIO()
    code = await chat_command(
        store=str(store),
        conversation_id=conversation,
        classification="local",
        stdin=io.StringIO("".join(f"{line}\n" for line in lines)),
        out=out,
    )
    assert code == 0
    return out.getvalue()


async def test_a_terminal_conversation_streams_replies_with_a_status_line(
    tmp_path: Path,
) -> None:
    store = tmp_path / "conversations.sqlite3"
    out = await _chat(store, "t1", "How do I add a seat to my plan?", "", "/quit", "never read")
    assert "Conversation t1." in out and "help-centre article" in out
    assert "[route billing · tier fast" in out and "model local:all-MiniLM-L6-v2" in out
    assert (
        "online, estimated)" in out
    )  # the local model is free; the estimate says what online costs
    assert out.count("bot> ") == 1  # the blank line was skipped, /quit ended it


def test_the_queue_takes_over_an_escalated_chat_and_hands_it_back(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = tmp_path / "conversations.sqlite3"
    out = asyncio.run(_chat(store, "t2", "This is fraud and I'm calling my lawyer"))
    assert "with a person: ESC-" in out

    def queue(*args: str) -> str:
        assert main(["queue", *args, "--store", str(store), "--agent", "alice"]) == 0
        return capsys.readouterr().out

    [waiting] = json.loads(queue("list", "--json"))
    assert waiting["id"] == "t2" and waiting["state"] == "waiting_for_human"
    assert "state with_human" in queue("claim", "t2")
    queue("reply", "t2", "Hello from billing. Please call us at +1 415 555 0132.")
    shown = queue("show", "t2")
    assert "alice: Hello from billing. Please call us at <PHONE_NUMBER_1>." in shown
    assert "state bot" in queue("hand-back", "t2")
    assert json.loads(queue("list", "--json")) == []

    back = asyncio.run(_chat(store, "t2", "Thanks, how do I download my invoice?"))
    assert "[route billing" in back


def test_queue_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = str(tmp_path / "c.sqlite3")
    assert main(["queue", "claim", "nope", "--store", store]) == 2
    assert "no conversation" in capsys.readouterr().err
    assert main(["queue", "claim", "--store", store]) == 2
