"""Escalation as its own policy: rules as data, a learned detector, an optional LLM judge."""

from .judge import JUDGE_INSTRUCTIONS, LLMJudge
from .learned import LearnedDetector, sentence_pieces
from .money import Amount, find_amounts
from .policy import EscalationPolicy, ProfanityDetector
from .rules import DEFAULT_RULES, KeywordRule, RefundLimit, Rule, RuleSet
from .verdict import CustomerProfile, EscalationReason, EscalationVerdict, Signal, fold

__all__ = [
    "DEFAULT_RULES",
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
    "sentence_pieces",
]
