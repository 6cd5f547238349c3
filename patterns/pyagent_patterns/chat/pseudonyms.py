"""Keyed pseudonyms for ids that look like email addresses.

Callers sometimes use a customer's email as the user id or conversation id
(``jane.doe@example.com``), or hand in an email ``Message-ID`` as the message id. Such an
id is personal data, so it must never be stored or logged as given. `Pseudonyms` turns it
into a stable keyed pseudonym, ``anon:`` and 32 hex digits of HMAC-SHA-256 under the
conversation store's secret (the same secret that keys the PII placeholder digests, kept
beside the database, not in it): the same id always gives the same pseudonym, across
processes and restarts, so lookups keep working, while the pseudonym cannot be reversed
or tested against guesses without the secret. Ids that do not look like an email stay as
they are, because readable ids are useful to operators.

`ChatHandler` (and `HandoffDesk`, which serves people on its own) apply it where ids come
in, right after validation, so the store, the escalation queue and cost records (which get
the conversation id from the run context), log records and error messages only ever see
the stored form. A pseudonym does not look like an email, so applying it twice changes
nothing: staff can address a conversation by the id the queue shows them.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from typing import overload

__all__ = ["PSEUDONYM_PREFIX", "Pseudonyms", "is_email_like"]

PSEUDONYM_PREFIX = "anon:"
# An "@" between two other characters: name@domain, with or without a dot after it.
# Deliberately broad: an id that merely resembles an email is treated as one.
_EMAIL_LIKE = re.compile(r"[^\s@]@[^\s@]")
_LABEL = b"chat-id\x00"  # keeps these digests apart from the placeholder digests


def is_email_like(value: str) -> bool:
    """Whether `value` looks like an email address (an ``@`` between other characters)."""
    return _EMAIL_LIKE.search(value) is not None


class Pseudonyms:
    """Maps caller ids to the form that is stored and logged (see the module docstring).

    Args:
        secret: The key, normally ``store.secret()`` of the conversation store.

    Raises:
        ValueError: The secret is empty.
    """

    __slots__ = ("_secret",)

    def __init__(self, secret: bytes) -> None:
        if not secret:
            raise ValueError("the pseudonym secret must not be empty")
        self._secret = secret

    def __repr__(self) -> str:
        return "Pseudonyms(<secret>)"

    @overload
    def __call__(self, value: str) -> str: ...
    @overload
    def __call__(self, value: None) -> None: ...
    def __call__(self, value: str | None) -> str | None:
        """`value` as stored: its pseudonym if it looks like an email, else unchanged."""
        if value is None or not is_email_like(value):
            return value
        message = _LABEL + value.encode("utf-8", "surrogatepass")
        digest = hmac.new(self._secret, message, hashlib.sha256).hexdigest()
        return PSEUDONYM_PREFIX + digest[:32]
