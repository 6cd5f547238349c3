"""Triage: every signal the support system decides about one message, before a bot answers.

    redacted text ─► EscalationPolicy (rules, abuse model, learned detector[, LLM judge])
                 ─► local classifiers: category, priority, team, sentiment, tier, difficulty
                 ─► cascade: a signal the local classifier is unsure of goes to the LLM,
                    whose prompt carries only the k most similar labelled examples
                 ─► the label policy (LABELS.md) reconciles them: team from category and
                    difficulty, priority and sentiment floors from the escalation reasons

The result is one typed record, `TriageResult`, which the Supervisor, the bots, the reply
and `pyagent route` / `pyagent eval` all read.

Modules: `labels` (the record and the label policy), `triager` (`Triager`: the classifiers
and the cascade; `choose_cascade_thresholds`), `cache` (`default_triager`, fitted once per
machine and kept under `cache_dir`). ``python -m pyagent_cookbook.triage`` trains it now.
"""

from __future__ import annotations

from .cache import cache_dir, default_triager
from .labels import CASCADE_SIGNALS, SIGNALS, SMART_FROM, SMART_TOPICS, Tier, TriageResult
from .triager import CASCADE_INSTRUCTIONS, CASCADE_THRESHOLDS, Triager, choose_cascade_thresholds

__all__ = [
    "CASCADE_INSTRUCTIONS",
    "CASCADE_SIGNALS",
    "CASCADE_THRESHOLDS",
    "SIGNALS",
    "SMART_FROM",
    "SMART_TOPICS",
    "Tier",
    "TriageResult",
    "Triager",
    "cache_dir",
    "choose_cascade_thresholds",
    "default_triager",
]
