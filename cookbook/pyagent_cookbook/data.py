"""The cookbook's data: help-centre articles and labelled past tickets (see data/README.md)."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from pyagent_providers import Article, Example

__all__ = ["ROUTE_OF_CATEGORY", "load_articles", "load_examples", "load_tickets"]

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
