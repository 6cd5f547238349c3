"""Guards on what goes out: checks of a bot's reply before a customer reads it.

`PromiseGuard` stops commitments no tool granted, `LeakGuard` secrets and personal data
the customer did not send, `SystemPromptGuard` echoes of the model's instructions. Each
has ``check_reply(text, context)`` (the `ReplyGuard` protocol) and no ``check``: in a
`GuardrailChain` they run in `GuardrailChain.check_reply`, never on incoming messages.
"""

from __future__ import annotations

import functools
import logging
import unicodedata
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol, cast, runtime_checkable

import regex

# PIIGuard has no public detect-only call: LeakGuard reuses its private detection, its
# parsing of `allow` and its key for conversation_id=None rather than a second analyzer.
from pyagent_guardrails._pii import (
    _DEFAULT_CONVERSATION,  # pyright: ignore[reportPrivateUsage]
    PIIGuard,
    _allowed_words,  # pyright: ignore[reportPrivateUsage]
)
from pyagent_guardrails._placeholders import PlaceholderMap
from pyagent_guardrails._promises import COMMITMENTS, find_promises
from pyagent_guardrails._spans import Detection
from pyagent_guardrails._types import Finding, GuardResult, invalid_text_reason, refused

logger = logging.getLogger("pyagent.guardrails")

