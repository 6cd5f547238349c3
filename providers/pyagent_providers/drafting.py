"""What `LocalModel` writes free text from, and the composers that write it.

`LocalModel` finds things (the best-matching help-centre article, a tool's result, labels
by embedding); a `ReplyComposer` turns them into words. The default `PlainComposer`
states the article's answer plainly; a recipe passes its own (the cookbook's support
desk adds openings by sentiment and next steps by priority). Whatever the composer
writes, `LocalModel` appends the note that the text was drafted offline.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = ["Article", "Composed", "Draft", "PlainComposer", "ReplyComposer", "article_answer"]

_SENTENCE = re.compile(r"(?<=[.!?])\s+")
_ASKS_FOR_BREVITY = re.compile(r"\b(concise|brief|2-3 sentences|short)\b", re.IGNORECASE)
_TRIED = re.compile(r"\b(tried|already|restarted|cleared|reinstalled|checked|re-?sent)\b", re.I)


@dataclass(frozen=True, kw_only=True, slots=True)
class Article:
    """A help-centre article that replies are grounded in."""

    id: str
    title: str
    summary: str = ""
    steps: tuple[str, ...] = ()
    body: str = ""
    category: str = ""
    tags: tuple[str, ...] = field(default=())

    @property
    def search_text(self) -> str:
        """What the article is matched on: title, summary, tags and body."""
        return " ".join([self.title, self.summary, " ".join(self.tags), self.body])

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Article:
        """An article from a JSON object with the same field names."""
        return cls(
            id=str(data["id"]),
            title=str(data["title"]),
            summary=str(data.get("summary", "")),
            steps=tuple(str(step) for step in data.get("steps", ())),
            body=str(data.get("body", "")),
            category=str(data.get("category", "")),
            tags=tuple(str(tag) for tag in data.get("tags", ())),
        )


@dataclass(frozen=True, kw_only=True, slots=True)
class Draft:
    """What the model found for one free-text reply.

    Attributes:
        query: The customer's words the reply is about (a short follow-up keeps the turn
            before it).
        latest: The newest customer message, as written.
        system: The request's system prompt (instructions, a triage line...).
        article: The best-matching article, if any matched fairly.
        tool_result: A tool's result to answer from ("" when there is none).
        classify: ``classify(signal, {label: description})`` labels the query by the
            model's embeddings (labelled examples for that signal first, else the
            descriptions).
    """

    query: str
    latest: str
    system: str
    article: Article | None
    tool_result: str
    classify: Callable[[str, Mapping[str, str]], str]


@dataclass(frozen=True, slots=True)
class Composed:
    """A reply's text and the article it was grounded in (named in the offline note)."""

    text: str
    grounded_in: Article | None = None


class ReplyComposer(Protocol):
    """Writes `LocalModel`'s free text."""

    def reply(self, draft: Draft) -> Composed:
        """The reply to the customer."""
        ...

    def handoff_summary(self, draft: Draft) -> str:
        """A summary for the person who takes the case."""
        ...


class PlainComposer:
    """The article's answer (or the tool's result), stated plainly, with no house voice."""

    def reply(self, draft: Draft) -> Composed:
        """The tool's result, else the article's summary and steps, else a plain "no match"."""
        if draft.tool_result:
            return Composed(f"Here is what I found:\n{draft.tool_result[:800]}")
        article = draft.article
        if article is None:
            return Composed(
                "I couldn't find a help-centre article that covers this, so I've kept the "
                "details of your message for a specialist to review."
            )
        return Composed(
            article_answer(article, brief=bool(_ASKS_FOR_BREVITY.search(draft.system))), article
        )

    def handoff_summary(self, draft: Draft) -> str:
        """Issue, what was tried, recommended action."""
        sentences = [s for s in _SENTENCE.split(draft.query.strip()) if s]
        tried = [s for s in sentences if _TRIED.search(s)]
        action = (
            f"review the case against “{draft.article.title}” and reply personally"
            if draft.article
            else "review the case and reply personally"
        )
        return "\n".join(
            [
                f"1. Customer issue: {sentences[0] if sentences else draft.query}",
                f"2. Already tried: {' '.join(tried) if tried else 'nothing stated'}",
                f"3. Recommended action: {action}.",
            ]
        )


def article_answer(article: Article, *, brief: bool = False) -> str:
    """An article's summary and its first steps (two when brief, else four), numbered."""
    steps = article.steps[: 2 if brief else 4]
    parts = [article.summary or article.body]
    if steps:
        parts.append("\n".join(f"{i}. {step}" for i, step in enumerate(steps, 1)))
    return "\n\n".join(parts)
