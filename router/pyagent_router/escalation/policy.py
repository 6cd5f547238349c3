"""`EscalationPolicy`: decides, before any bot answers, whether a person must take a message.

Its detectors are independent of the topic classifier, and any one of them escalates:

1. **Rules** (`RuleSet`, data a support team edits): explicit requests for a person,
   legal threats, self-harm, violence, abuse, security incidents, fraud, refunds above a
   limit in any currency, enterprise churn, law enforcement and press, identity
   verification, prompt injection; in English, Spanish, French, German and Portuguese.
2. **Abuse model** (optional, English): `alt-profanity-check`'s offensive-language
   probability, counted only when the message addresses people ("you", "your staff").
3. **Learned detector** (`LearnedDetector`): a calibrated score from labelled examples.
4. **LLM judge** (`LLMJudge`, optional): asked only when no rule fired and the learned
   score falls in the uncertain band below its threshold (so it needs a learned detector);
   if the judge's provider fails, the other detectors' verdict stands.
"""

from __future__ import annotations

import copy
import logging
import re
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from pyagent_providers import ProviderError
from pyagent_providers.concurrency import run_cpu_bound

from .judge import LLMJudge
from .learned import LearnedDetector
from .rules import RuleSet
from .verdict import SCORE_ONLY, CustomerProfile, EscalationReason, EscalationVerdict, Signal

__all__ = ["EscalationPolicy", "ProfanityDetector"]

logger = logging.getLogger("pyagent.escalation")

# Swearing counts as abuse when it is aimed at people: "you are ...", "you guys", "f... you",
# "your staff"; "could you check why this f...ing sync broke" is anger at software.
_ADDRESSES_PEOPLE = re.compile(
    r"\b((you|u|ya|y'all)\s+(are|r|'re|guys|people|lot|all|idiots?|morons?)|"
    r"(fuck|screw|damn)\s+(you|u|ya)|your\s+(staff|team|people|agents|support\s+\w+))\b",
    re.I,
)


class ProfanityDetector:
    """Abuse by `alt-profanity-check` (English), only when the message addresses people.

    Swearing at a broken export is not abuse; swearing at the person reading it is.
    """

    name = "profanity-model"

    def __init__(self, threshold: float = 0.8) -> None:
        from profanity_check import (  # pyright: ignore[reportMissingTypeStubs]
            predict_prob,  # pyright: ignore[reportUnknownVariableType]
        )

        self._predict: Callable[[list[str]], Any] = predict_prob
        self.threshold = threshold

    def detect(self, text: str) -> list[Signal]:
        """An abuse signal when the offensive-language probability passes the threshold."""
        if not _ADDRESSES_PEOPLE.search(text):
            return []
        sentences = [s for s in re.split(r"(?<=[.!?\n])\s+", text) if _ADDRESSES_PEOPLE.search(s)]
        scores = [float(p) for p in self._predict(sentences)]
        best = max(scores, default=0.0)
        if best < self.threshold:
            return []
        return [Signal(reason=EscalationReason.abuse, score=best, detector=self.name)]


class EscalationPolicy:
    """Any detector that fires sends the message to a person, with reason codes and scores.

    Args:
        rules: The rule set; `RuleSet.default()` when omitted.
        learned: A fitted `LearnedDetector` (optional).
        judge: An `LLMJudge` for uncertain cases (optional; needs a model).
        profanity: Use `ProfanityDetector` when ``alt-profanity-check`` is installed.
        judge_band: Learned scores from this value up to the learned threshold are
            "uncertain" and go to the judge.
    """

    def __init__(
        self,
        *,
        rules: RuleSet | None = None,
        learned: LearnedDetector | None = None,
        judge: LLMJudge | None = None,
        profanity: bool = True,
        judge_band: float = 0.25,
    ) -> None:
        self.rules = rules if rules is not None else RuleSet.default()
        self.learned = learned
        self.judge = judge
        self.judge_band = judge_band
        self.profanity = _profanity_detector() if profanity else None

    @classmethod
    def from_file(cls, path: str | Path, **options: object) -> EscalationPolicy:
        """A policy whose rules come from a TOML file (see ``default_rules.toml``)."""
        return cls(rules=RuleSet.from_file(path), **options)  # type: ignore[arg-type]

    def with_keywords(self, keywords: Iterable[str]) -> EscalationPolicy:
        """A copy of this policy with a keyword list as one more rule source."""
        policy = copy.copy(self)
        policy.rules = self.rules.with_keywords(keywords)
        return policy

    def with_judge(self, judge: LLMJudge | None) -> EscalationPolicy:
        """A copy of this policy with another LLM judge (``None``: no judge)."""
        policy = copy.copy(self)
        policy.judge = judge
        return policy

    def assess_sync(
        self,
        text: str,
        profile: CustomerProfile | None = None,
        history: Sequence[str] = (),
    ) -> EscalationVerdict:
        """Rules, the abuse model and the learned detector (no LLM call), in this thread.

        `history` (earlier customer messages) is context for rules that need it, such as
        "this customer is on Enterprise"; the verdict is about `text` alone.
        """
        signals: list[Signal] = self.rules.detect(text, profile, history)
        if self.profanity is not None:
            signals += self.profanity.detect(text)
        if self.learned is not None:
            signals += self.learned.detect(text)
        return _verdict(signals)

    async def assess(
        self,
        text: str,
        *,
        profile: CustomerProfile | None = None,
        history: Sequence[str] = (),
    ) -> EscalationVerdict:
        """Decide for one customer message (the newest one: earlier turns were decided)."""
        verdict = await run_cpu_bound(self.assess_sync, text, profile, history)
        if verdict.escalate or self.judge is None or not self._uncertain(verdict):
            return verdict
        try:
            judged = await self.judge.judge(text)
        except ProviderError as exc:  # the rules and the learned score have decided
            logger.warning("escalation judge unavailable: %s", type(exc).__name__)
            return verdict
        return _verdict([*verdict.signals, *judged])

    def _uncertain(self, verdict: EscalationVerdict) -> bool:
        learned = [s.score for s in verdict.signals if s.detector == SCORE_ONLY]
        return bool(learned) and max(learned) >= self.judge_band


def _verdict(signals: Sequence[Signal]) -> EscalationVerdict:
    escalating = any(s.detector != SCORE_ONLY for s in signals)
    return EscalationVerdict(escalate=escalating, signals=tuple(signals))


def _profanity_detector() -> ProfanityDetector | None:
    try:
        return ProfanityDetector()
    except ImportError:  # optional: the rules cover abuse in five languages without it
        return None
