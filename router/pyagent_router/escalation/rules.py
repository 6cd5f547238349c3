"""Escalation rules as data: regular expressions per reason code, in five languages.

The default rule set lives in ``default_rules.toml`` beside this module; a support team
copies and edits it (`RuleSet.from_file`). See that file for the format.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

from pyagent_providers import UserError

from .money import find_amounts
from .verdict import CustomerProfile, EscalationReason, Signal, fold

__all__ = ["DEFAULT_RULES", "KeywordRule", "RefundLimit", "Rule", "RuleSet"]

DEFAULT_RULES = Path(__file__).with_name("default_rules.toml")


def _compile(patterns: Iterable[str], where: str) -> tuple[re.Pattern[str], ...]:
    compiled: list[re.Pattern[str]] = []
    for pattern in patterns:
        try:
            compiled.append(re.compile(pattern, re.MULTILINE))
        except re.error as exc:
            raise UserError(f"{where}: bad pattern {pattern!r}: {exc}") from exc
    return tuple(compiled)


@dataclass(frozen=True, kw_only=True, slots=True)
class Rule:
    """Patterns for one reason: any of `patterns`, all of `requires`, none of `unless`.

    Attributes:
        reason: The reason code a match reports.
        score: How sure a match makes us (0-1).
        patterns: Any one of these matching the folded text is a match.
        requires: Each of these must match too (e.g. an enterprise signal for churn).
        unless: A match of any of these vetoes the rule (known false alarms).
        description: What the rule is for, in words.
    """

    reason: EscalationReason
    score: float
    patterns: tuple[re.Pattern[str], ...]
    requires: tuple[re.Pattern[str], ...] = ()
    unless: tuple[re.Pattern[str], ...] = ()
    description: str = ""

    def match(self, folded: str, context: str = "") -> re.Match[str] | None:
        """The first pattern match in already-folded text, unless vetoed.

        `requires` may also be met by `context` (earlier messages, the customer's profile):
        an enterprise customer who said so two turns ago is still one.
        """
        if any(p.search(folded) for p in self.unless):
            return None
        if not all(p.search(folded) or p.search(context) for p in self.requires):
            return None
        return next((m for p in self.patterns if (m := p.search(folded))), None)


@dataclass(frozen=True, kw_only=True, slots=True)
class RefundLimit:
    """Refunds or credits above `limit_usd`, in any currency, go to a person.

    For each refund word (`triggers`) the nearest amount within `window` characters counts,
    if it names a currency with a rate: a bare number is as likely a card's last digits,
    an invoice or a phone number as money.
    """

    limit_usd: Decimal
    usd_per_unit: Mapping[str, Decimal]
    triggers: re.Pattern[str]
    window: int = 120
    score: float = 0.92

    def largest_refund_usd(self, text: str) -> Decimal | None:
        """The largest refund amount asked for, in USD, or ``None`` if none is named."""
        folded = fold(text)
        if len(folded) != len(text):  # folding changed offsets (rare ligatures): use both
            text = folded
        spots = [m.start() for m in self.triggers.finditer(folded)]
        priced = [
            (amount.start, amount.end, amount.value * rate)
            for amount in find_amounts(text)
            if (rate := self.usd_per_unit.get(amount.currency or "")) is not None
        ]
        # per refund word, the amount nearest to it ("refund the €104 VAT on the €499 invoice");
        # on a tie the larger ("three months at $300 each" is $900, ending where $300 ends)
        values: list[Decimal] = []
        for spot in spots:
            near = [
                (min(abs(start - spot), abs(end - spot)), -value, value)
                for start, end, value in priced
            ]
            near = [pair for pair in near if pair[0] <= self.window]
            if near:
                values.append(min(near)[2])
        return max(values, default=None)

    def signal(self, text: str) -> Signal | None:
        """A ``refund_over_limit`` signal when the largest refund is above the limit."""
        largest = self.largest_refund_usd(text)
        if largest is None or largest <= self.limit_usd:
            return None
        return Signal(
            reason=EscalationReason.refund_over_limit,
            score=self.score,
            detector="rules",
            rule=f"refund ≈ ${largest:.0f} > ${self.limit_usd}",
        )


@dataclass(frozen=True, kw_only=True, slots=True)
class KeywordRule:
    """A team's own keyword list (``HumanInTheLoop(high_risk_keywords=...)``) as a rule.

    Whole words or phrases, case and accent insensitive ("Frâude" matches "fraude").
    """

    keywords: tuple[str, ...]
    reason: EscalationReason = EscalationReason.high_risk_keyword
    score: float = 0.9
    _pattern: re.Pattern[str] | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        folded = sorted({fold(k).strip() for k in self.keywords if k.strip()}, key=len)
        alternatives = "|".join(r"\s+".join(map(re.escape, k.split())) for k in reversed(folded))
        pattern = re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)") if folded else None
        object.__setattr__(self, "_pattern", pattern)

    def matched(self, text: str) -> list[str]:
        """The keywords found in `text`."""
        if self._pattern is None:
            return []
        return sorted({m.group(0) for m in self._pattern.finditer(fold(text))})


@dataclass(frozen=True, kw_only=True, slots=True)
class RuleSet:
    """The rule detector: reason rules, the refund limit and keyword lists."""

    rules: tuple[Rule, ...]
    refund: RefundLimit | None = None
    keywords: tuple[KeywordRule, ...] = ()
    name: str = "rules"

    @classmethod
    def default(cls) -> RuleSet:
        """The rules shipped with pyagent (``default_rules.toml``)."""
        return cls.from_file(DEFAULT_RULES)

    @classmethod
    def from_file(cls, path: str | Path) -> RuleSet:
        """Load rules from a TOML file in the format of ``default_rules.toml``.

        Raises:
            UserError: The file is missing, not TOML, or names an unknown reason code.
        """
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise UserError(f"cannot read escalation rules {path}: {exc}") from exc
        return cls.from_dict(data, where=str(path))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, where: str = "rules") -> RuleSet:
        """Build rules from the decoded TOML structure."""
        rules: list[Rule] = []
        for raw in cast(Sequence[Mapping[str, Any]], data.get("rules", ())):
            try:
                reason = EscalationReason(str(raw["reason"]))
            except (KeyError, ValueError) as exc:
                raise UserError(f"{where}: unknown or missing reason in {dict(raw)!r}") from exc
            label = f"{where} [{reason}]"
            rules.append(
                Rule(
                    reason=reason,
                    score=float(raw.get("score", 0.9)),
                    patterns=_compile(raw.get("patterns", ()), label),
                    requires=_compile(raw.get("requires", ()), label),
                    unless=_compile(raw.get("unless", ()), label),
                    description=str(raw.get("description", "")),
                )
            )
        refund = None
        if "refund" in data:
            raw_refund = cast(Mapping[str, Any], data["refund"])
            triggers = "|".join(f"(?:{t})" for t in raw_refund.get("triggers", ()))
            refund = RefundLimit(
                limit_usd=Decimal(str(raw_refund.get("limit_usd", 500))),
                usd_per_unit={
                    str(k).upper(): Decimal(str(v))
                    for k, v in cast(Mapping[str, Any], raw_refund.get("usd_per_unit", {})).items()
                },
                triggers=_compile([rf"\b(?:{triggers})"], f"{where} [refund]")[0],
                window=int(raw_refund.get("window", 120)),
            )
        return cls(rules=tuple(rules), refund=refund)

    def with_keywords(self, keywords: Iterable[str]) -> RuleSet:
        """This rule set plus a keyword list as one more rule."""
        words = tuple(keywords)
        if not words:
            return self
        return RuleSet(
            rules=self.rules,
            refund=self.refund,
            keywords=(*self.keywords, KeywordRule(keywords=words)),
            name=self.name,
        )

    def with_refund_limit(self, limit_usd: Decimal | int | float) -> RuleSet:
        """This rule set with another refund limit (in USD)."""
        if self.refund is None:
            raise UserError("these rules have no [refund] section to change")
        refund = RefundLimit(
            limit_usd=Decimal(str(limit_usd)),
            usd_per_unit=self.refund.usd_per_unit,
            triggers=self.refund.triggers,
            window=self.refund.window,
            score=self.refund.score,
        )
        return RuleSet(rules=self.rules, refund=refund, keywords=self.keywords, name=self.name)

    def detect(
        self, text: str, profile: CustomerProfile | None = None, history: Sequence[str] = ()
    ) -> list[Signal]:
        """Every rule that fires on `text` (earlier messages only help meet `requires`)."""
        folded = fold(text)
        context = fold("\n".join(history))
        if profile is not None and profile.enterprise:
            context += "\n[enterprise customer]"
        signals = [
            Signal(reason=r.reason, score=r.score, detector=self.name, rule=match.re.pattern[:80])
            for r in self.rules
            if (match := r.match(folded, context))
        ]
        if self.refund is not None and (refund := self.refund.signal(text)):
            signals.append(refund)
        for keyword_rule in self.keywords:
            if words := keyword_rule.matched(text):
                signals.append(
                    Signal(
                        reason=keyword_rule.reason,
                        score=keyword_rule.score,
                        detector="keywords",
                        rule=", ".join(words),
                    )
                )
        return signals
