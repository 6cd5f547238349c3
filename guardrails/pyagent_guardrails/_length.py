"""`LengthGuard`: refuses empty messages and over-long ones, or truncates them."""

from __future__ import annotations

import logging

from pyagent_guardrails._types import Finding, GuardResult, invalid_text_reason, refused

logger = logging.getLogger("pyagent.guardrails")


class LengthGuard:
    """Bounds a message's length in characters (Unicode code points).

    Empty and whitespace-only messages never pass. A message longer than ``max_chars``
    either fails (``kind="too_long"``) or, with ``truncate=True``, passes cut at the last
    word boundary that fits (``kind="truncated"``); a single word longer than the limit is
    cut at ``max_chars``.

    Example:
        >>> LengthGuard(max_chars=12, truncate=True).check("hello there world").sanitized_content
        'hello there'
    """

    name: str = "length"

    def __init__(self, max_chars: int, truncate: bool = False, *, min_chars: int = 1) -> None:
        """Configure the bounds.

        Args:
            max_chars: Longest accepted message, in characters (at least 1).
            truncate: Cut an over-long message instead of refusing it.
            min_chars: Shortest accepted message once surrounding whitespace is stripped
                (at least 1, at most ``max_chars``).

        Raises:
            ValueError: If the bounds are inconsistent.
        """
        if max_chars < 1:
            raise ValueError(f"max_chars must be at least 1, got {max_chars}")
        if not 1 <= min_chars <= max_chars:
            raise ValueError(f"min_chars must be between 1 and max_chars, got {min_chars}")
        self.max_chars = max_chars
        self.truncate = truncate
        self.min_chars = min_chars

    def __repr__(self) -> str:
        return (
            f"LengthGuard(max_chars={self.max_chars}, truncate={self.truncate}, "
            f"min_chars={self.min_chars})"
        )

    def check(self, text: str, *, conversation_id: str | None = None) -> GuardResult:
        """Check the length of ``text``.

        Args:
            text: The message.
            conversation_id: Unused; accepted for the `Guard` protocol.

        Returns:
            ``passed=False`` for empty, too-short or (without truncation) too-long text;
            otherwise the text, truncated if needed.
        """
        del conversation_id
        reason = invalid_text_reason(text)
        if reason is not None:
            return refused(reason)
        length = len(text.strip())
        if length == 0:
            return refused(
                "empty message",
                findings=(Finding(guard=self.name, kind="empty", start=0, end=len(text)),),
            )
        if length < self.min_chars:
            return refused(
                f"message shorter than {self.min_chars} characters",
                findings=(Finding(guard=self.name, kind="too_short", start=0, end=len(text)),),
            )
        if len(text) <= self.max_chars:
            return GuardResult(passed=True, sanitized_content=text)
        if not self.truncate:
            return self._too_long(text)
        cut = truncate_at_word_boundary(text, self.max_chars)
        if not text[:cut].strip():
            # Only leading whitespace fits: there is nothing meaningful to keep.
            return self._too_long(text)
        logger.info("length: truncated a message from %d to %d characters", len(text), cut)
        return GuardResult(
            passed=True,
            sanitized_content=text[:cut],
            findings=(Finding(guard=self.name, kind="truncated", start=cut, end=len(text)),),
        )

    def _too_long(self, text: str) -> GuardResult:
        logger.info("length: refused a message of %d characters", len(text))
        return refused(
            f"message longer than {self.max_chars} characters",
            findings=(
                Finding(guard=self.name, kind="too_long", start=self.max_chars, end=len(text)),
            ),
        )


def truncate_at_word_boundary(text: str, max_chars: int) -> int:
    """Return where to cut ``text`` so that ``text[:cut]`` fits and ends at a word boundary.

    The cut falls before the whitespace run that precedes the first word not fitting, so
    no word (and no ``<PLACEHOLDER_N>``) is split and the kept text has no trailing
    whitespace. Without any whitespace in reach, the cut is ``max_chars`` itself.
    """
    if len(text) <= max_chars:
        return len(text)
    if text[max_chars].isspace():
        cut = max_chars
    else:
        # The last whitespace inside the limit starts the word that does not fit.
        cut = next((i for i in range(max_chars - 1, -1, -1) if text[i].isspace()), -1)
        if cut == -1:
            return max_chars
    kept = text[:cut].rstrip()
    return len(kept) if kept.strip() else max_chars
