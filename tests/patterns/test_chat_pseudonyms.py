"""Email-like ids are stored and logged only as keyed pseudonyms (real SQLite files)."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from pyagent_patterns import (
    Agent,
    HumanDecision,
    HumanInTheLoop,
    SQLiteEscalationQueue,
)
from pyagent_patterns.chat import (
    ChatHandler,
    HandoffDesk,
    Pseudonyms,
    Redactor,
    SQLiteConversationStore,
    is_email_like,
)
from pyagent_providers import (
    ConflictError,
    FunctionModel,
    ModelRequest,
    NotFoundError,
)
from pyagent_providers.logs import ConversationFilter

JANE = "jane.doe@example.com"
MESSAGE = "CAF3x9q2@mail.example.com"  # an email Message-ID used as the message id
RAW = (JANE.encode(), MESSAGE.encode(), b"doe@example", b"mallory@example.org")


def echo(request: ModelRequest) -> str:
    return f"re: {request.messages[-1].content}"


def chat(tmp_path: Path, system: Any = None) -> ChatHandler:
    system = system or Agent("bot", FunctionModel(echo))
    return ChatHandler(system, SQLiteConversationStore(tmp_path / "c.sqlite3"))


def escalating(tmp_path: Path) -> HumanInTheLoop:
    return HumanInTheLoop(
        Agent("bot", FunctionModel(echo)),
        lambda output, metadata: HumanDecision(approved=True, modified_output="Hold on."),
        ["lawyer"],
        queue=SQLiteEscalationQueue(tmp_path / "c.sqlite3"),
    )


def files(folder: Path) -> dict[str, bytes]:
    """Every file's bytes: the databases, their -wal and -shm files, the key."""
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}


def test_pseudonyms_are_keyed_stable_and_leave_other_ids_alone() -> None:
    ids = Pseudonyms(b"k" * 32)
    pseudonym = ids(JANE)
    assert pseudonym.startswith("anon:") and len(pseudonym) == len("anon:") + 32
    assert ids(JANE) == pseudonym == Pseudonyms(b"k" * 32)(JANE)  # stable across instances
    assert Pseudonyms(b"x" * 32)(JANE) != pseudonym  # keyed: another secret, another id
    assert ids(pseudonym) == pseudonym  # the stored form maps to itself
    assert ids("conv-42") == "conv-42" and ids(None) is None
    assert ids("Jane.Doe@example.com") != pseudonym  # ids are exact, as before
    assert [is_email_like(v) for v in (JANE, "a@b", "u7", "c:1", "@x", "x@")] == [
        True,
        True,
        False,
        False,
        False,
        False,
    ]
    assert "k" not in repr(ids)
    with pytest.raises(ValueError):
        Pseudonyms(b"")


