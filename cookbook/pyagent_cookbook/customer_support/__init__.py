"""Cookbook: the tiered customer-support system of seed 002, for the fictional SaaS Orbitly.

    customer text
      → input guards (one length limit, never a silent cut; PII redaction)
      → triage (`pyagent_cookbook.triage`): the escalation policy first, then category,
        priority, team, sentiment, tier and difficulty (local classifiers; the LLM only
        where unsure)
      → Supervisor: billing | technical | account | general | escalate, from the triage
      → TalkerReasoner per bot: the triage's tier (fast 1-3, smart 4-10, LABELS.md)
      → HumanInTheLoop for escalations, with reason codes (durable SQLite queue)
      all inside BoundedExecution (retries, one deadline, a fallback agent). The answering
      bot sees the triage signals, so its reply follows the priority and the sentiment.

Models come from the environment: with ``OPENAI_API_KEY`` and ``ANTHROPIC_API_KEY`` the
fast tier is gpt-4o-mini and the smart tier Claude Sonnet, as in the seed; either key
alone serves both tiers from its own provider; with neither, both tiers run on the
embedded `LocalModel` (and every result says so). ``PYAGENT_FAST_MODEL`` /
``PYAGENT_SMART_MODEL`` override the model names.

The seed's Sonnet snapshot (claude-sonnet-4-20250514) reached end-of-life in June 2026,
so the smart tier defaults to claude-sonnet-4-6.

One job per module:

- `models`: the tiers' models (`Models`, `choose_models`).
- `prompts`: the system prompts, hand-off and fallback instructions, the crisis reply and
  the bots' handoff thresholds.
- `pipeline`: one turn, triage then the Supervisor (`SupportPipeline`, `TriageDifficulty`,
  `signals_line`, `triage_of`).
- `records`: what a message became (`RoutingDecision`, `SupportReply`).
- `system`: the assembly (`SupportSystem`, `Classification`, `MAX_MESSAGE_CHARS`,
  `handoff_thresholds`: ``PYAGENT_HANDOFF_THRESHOLD``, the threshold ``pyagent calibrate``
  chose, overrides every bot's `HANDOFF_THRESHOLDS`).
- `chat`: the system as a multi-turn `ChatHandler` (`chat_handler`).
- `showcase`: the demo queries and their printout (`demo`, `format_reply`).

This package is the ``pyagent`` command's default recipe (entry point ``customer-support``
in group ``pyagent.recipes``): the commands read `SupportSystem`, `chat_handler`,
`Classification` and `demo` from it.

Run it: ``python -m pyagent_cookbook.customer_support`` (or ``pyagent demo``).
"""

from __future__ import annotations

from .chat import chat_handler
from .models import ONLINE_DEFAULTS, Models, choose_models
from .pipeline import SupportPipeline, TriageDifficulty, signals_line, triage_of
from .prompts import (
    BOT_PROMPTS,
    CLASSIFIER_PROMPT,
    CRISIS_REPLY,
    FALLBACK_PROMPT,
    HANDOFF_PROMPT,
    HANDOFF_THRESHOLDS,
)
from .records import RoutingDecision, SupportReply
from .showcase import SEED_000_TICKETS, SEED_QUERIES, demo, format_reply
from .system import (
    HANDOFF_THRESHOLD_ENV,
    MAX_MESSAGE_CHARS,
    WARM_UP_QUERY,
    Classification,
    SupportSystem,
    handoff_thresholds,
)

__all__ = [
    "BOT_PROMPTS",
    "CLASSIFIER_PROMPT",
    "CRISIS_REPLY",
    "FALLBACK_PROMPT",
    "HANDOFF_PROMPT",
    "HANDOFF_THRESHOLDS",
    "HANDOFF_THRESHOLD_ENV",
    "MAX_MESSAGE_CHARS",
    "ONLINE_DEFAULTS",
    "SEED_000_TICKETS",
    "SEED_QUERIES",
    "WARM_UP_QUERY",
    "Classification",
    "Models",
    "RoutingDecision",
    "SupportPipeline",
    "SupportReply",
    "SupportSystem",
    "TriageDifficulty",
    "chat_handler",
    "choose_models",
    "demo",
    "format_reply",
    "handoff_thresholds",
    "signals_line",
    "triage_of",
]
