"""Checks on what callers hand the chat handler: ids, texts, names, ownership.

Another customer's conversation is refused exactly like one that does not exist
(`NotFoundError`, "no conversation '<id>'"): the answer does not tell a customer that a
conversation id is taken. Only a log record (INFO, stored-form ids) says which it was.
"""

from __future__ import annotations

import logging
import re

from pyagent_providers import NotFoundError, UserError

from .pseudonyms import Pseudonyms
from .store import Conversation, ConversationStore

__all__ = [
    "check_owner",
    "checked_id",
    "checked_name",
    "checked_text",
    "no_such_conversation",
    "owned_conversation",
]

logger = logging.getLogger("pyagent.chat")

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$")


def checked_id(value: object, what: str) -> str:
    """`value` if it is a safe id (1-128 of letters, digits and ``._:@-``)."""
    if not isinstance(value, str) or not _ID.match(value):
        raise UserError(
            f"{what} must be 1-128 characters of letters, digits and . _ : @ - "
            "(starting with a letter or digit)"
        )
    return value


def checked_name(value: object) -> str:
    """A person's name, stripped (1-128 characters)."""
    if not isinstance(value, str) or not value.strip() or len(value) > 128:
        raise UserError("the person's name must be 1-128 characters")
    return value.strip()


def checked_text(value: object, limit: int) -> str:
    """`value` if it is non-empty, encodable text of at most `limit` characters."""
    if not isinstance(value, str):
        raise UserError(f"the message must be text, not {type(value).__name__}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise UserError("the message is not valid UTF-8 text") from exc
    if not value.strip():
        raise UserError("the message is empty")
    if len(value) > limit:
        raise UserError(f"the message is {len(value):,} characters; the limit is {limit:,}")
    return value


async def owned_conversation(
    store: ConversationStore,
    conversation_id: str,
    user_id: str | None,
    *,
    ids: Pseudonyms | None = None,
) -> Conversation:
    """The conversation, if it exists and `user_id` (when given) may see it.

    Both ids are the caller's; they are looked up in their stored form (`Pseudonyms`,
    built from ``store.secret()`` when `ids` is not given), and errors name only that
    form, never an email-like id as given.

    Raises:
        UserError: The conversation id is malformed.
        NotFoundError: There is no such conversation, or it belongs to another user
            (the same error: see the module docstring).
    """
    ids = ids or Pseudonyms(store.secret())
    stored_id = ids(checked_id(conversation_id, "conversation_id"))
    conversation = await store.get(stored_id)
    if conversation is None:
        raise no_such_conversation(stored_id)
    check_owner(conversation, ids(user_id))
    return conversation


def check_owner(conversation: Conversation, user_id: str | None) -> None:
    """Raise `NotFoundError` if the conversation belongs to someone other than `user_id`.

    The error is the one a missing conversation gets (`no_such_conversation`), so the
    answer never confirms that another customer's conversation exists. `user_id` is in
    its stored form (`Pseudonyms`), like ``conversation.user_id``; ``None`` (a person,
    or a caller without users) may see every conversation.
    """
    if user_id is not None and conversation.user_id not in (None, user_id):
        logger.info("refused: conversation %s belongs to another user", conversation.id)
        raise no_such_conversation(conversation.id)


def no_such_conversation(stored_id: str) -> NotFoundError:
    """The one error for a conversation that is missing or not the caller's."""
    return NotFoundError(f"no conversation {stored_id!r}")
