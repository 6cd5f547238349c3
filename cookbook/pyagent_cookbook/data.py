"""The cookbook's data: help-centre articles and labelled past tickets (see data/README.md)."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from pyagent_providers import Article, Example

__all__ = [
    "ROUTE_OF_CATEGORY",
    "load_articles",
    "load_conversations",
    "load_examples",
    "load_labelled",
    "load_tickets",
    "training_examples",
]

# The support system's Supervisor routes: the seed's three bots, a general bot for
# questions and feature requests, and escalation to a person.
ROUTE_OF_CATEGORY = {
    "billing": "billing",
    "technical": "technical",
    "account": "account",
    "feature_request": "general",
    "general": "general",
}


def _read(name: str) -> str:
    return resources.files("pyagent_cookbook").joinpath("data", name).read_text(encoding="utf-8")


@cache
def load_articles() -> tuple[Article, ...]:
    """The Orbitly help-centre articles."""
    return tuple(Article.from_dict(item) for item in json.loads(_read("kb_articles.json")))


@cache
def load_tickets() -> tuple[dict[str, Any], ...]:
    """The labelled past tickets as dicts (text, category, priority, ..., tier)."""
    return tuple(json.loads(line) for line in _read("examples.jsonl").splitlines() if line)


def load_examples() -> tuple[Example, ...]:
    """The labelled tickets as `Example`s, with the Supervisor ``route`` label added.

    ``route`` is ``escalate`` for tickets a person must decide (tier ``human``), otherwise
    the bot for the ticket's category.
    """
    return tuple(
        Example(
            text=ticket["text"],
            title=ticket.get("title", ""),
            labels={
                **{k: v for k, v in ticket.items() if k not in ("text", "title")},
                "route": "escalate"
                if ticket["tier"] == "human"
                else ROUTE_OF_CATEGORY[ticket["category"]],
            },
        )
        for ticket in load_tickets()
    )


def _jsonl(name: str) -> tuple[dict[str, Any], ...]:
    return tuple(json.loads(line) for line in _read(name).splitlines() if line.strip())


@cache
def load_labelled(split: str) -> tuple[dict[str, Any], ...]:
    """The labelled evaluation tickets of a split (``train`` or ``test``; data/README.md)."""
    return _jsonl(f"tickets_{split}.jsonl")


@cache
def load_conversations(split: str) -> tuple[dict[str, Any], ...]:
    """The labelled multi-turn conversations of a split (``train`` or ``test``)."""
    return _jsonl(f"conversations_{split}.jsonl")


@cache
def training_examples() -> tuple[Example, ...]:
    """Everything the recipe learns from: the past tickets and the ``train`` split.

    Ticket labels use ``route`` for the tier (``fast|smart|human``) and keep
    ``escalation_reason``; each conversation turn is one example, a short follow-up read
    with the turn before it (as the chat handler's classifiers read it). The ``test`` split
    is never used here: it is only reported (`pyagent eval`).
    """
    examples = [
        Example(
            text=e.text,
            title=e.title,
            labels={**e.labels, "route": e.labels["tier"]},
        )
        for e in load_examples()
    ]
    rows = list(load_labelled("train"))
    for conversation in load_conversations("train"):
        previous = ""
        for turn in conversation["turns"]:
            rows.append({**turn, "text": with_previous(turn["text"], previous)})
            previous = turn["text"]
    for row in rows:
        labels = {k: v for k, v in row.items() if k not in ("text", "id", "pii", "language")}
        examples.append(Example(text=row["text"], title=str(row.get("id", "")), labels=labels))
    return tuple(examples)


def with_previous(text: str, previous: str, *, short_words: int = 6) -> str:
    """A short follow-up ("still failing", "and for annual?") read with the turn before it."""
    if previous and len(text.split()) < short_words:
        return f"{previous}\n{text}"
    return text