async def test_email_ids_never_reach_the_database_files_or_the_logs(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.handler.addFilter(ConversationFilter())  # as `configure_logging` sets up
    outcomes: list[Any] = [RuntimeError("crash mid-turn")]

    def answer(request: ModelRequest) -> str:
        return outcomes.pop(0) if outcomes else echo(request)

    first = chat(tmp_path, Agent("bot", FunctionModel(answer)))
    with pytest.raises(RuntimeError):  # stored, never answered: logged on redelivery
        await first.reply(JANE, "My invoice is wrong", MESSAGE, user_id=JANE)
    handler = chat(tmp_path, escalating(tmp_path))
    one = await handler.reply(JANE, "My invoice is wrong", MESSAGE, user_id=JANE)
    assert one.conversation_id == JANE and one.message_id == MESSAGE  # the caller's ids
    again = await handler.reply(JANE, "My invoice is wrong", MESSAGE, user_id=JANE)
    assert again.duplicate and again.message_id == MESSAGE
    escalated = await handler.reply(JANE, "I'm calling my lawyer", "m2@example.com", user_id=JANE)
    assert escalated.escalated and escalated.ticket_id
    await handler.reply(JANE, "Hello? Anyone?", user_id=JANE)

    # people address it by the stored id the queue shows, or by the customer's id
    (queued,) = await handler.queue()
    stored_id = handler.ids(JANE)
    assert queued.id == stored_id and queued.user_id == stored_id
    await handler.claim(queued.id, "alice")
    await handler.human_reply(JANE, "alice", "Hi, Alice here.")
    await handler.hand_back(JANE, "alice")
    await handler.reply(JANE, "Thanks", user_id=JANE)

    # errors quote only the stored form
    errors: list[Exception] = []
    for attempt in (
        lambda: handler.conversation(JANE, user_id="mallory@example.org"),
        lambda: handler.conversation("nobody.doe@example.com"),
        lambda: handler.claim(JANE, "alice"),  # back with the bot: not in the queue
    ):
        with pytest.raises((NotFoundError, ConflictError)) as refused:
            await attempt()
        errors.append(refused.value)
    assert all(b"@" not in str(e).encode() for e in errors), errors
    assert stored_id in str(errors[-1])

    escalation = await SQLiteEscalationQueue(tmp_path / "c.sqlite3").list(status=None)
    assert [e.conversation_id for e in escalation] == [stored_id]
    stored = sqlite3.connect(tmp_path / "c.sqlite3")
    (message_id,) = stored.execute(
        "SELECT message_id FROM messages WHERE seq = 1 AND conversation_id = ?", (stored_id,)
    ).fetchone()
    assert message_id == handler.ids(MESSAGE) and message_id.startswith("anon:")
    stored.close()

    written = files(tmp_path)
    assert {"c.sqlite3", "c.sqlite3-wal"} <= set(written)
    for name, data in written.items():
        for raw in RAW:
            assert raw not in data, (name, raw)
        assert b"example.com" not in data, name
    logged = [
        f"[{getattr(r, 'conversation', '')}] {r.getMessage()}{r.args!r}" for r in caplog.records
    ]
    assert any(f"[{stored_id}] answering stored message" in line for line in logged)
    assert not [line for line in logged if "example" in line]


async def test_the_same_email_id_continues_its_conversation_in_a_new_handler(
    tmp_path: Path,
) -> None:
    await chat(tmp_path).reply(JANE, "Webhooks stopped", "m1", user_id=JANE)
    restarted = chat(tmp_path)  # a new process: new handler and store, same files
    reply = await restarted.reply(JANE, "Still failing", "m2", user_id=JANE)
    assert reply.conversation_id == JANE and reply.state == "bot"
    conversation = await restarted.conversation(JANE, user_id=JANE)
    assert [m.content for m in conversation.messages] == [
        "Webhooks stopped",
        "re: Webhooks stopped",
        "Still failing",
        "re: Still failing",
    ]
    assert conversation.id == restarted.ids(JANE) == chat(tmp_path).ids(JANE)
    assert (
        await restarted.conversation(conversation.id)
    ).id == conversation.id  # stored form works
    with pytest.raises(NotFoundError):  # the owner is compared in stored form too
        await restarted.conversation(JANE, user_id="mallory@example.org")
    duplicate = await chat(tmp_path).reply(JANE, "Webhooks stopped", "m1", user_id=JANE)
    assert duplicate.duplicate and duplicate.reply == "re: Webhooks stopped"


async def test_a_desk_on_its_own_finds_the_conversation_by_either_id(tmp_path: Path) -> None:
    handler = chat(tmp_path, escalating(tmp_path))
    await handler.reply(JANE, "I'm calling my lawyer", user_id=JANE)
    store = SQLiteConversationStore(tmp_path / "c.sqlite3")  # like ``pyagent queue``
    desk = HandoffDesk(store, Redactor(store, None, None))
    assert (await desk.claim(JANE, "dana")).id == handler.ids(JANE)
    await desk.reply(handler.ids(JANE), "dana", "Dana here.")
    assert (await desk.hand_back(JANE, "dana")).state == "bot"
    assert b"example.com" not in b"".join(files(tmp_path).values())


async def test_ids_that_are_not_email_like_are_stored_as_given(tmp_path: Path) -> None:
    handler = chat(tmp_path)
    reply = await handler.reply("conv-42", "Hello", "msg-1", user_id="u7")
    assert reply.conversation_id == "conv-42" and reply.message_id == "msg-1"
    assert (await handler.conversation("conv-42")).user_id == "u7"
    db = sqlite3.connect(tmp_path / "c.sqlite3")
    assert db.execute("SELECT id, user_id FROM conversations").fetchall() == [("conv-42", "u7")]
    assert db.execute("SELECT message_id, in_reply_to FROM messages ORDER BY seq").fetchall() == [
        ("msg-1", None),
        (None, "msg-1"),
    ]
    db.close()
