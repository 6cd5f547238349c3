"""Bearer tokens: customers' HMAC-signed tokens and the queue staff's tokens."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from pyagent_providers import UserError

__all__ = ["Caller", "issue_customer_token", "person_named", "verify_customer_token"]

_USER_ID = re.compile(r"^[\x21-\x7e]{1,128}$")  # printable ASCII: it travels in a header


def issue_customer_token(secret: bytes, user_id: str) -> str:
    """The bearer token that lets customer `user_id` use the chat server.

    Args:
        secret: The server's customer secret.
        user_id: The customer, as the embedding service knows them (1-128 printable
            ASCII characters).

    Raises:
        UserError: The secret is empty or the user id is not valid.
    """
    if not secret:
        raise UserError("the customer secret is empty")
    if not _USER_ID.match(user_id):
        raise UserError("a user id must be 1-128 printable ASCII characters without spaces")
    return f"{user_id}.{_signature(secret, user_id)}"


def verify_customer_token(secret: bytes, token: str) -> str | None:
    """The user id a customer token was issued for, or ``None`` if it is not valid."""
    user_id, _, signature = token.rpartition(".")  # base64url has no dots; user ids may
    if not secret or not _USER_ID.match(user_id):
        return None
    expected = _signature(secret, user_id).encode()
    return user_id if hmac.compare_digest(expected, signature.encode()) else None


def _signature(secret: bytes, user_id: str) -> str:
    digest = hmac.new(secret, user_id.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def person_named(agent_tokens: Mapping[str, str], token: str) -> str | None:
    """The person `token` belongs to; every token is compared, so timing tells nothing."""
    found = None
    for known, name in agent_tokens.items():
        if hmac.compare_digest(known.encode(), token.encode()):
            found = name
    return found


@dataclass(frozen=True, slots=True)
class Caller:
    """Who sent a request: a customer (their user id) or a person of the queue (their name)."""

    role: Literal["customer", "person"]
    name: str  # the customer's user id, or the person's name
