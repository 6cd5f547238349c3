"""The support system as an embeddable multi-turn `ChatHandler`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pyagent_guardrails import PlaceholderMap
from pyagent_patterns import ChatHandler, SendPolicy
from pyagent_patterns.chat import open_store

from .models import Models
from .system import MAX_MESSAGE_CHARS, Classification, SupportSystem, system_prompts

__all__ = ["chat_handler"]


def chat_handler(
    store: str | Path | None = None,
    *,
    models: Models | None = None,
    classification: Classification = "auto",
    **options: Any,
) -> ChatHandler:
    """The support system as an embeddable multi-turn `ChatHandler`.

    Args:
        store: The conversations' SQLite file or a ``postgresql://`` URL (`open_store`:
            ``$PYAGENT_DATABASE_URL``, else ``$PYAGENT_DATA_DIR/conversations.sqlite3``,
            by default). Its secret salts the PII digests, so placeholders stay
            consistent across restarts.
        models: The tiers' models; chosen from the environment by default.
        classification: See `SupportSystem`.
        **options: Passed to `ChatHandler` (``context_budget``, ``tier_hold``, ``limits``,
            ``send_policy``, ``tool_policy``, ``customer_profile``...).

    Every reply passes the system's reply guards (`SupportSystem.reply_guard`) before it
    is sent; one that fails waits as a draft for a person. Confidence gating is off by
    default (``send_policy=SendPolicy(min_confidence=..., guard=...)`` turns it on): the
    local triage's confidences are calibrated, but an untuned threshold would send most
    conversations to people.
    """
    conversations = open_store(store)
    placeholders = PlaceholderMap(salt=conversations.secret())
    system = SupportSystem(
        models,
        queue=conversations.escalations,  # a conversation's case is in its own file
        classification=classification,
        placeholders=placeholders,
    )
    options.setdefault("max_message_chars", MAX_MESSAGE_CHARS)
    # The triage reads a short follow-up together with the turn before it, which is what
    # the tier hold approximated; holding as well kept easy follow-ups on the smart tier.
    options.setdefault("tier_hold", None)
    options.setdefault(
        "send_policy", SendPolicy(guard=system.reply_guard, system_prompts=system_prompts())
    )
    return ChatHandler(
        system.pipeline,
        conversations,
        guard=system.input_guard,
        placeholders=placeholders,
        summarizer=system.summarizer,
        warm_up=system.warm_up,
        **options,
    )
