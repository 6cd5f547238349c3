"""Streaming a turn: reply text as `ChatEvent`s on a queue."""

from __future__ import annotations

import asyncio

from .replies import ChatEvent, ChatReply

__all__ = ["QueueSink", "outcome"]


class QueueSink:
    """A `StreamSink` that turns reply text into `ChatEvent`s on a queue."""

    def __init__(self, events: asyncio.Queue[ChatEvent | BaseException]) -> None:
        self.events = events
        self.text = ""

    def delta(self, text: str) -> None:
        """A piece of the reply, as written."""
        self.text += text
        self.events.put_nowait(ChatEvent(type="delta", text=text))

    def reset(self) -> None:
        """The reply so far is void (a retry or a fallback model starts again)."""
        if self.text:
            self.text = ""
            self.events.put_nowait(ChatEvent(type="reset"))


def outcome(task: asyncio.Future[ChatReply]) -> ChatEvent | BaseException:
    """A finished turn as the stream's last event (or the error it raised)."""
    if task.cancelled():
        return asyncio.CancelledError()
    error = task.exception()
    return error if error is not None else ChatEvent(type="done", reply=task.result())
