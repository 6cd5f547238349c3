"""`PlaceholderMap`: the same value gets the same placeholder within a conversation."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
import unicodedata
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field

# Entity types whose values are compared by their digits alone, so that
# "(415) 555-0132" and "415.555.0132" are the same number.
_DIGIT_ENTITIES = frozenset(
    {"PHONE_NUMBER", "CREDIT_CARD", "US_SSN", "US_ITIN", "US_BANK_NUMBER", "UK_NHS"}
)
# Entity types compared case-insensitively with all whitespace removed.
_COMPACT_ENTITIES = frozenset(
    {
        "EMAIL_ADDRESS",
        "IBAN_CODE",
        "IP_ADDRESS",
        "URL",
        "ORDER_NUMBER",
        "TICKET_ID",
        "INVOICE_NUMBER",
    }
)
_WHITESPACE = re.compile(r"\s+")
_PLACEHOLDER = re.compile(r"<([A-Z0-9_]+)_([1-9][0-9]*)>")
_DIGEST = re.compile(r"[0-9a-f]{64}")


def placeholder_label(entity_type: str) -> str:
    """The form an entity type takes inside a placeholder: upper case, ``[A-Z0-9_]``."""
    label = re.sub(r"[^A-Z0-9_]", "_", entity_type.strip().upper())
    if not label:
        raise ValueError("entity_type must not be empty")
    return label


def normalize_value(entity_type: str, value: str) -> str:
    """Reduce ``value`` to the form under which two spellings count as the same value.

    Emails, IBANs, IP addresses, URLs and support ids: case-insensitive and whitespace-free. Phone,
    card and other number-like entities: digits only. Names and everything else:
    case-folded with whitespace collapsed.
    """
    text = unicodedata.normalize("NFKC", value)
    if entity_type in _DIGIT_ENTITIES:
        digits = "".join(ch for ch in text if ch.isdigit())
        if digits:
            return digits
    if entity_type in _COMPACT_ENTITIES:
        return _WHITESPACE.sub("", text).casefold()
    return _WHITESPACE.sub(" ", text).strip().casefold()


@dataclass(slots=True)
class _Conversation:
    by_digest: dict[str, str] = field(default_factory=dict[str, str])
    # Highest number handed out per label, so numbering continues after a load().
    counters: dict[str, int] = field(default_factory=dict[str, int])


class PlaceholderMap:
    """Consistent typed placeholders per conversation.

    Within one conversation the same value always gets the same placeholder, and each
    entity type is numbered in order of first appearance: ``<EMAIL_ADDRESS_1>``,
    ``<EMAIL_ADDRESS_2>``, ``<PERSON_1>`` ... Another conversation starts again at 1.

    Privacy: the map never stores a raw value. It keeps, per conversation, only an
    HMAC-SHA-256 digest (keyed with ``salt``) of the entity type and the normalized value,
    mapped to its placeholder. It therefore **cannot reverse a placeholder**: there is no
    way to get the original value back from it, by design. Because phone numbers and
    similar values have little entropy, treat the salt as a secret; a digest is only
    meaningful to a map with the same salt.

    Persistence: `export` gives a conversation's ``digest -> placeholder`` mapping and
    `load` restores it. With the default random salt (fresh per process) an exported
    mapping only matches in the same process; pass a fixed secret ``salt`` to resume
    conversations across restarts.

    The map is thread-safe and bounded: it keeps at most ``max_conversations``
    conversations and forgets the least recently used one beyond that.

    Example:
        >>> placeholders = PlaceholderMap()
        >>> placeholders.placeholder("c1", "EMAIL_ADDRESS", "Ann@Example.com")
        '<EMAIL_ADDRESS_1>'
        >>> placeholders.placeholder("c1", "EMAIL_ADDRESS", "ann@example.com ")
        '<EMAIL_ADDRESS_1>'
        >>> placeholders.placeholder("c1", "EMAIL_ADDRESS", "bob@example.com")
        '<EMAIL_ADDRESS_2>'
    """

    def __init__(self, *, salt: bytes | None = None, max_conversations: int = 10_000) -> None:
        """Create an empty map.

        Args:
            salt: Key for the digests; random per instance when ``None``. Use a fixed,
                secret value to make exported mappings valid across processes.
            max_conversations: How many conversations to remember (at least 1).

        Raises:
            ValueError: If ``max_conversations`` is below 1 or ``salt`` is empty.
        """
        if max_conversations < 1:
            raise ValueError(f"max_conversations must be at least 1, got {max_conversations}")
        if salt is not None and not salt:
            raise ValueError("salt must not be empty (pass None for a random one)")
        self._salt = salt if salt is not None else secrets.token_bytes(32)
        self._max_conversations = max_conversations
        self._conversations: OrderedDict[str, _Conversation] = OrderedDict()
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return (
            f"PlaceholderMap(conversations={len(self._conversations)}, "
            f"max_conversations={self._max_conversations})"
        )

    def placeholder(self, conversation_id: str, entity_type: str, value: str) -> str:
        """Return the placeholder for ``value`` in a conversation, assigning one if new.

        Args:
            conversation_id: The conversation.
            entity_type: The kind of value, e.g. ``"EMAIL_ADDRESS"``.
            value: The raw value; only its digest is kept.

        Returns:
            A placeholder such as ``"<EMAIL_ADDRESS_1>"``.
        """
        label = placeholder_label(entity_type)
        digest = self._digest(label, value)
        with self._lock:
            conversation = self._conversations.get(conversation_id)
            if conversation is None:
                conversation = self._conversations[conversation_id] = _Conversation()
                self._evict()
            self._conversations.move_to_end(conversation_id)
            existing = conversation.by_digest.get(digest)
            if existing is not None:
                return existing
            number = conversation.counters.get(label, 0) + 1
            conversation.counters[label] = number
            placeholder = f"<{label}_{number}>"
            conversation.by_digest[digest] = placeholder
            return placeholder

    def known(self, conversation_id: str, entity_type: str, value: str) -> bool:
        """Whether ``value`` already has a placeholder in a conversation; assigns none.

        Output guards use it to tell a value the customer sent (the input guard recorded
        it) from one the customer never sent.

        Args:
            conversation_id: The conversation.
            entity_type: The kind of value, e.g. ``"EMAIL_ADDRESS"``.
            value: The raw value; it is compared by digest and not kept.

        Returns:
            ``True`` if the map holds the value's digest for that conversation.

        Example:
            >>> placeholders = PlaceholderMap()
            >>> placeholders.placeholder("c1", "EMAIL_ADDRESS", "ann@example.com")
            '<EMAIL_ADDRESS_1>'
            >>> placeholders.known("c1", "EMAIL_ADDRESS", "Ann@Example.com")
            True
            >>> placeholders.known("c2", "EMAIL_ADDRESS", "ann@example.com")
            False
        """
        digest = self._digest(placeholder_label(entity_type), value)
        with self._lock:
            conversation = self._conversations.get(conversation_id)
            if conversation is None:
                return False
            self._conversations.move_to_end(conversation_id)
            return digest in conversation.by_digest

    def export(self, conversation_id: str) -> dict[str, str]:
        """Return a conversation's ``digest -> placeholder`` mapping, for persistence.

        Args:
            conversation_id: The conversation.

        Returns:
            A copy of the mapping (empty for an unknown conversation). It holds digests
            and placeholders only, never raw values.
        """
        with self._lock:
            conversation = self._conversations.get(conversation_id)
            if conversation is None:
                return {}
            self._conversations.move_to_end(conversation_id)
            return dict(conversation.by_digest)

    def load(self, conversation_id: str, mapping: Mapping[str, str]) -> None:
        """Restore a conversation from a mapping produced by `export`.

        The conversation's current mapping is replaced; new values continue numbering
        after the highest placeholder of each type in ``mapping``.

        Args:
            conversation_id: The conversation.
            mapping: ``digest -> placeholder`` as returned by `export`.

        Raises:
            ValueError: If a key is not a SHA-256 hex digest, a value is not a
                placeholder, or two digests share one placeholder.
        """
        restored = _Conversation()
        for digest, placeholder in mapping.items():
            if not _DIGEST.fullmatch(digest):
                raise ValueError("mapping keys must be 64-character lowercase hex digests")
            match = _PLACEHOLDER.fullmatch(placeholder)
            if match is None:
                raise ValueError(f"not a placeholder: {placeholder!r}")
            label, number = match.group(1), int(match.group(2))
            restored.by_digest[digest] = placeholder
            restored.counters[label] = max(restored.counters.get(label, 0), number)
        if len(set(restored.by_digest.values())) != len(restored.by_digest):
            raise ValueError("two digests share one placeholder")
        with self._lock:
            self._conversations[conversation_id] = restored
            self._conversations.move_to_end(conversation_id)
            self._evict()

    def _digest(self, label: str, value: str) -> str:
        # surrogatepass: a digest must not fail on text a lenient decoder produced.
        message = f"{label}\x00{normalize_value(label, value)}".encode("utf-8", "surrogatepass")
        return hmac.new(self._salt, message, hashlib.sha256).hexdigest()

    def _evict(self) -> None:
        # Callers hold self._lock; the most recently used conversation is last.
        while len(self._conversations) > self._max_conversations:
            self._conversations.popitem(last=False)
