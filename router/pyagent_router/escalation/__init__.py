"""Escalation as its own policy: rules as data, a learned detector, an optional LLM judge."""

from .judge import JUDGE_INSTRUCTIONS, LLMJudge
from .learned import LearnedDetector, sentence_pieces
from .money import Amount, find_amounts
from .policy import EscalationPolicy, ProfanityDetector
from .rules import DEFAULT_RULES, KeywordRule, RefundLimit, Rule, RuleSet
from .verdict import (
    SCORE_ONLY,
    CustomerProfile,
    EscalationReason,
    EscalationVerdict,
    Signal,
    fold,
    reason_codes,
)

__all__ = [
    "DEFAULT_RULES",
    "SCORE_ONLY",
    "JUDGE_INSTRUCTIONS",
    "Amount",
    "CustomerProfile",
    "EscalationPolicy",
    "EscalationReason",
    "EscalationVerdict",
    "KeywordRule",
    "LLMJudge",
    "LearnedDetector",
    "ProfanityDetector",
    "RefundLimit",
    "Rule",
    "RuleSet",
    "Signal",
    "find_amounts",
    "fold",
    "reason_codes",
    "sentence_pieces",
]
