"""Log records that say when, how bad, where and for which conversation.

`conversation_scope(conversation_id)` marks everything logged inside it (this task and
the tasks it starts) with the conversation, in the form the store keeps (a pseudonym
for an email-like id, never the raw id); `configure_logging` sets the format, with the
level from ``PYAGENT_LOG_LEVEL`` (``WARNING`` by default; ``--verbose`` means ``INFO``).
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Generator
from contextvars import ContextVar

__all__ = ["LOG_FORMAT", "ConversationFilter", "configure_logging", "conversation_scope"]

LOG_FORMAT = "%(asctime)s %(levelname)-7s %(name)s [%(conversation)s] %(message)s"
_CONVERSATION: ContextVar[str] = ContextVar("pyagent_log_conversation", default="-")


@contextlib.contextmanager
def conversation_scope(conversation_id: str) -> Generator[None]:
    """Tag log records made inside this block with `conversation_id` (its stored form)."""
    token = _CONVERSATION.set(conversation_id)
    try:
        yield
    finally:
        _CONVERSATION.reset(token)


class ConversationFilter(logging.Filter):
    """Adds ``record.conversation``: the conversation being served, or ``-``."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Tag the record; never drops one."""
        record.conversation = _CONVERSATION.get()
        return True


def configure_logging(*, verbose: bool = False) -> None:
    """Log to stderr with timestamp, level, logger and conversation id.

    Raises:
        ValueError: ``PYAGENT_LOG_LEVEL`` is not a level name (DEBUG, INFO, WARNING, ...).
    """
    name = os.environ.get("PYAGENT_LOG_LEVEL", "").strip().upper() or (
        "INFO" if verbose else "WARNING"
    )
    level = logging.getLevelNamesMapping().get(name)
    if level is None:
        raise ValueError(f"PYAGENT_LOG_LEVEL={name!r} is not a log level")
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    handler.addFilter(ConversationFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
