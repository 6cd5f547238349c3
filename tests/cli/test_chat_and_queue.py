"""`pyagent chat` and `pyagent queue` on one store, offline."""

from __future__ import annotations

import asyncio
import io
import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from pyagent_cli.chat import chat_command
from pyagent_cli.handoff import desk
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


def test_the_chat_shows_a_persons_reply_since_the_customers_last_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = tmp_path / "conversations.sqlite3"
    assert "with a person: ESC-" in asyncio.run(_chat(store, "t3", "I'm calling my lawyer"))
    text = "Hi, Dana here, I've fixed it. Robert Miller will email you."
    assert main(["queue", "reply", "t3", text, "--store", str(store), "--agent", "Dana"]) == 0
    capsys.readouterr()

    out = asyncio.run(_chat(store, "t3", "/quit"))  # the customer comes back
    assert "Dana (person)> Hi, Dana here, I've fixed it. <PERSON_1> will email you.\n" in out
    assert out.count("(person)>") == 1
    again = asyncio.run(_chat(store, "t3", "Thanks!", "/quit"))
    assert again.count("(person)>") == 1  # nothing new since; still the newest news
    later = asyncio.run(_chat(store, "t3", "/quit"))
    assert "(person)>" not in later  # it came before the customer's last message


async def test_a_persons_reply_appears_while_the_prompt_waits(tmp_path: Path) -> None:
    store = tmp_path / "conversations.sqlite3"
    read_end, write_end = os.pipe()
    out = io.StringIO()
    with os.fdopen(read_end, encoding="utf-8") as stdin, os.fdopen(write_end, "w") as typed:
        chat = asyncio.ensure_future(
            chat_command(
                store=str(store),
                conversation_id="t4",
                classification="local",
                stdin=stdin,
                out=out,
                poll_seconds=0.05,
            )
        )
        typed.write("This is fraud and I'm calling my lawyer\n")
        typed.flush()
        await _until(lambda: out.getvalue().count("you> ") == 2, chat)  # answered, waiting
        assert "with a person: ESC-" in out.getvalue()

        await desk(str(store)).reply("t4", "alice", "Hello, Alice here: I'm on it.")
        shown = "alice (person)> Hello, Alice here: I'm on it."
        await _until(lambda: shown in out.getvalue(), chat)
        typed.write("/quit\n")
        typed.flush()
        assert await asyncio.wait_for(chat, 30) == 0
    assert out.getvalue().endswith("alice (person)> Hello, Alice here: I'm on it.\nyou> \n")


async def _until(condition: Callable[[], bool], task: asyncio.Future[int]) -> None:
    for _ in range(600):
        if condition():
            return
        assert not task.done(), task.result()
        await asyncio.sleep(0.05)
    raise AssertionError("timed out")