SECRET = "SECRET"
# What `LeakGuard` checks by default: identifiers recognised by their shape and checksum.
LEAK_ENTITIES = frozenset(
    {"EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "IBAN_CODE", "IP_ADDRESS", "US_SSN"}
)
LEAK_DETECTION_FAILED = "leak detection failed; reply withheld"
_PLACEHOLDER = regex.compile(r"<[A-Z0-9_]+_[1-9][0-9]*>")
_WORD = regex.compile(r"\w+")
_NAMED = {
    "refund": "a refund",
    "discount": "a discount",
    "credit": "a credit",
    "sla_exception": "an SLA exception",
}


@dataclass(frozen=True, kw_only=True, slots=True)
class ReplyContext:
    """What the check of one reply may know besides its text.

    Attributes:
        granted: Commitments a tool result of this turn granted, from `COMMITMENTS`
            (``"refund"``, ``"discount"``, ``"credit"``, ``"sla_exception"``).
        system_prompts: The instructions the model was given.
        conversation_id: The conversation the reply belongs to (whose placeholders
            record what the customer sent).
        allow: Values the reply may contain though the customer did not send them, such
            as the support agent's own name (see `PIIGuard`'s ``allow``).

    Raises:
        ValueError: ``granted`` names something outside `COMMITMENTS`.
        TypeError: A field is a bare string instead of a collection of strings.
    """

    granted: frozenset[str] = frozenset()
    system_prompts: tuple[str, ...] = ()
    conversation_id: str | None = None
    allow: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        for field in ("granted", "system_prompts", "allow"):
            values = cast(object, getattr(self, field))
            if isinstance(values, str) or not isinstance(values, Iterable):
                raise TypeError(
                    f"{field} takes a collection of strings, got {type(values).__name__}"
                )
            items = tuple(cast(Iterable[object], values))
            if not all(isinstance(item, str) for item in items):
                raise TypeError(f"{field} takes strings only")
            kind = tuple if field == "system_prompts" else frozenset
            object.__setattr__(self, field, kind(cast(tuple[str, ...], items)))
        if unknown := self.granted - COMMITMENTS:
            raise ValueError(f"unknown commitments {sorted(unknown)}; use {sorted(COMMITMENTS)}")


NO_REPLY_CONTEXT = ReplyContext()


@runtime_checkable
class ReplyGuard(Protocol):
    """Anything that checks an outgoing reply (see `GuardrailChain.check_reply`)."""

    @property
    def name(self) -> str:
        """Short identifier used in findings and messages (``"promise"``, ``"leak"``)."""
        ...

    def check_reply(self, text: str, context: ReplyContext) -> GuardResult:
        """Check the reply ``text`` in ``context``; a passing result carries the text."""
        ...


class PromiseGuard:
    """Fails a reply that promises, offers or reports as done a commitment no tool granted.

    Commitments are refunds, discounts, credits (account credit, vouchers, free months)
    and SLA exceptions (waived fees or penalties, guaranteed response or fix times,
    "expedited ... guaranteed"), in English, Spanish, French, German and Portuguese.

    Boundary. A reply fails when it commits the company to one for this customer: a
    first-person act or offer ("I've issued", "I can offer you", "te aplicamos", "je vous
    ai remboursé", "wir erstatten Ihnen", "vamos aplicar"), a completion ("has been
    credited", "a été effectué", "wurde gutgeschrieben"), a receipt ("you'll receive",
    "recibirá", "Sie erhalten"), a gift ("here's a voucher", "enjoy 20% off", "on us") or
    a waiver worded as a negation ("we won't charge you the fee"). A promise conditional
    on the customer's own action counts ("if you return it, we'll refund you"). A reply
    passes when it asks, negates or refuses ("I can't promise a refund", "keinen
    Rabatt"), hedges or passes the decision on ("I'll check whether", "I've forwarded
    your refund request", "billing decides", "if approved"), or describes policy:
    eligibility, policy or terms, what usually happens, or the commitment in general as
    subject ("Refunds are issued within 10 days", "our refund policy allows refunds
    within 30 days"). Commitments in ``context.granted`` pass. Detection goes by phrasing
    (accent-insensitive regular expressions), so a paraphrase outside it gets through.

    Findings: ``kind`` is the commitment, the span covers the promising phrase.
    """

    name: str = "promise"

    def __repr__(self) -> str:
        return "PromiseGuard()"

    def check_reply(self, text: str, context: ReplyContext = NO_REPLY_CONTEXT) -> GuardResult:
        """Look for commitments in ``text`` that ``context.granted`` does not cover.

        Args:
            text: The reply.
            context: What this turn's tools granted.

        Returns:
            The text unchanged when it passes; otherwise ``passed=False`` with a finding
            per ungranted commitment and a message naming them.
        """
        reason = invalid_text_reason(text)
        if reason is not None:
            return refused(reason)
        findings = tuple(
            Finding(guard=self.name, kind=promise.kind, start=promise.start, end=promise.end)
            for promise in find_promises(text)
            if promise.kind not in context.granted
        )
        if not findings:
            return GuardResult(passed=True, sanitized_content=text)
        kinds = [_NAMED[kind] for kind in _unique_kinds(findings)]
        logger.info("promise: ungranted %s", ", ".join(_unique_kinds(findings)))
        return refused(f"promises {_and(kinds)} no tool granted", findings=findings)


class LeakGuard:
    """Fails a reply that contains a secret or personal data the customer did not send.

    Detection is `PIIGuard`'s own (its analyzer, entities, threshold and rules), so the
    reply is judged by what the input guard would have redacted. Every SECRET (API key,
    token, password) fails, even one the customer sent. Any other detected value passes
    only when it is in the conversation's `PlaceholderMap`, i.e. the input guard saw
    the customer send it (under any entity type: the same string may be typed apart in
    another sentence), or when it is one of ``context.allow``. A first name alone is a
    different value from the full name the customer sent. Placeholders (``<PERSON_1>``)
    are not values. Findings and messages carry entity types and spans, never values.

    The guard fails closed: if detection raises, the reply is withheld.
    """

    name: str = "leak"

    def __init__(
        self,
        pii: PIIGuard,
        placeholders: PlaceholderMap | None = None,
        *,
        entities: Collection[str] | None = None,
        public: Collection[str] = (),
    ) -> None:
        """Reuse ``pii``'s detection.

        Args:
            pii: The input guard whose analyzer and entities to use (the one that
                recorded what the customer sent).
            placeholders: The map that records what the customer sent; ``pii``'s own
                map when ``None``.
            entities: The entity types a reply may not carry unsent (SECRET always
                counts). Defaults to `LEAK_ENTITIES`, the identifiers detected by their
                shape. Names and places are left out by default: spaCy tags UI labels
                in help-centre text ("Billing → Invoice history") as them, which held 5
                of 25 replies on the cookbook's train conversations.
            public: Values that are never a leak: the company's own addresses
                (``support@orbitly.com``), or ``@orbitly.com`` for a whole domain.

        Raises:
            ValueError: ``pii`` does not look for SECRET.
        """
        if SECRET not in pii.entities:
            raise ValueError("LeakGuard needs a PIIGuard whose entities include SECRET")
        self.pii = pii
        self.placeholders = placeholders if placeholders is not None else pii.placeholders
        self.entities = frozenset(entities if entities is not None else LEAK_ENTITIES)
        self.public = tuple(value.casefold() for value in public)

    def __repr__(self) -> str:
        return f"LeakGuard({self.pii!r})"

    def check_reply(self, text: str, context: ReplyContext = NO_REPLY_CONTEXT) -> GuardResult:
        """Look for secrets and unsent personal data in ``text``.

        Args:
            text: The reply.
            context: Its conversation and allowed values.

        Returns:
            The text unchanged when it passes; otherwise ``passed=False`` with a finding
            per leaked value.
        """
        reason = invalid_text_reason(text)
        if reason is not None:
            return refused(reason)
        try:
            allowed = _allowed_words(context.allow)
            detections = self.pii._detect(text, allowed)  # pyright: ignore[reportPrivateUsage]
            conversation = context.conversation_id
            leaks = [d for d in detections if self._leaks(text, d, conversation)]
        except Exception as exc:
            logger.error("leak: detection failed (%s); reply withheld", type(exc).__name__)
            return refused(LEAK_DETECTION_FAILED)
        if not leaks:
            return GuardResult(passed=True, sanitized_content=text)
        findings = tuple(
            Finding(guard=self.name, kind=d.entity_type, start=d.start, end=d.end, score=d.score)
            for d in leaks
        )
        logger.info("leak: %d finding(s): %s", len(findings), ", ".join(_unique_kinds(findings)))
        return refused(_leak_message(findings), findings=findings)

    def _public(self, value: str) -> bool:
        folded = value.strip().casefold()
        return any(
            folded == item or (item.startswith("@") and folded.endswith(item))
            for item in self.public
        )

    def _leaks(self, text: str, detection: Detection, conversation_id: str | None) -> bool:
        if detection.entity_type == SECRET:
            return True
        value = text[detection.start : detection.end]
        if detection.entity_type not in self.entities or self._public(value):
            return False
        rest = _PLACEHOLDER.sub(" ", value)
        if not _WORD.search(rest):
            return False  # only placeholders
        conversation = _DEFAULT_CONVERSATION if conversation_id is None else conversation_id
        types = dict.fromkeys((detection.entity_type, *self.pii.entities))
        values = {candidate for candidate in (value.strip(), rest.strip()) if candidate}
        return not any(
            self.placeholders.known(conversation, entity_type, candidate)
            for entity_type in types
            if entity_type != SECRET
            for candidate in values
        )


class SystemPromptGuard:
    """Fails a reply that reproduces text of the model's instructions.

    A reply repeats a system prompt when it shares a run of ``min_words`` consecutive
    words with it (8 by default), or all of a prompt shorter than that. Words are compared
    case-insensitively, with punctuation and whitespace ignored. Prompts are indexed once
    (word shingles, cached), so a check costs one pass over the reply per prompt length.
    Findings: ``kind="system_prompt"``, one per repeated run.
    """

    name: str = "system_prompt"

    def __init__(self, *, min_words: int = 8) -> None:
        """Configure the run length.

        Args:
            min_words: Shortest shared run of words that counts as repeating a prompt.

        Raises:
            ValueError: ``min_words`` is below 1.
        """
        if min_words < 1:
            raise ValueError(f"min_words must be at least 1, got {min_words}")
        self.min_words = min_words

    def __repr__(self) -> str:
        return f"SystemPromptGuard(min_words={self.min_words})"

    def check_reply(self, text: str, context: ReplyContext = NO_REPLY_CONTEXT) -> GuardResult:
        """Look for runs of ``context.system_prompts`` in ``text``.

        Args:
            text: The reply.
            context: The system prompts.

        Returns:
            The text unchanged when it passes; otherwise ``passed=False``.
        """
        reason = invalid_text_reason(text)
        if reason is not None:
            return refused(reason)
        words = [(m.start(), m.end(), _normal_word(m.group())) for m in _WORD.finditer(text)]
        keys = [word for _, _, word in words]
        grams: dict[int, list[tuple[str, ...]]] = {}  # the reply's runs, by length
        matched: set[int] = set()  # indices of reply words inside a repeated run
        for prompt in context.system_prompts:
            size, shingles = _shingles(prompt, self.min_words)
            if size == 0:
                continue
            if size not in grams:
                grams[size] = [tuple(keys[i : i + size]) for i in range(len(keys) - size + 1)]
            for index, gram in enumerate(grams[size]):
                if gram in shingles:
                    matched.update(range(index, index + size))
        if not matched:
            return GuardResult(passed=True, sanitized_content=text)
        findings = tuple(
            Finding(guard=self.name, kind="system_prompt", start=words[a][0], end=words[b][1])
            for a, b in _runs(sorted(matched))
        )
        logger.info("system_prompt: %d repeated run(s)", len(findings))
        return refused("repeats the system prompt", findings=findings)


def _normal_word(word: str) -> str:
    return unicodedata.normalize("NFKC", word).casefold()


@functools.lru_cache(maxsize=256)
def _shingles(prompt: str, min_words: int) -> tuple[int, frozenset[tuple[str, ...]]]:
    """A prompt's run length (``min_words``, or all its words if fewer) and its runs."""
    words = [_normal_word(match.group()) for match in _WORD.finditer(prompt)]
    size = min(min_words, len(words))
    if size == 0:
        return 0, frozenset()
    return size, frozenset(tuple(words[i : i + size]) for i in range(len(words) - size + 1))


def _runs(indices: Sequence[int]) -> list[tuple[int, int]]:
    """Consecutive stretches of sorted ``indices`` as (first, last) pairs."""
    runs: list[tuple[int, int]] = []
    for index in indices:
        if runs and index == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], index)
        else:
            runs.append((index, index))
    return runs


def _unique_kinds(findings: Sequence[Finding]) -> list[str]:
    return list(dict.fromkeys(finding.kind for finding in findings))


def _and(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _leak_message(findings: Sequence[Finding]) -> str:
    kinds = [kind for kind in _unique_kinds(findings) if kind != SECRET]
    unsent = f"PII the customer did not send ({', '.join(kinds)})" if kinds else ""
    if len(kinds) < len(_unique_kinds(findings)):
        return "contains a secret" + (f" and {unsent}" if unsent else "")
    return f"contains {unsent}"
