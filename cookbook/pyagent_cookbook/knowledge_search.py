"""Embedding search over help-centre articles and past tickets (seed 001's ``search_kb``).

`KnowledgeBase` embeds its documents (`Document`) once (lazily, on the first search) and answers
`KnowledgeBase.search` with the nearest documents by cosine similarity. The public names are
re-exported by `pyagent_cookbook.knowledge`, which adds the duplicate detector on top.

**Only redacted text may be searched.** Neither the query nor a past ticket is redacted
here: the caller runs its PII guard first (the default knowledge base's past tickets are
redacted from their PII labels when loaded, `redact_labelled`).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from pyagent_providers import Article, UserError
from pyagent_providers.concurrency import run_cpu_bound
from pyagent_providers.embeddings import Embedder, default_embedder, embed_stored

from .data import load_articles, load_labelled

__all__ = ["KINDS", "Document", "KnowledgeBase", "Match", "redact_labelled"]

KINDS = frozenset({"article", "ticket"})
Vectors = npt.NDArray[np.float32]


@dataclass(frozen=True, kw_only=True, slots=True)
class Document:
    """One thing the knowledge base can find: a help-centre article or a past ticket.

    Attributes:
        id: Unique within the knowledge base (``kb-account-002``, ``a-014``).
        kind: ``"article"`` or ``"ticket"``.
        title: Short name ("" for a ticket without one).
        text: The searchable body; `search_text` (title and text) is what is embedded.
        answer: What settles the issue (an article's summary, steps and body; a past
            ticket's resolution), or ``None``. Only documents with an answer can be the
            one a ticket is a duplicate of.
        labels: Labels such as ``category``, ``assigned_team`` and, for past tickets,
            ``route`` (``fast|smart|human``).
        article: The `Article` an article document was made from (for reply drafting).
    """

    id: str
    kind: str
    title: str
    text: str
    answer: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict[str, str], hash=False)
    article: Article | None = field(default=None, compare=False, hash=False, repr=False)

    @property
    def search_text(self) -> str:
        """What is embedded: the title and the text (for articles, `Article.search_text`)."""
        return f"{self.title} {self.text}".strip()

    @property
    def category(self) -> str:
        """The ``category`` label, or ""."""
        return self.labels.get("category", "")

    @classmethod
    def from_article(cls, article: Article) -> Document:
        """An article document; its answer is the summary, numbered steps and body."""
        steps = [f"{n}. {step}" for n, step in enumerate(article.steps, 1)]
        return cls(
            id=article.id,
            kind="article",
            title=article.title,
            text=" ".join([article.summary, " ".join(article.tags), article.body]),
            answer="\n".join(part for part in (article.summary, *steps, article.body) if part),
            labels={"category": article.category},
            article=article,
        )

    @classmethod
    def from_ticket(cls, row: Mapping[str, Any]) -> Document:
        """A past-ticket document from a labelled row (``tickets_*.jsonl``), PII redacted.

        The row's ``pii`` spans are replaced by typed placeholders (`redact_labelled`);
        its string labels are kept, and a ``resolution`` field, if any, is its answer.
        """
        labels = {
            key: value
            for key, value in row.items()
            if isinstance(value, str) and key not in ("id", "text", "resolution", "title")
        }
        resolution = row.get("resolution")
        return cls(
            id=str(row["id"]),
            kind="ticket",
            title=str(row.get("title", "")),
            text=redact_labelled(str(row["text"]), row.get("pii", ())),
            answer=str(resolution) if resolution else None,
            labels=labels,
        )


@dataclass(frozen=True, slots=True)
class Match:
    """A document found for a query, with its cosine similarity clipped to [0, 1]."""

    document: Document
    score: float


class KnowledgeBase:
    """Embedding search over articles and past tickets.

    The documents are embedded on the first search (or `warm_up`), in one batch, off the
    event loop. With `store` set, their vectors are kept on disk there and read back by
    the next process (`embed_stored`): give it only the application's own texts, never
    unredacted customer messages.

    Args:
        documents: The documents; ids must be unique and kinds in `KINDS`.
        embedder: Turns texts into unit vectors; defaults to the packaged all-MiniLM-L6-v2
            (English-only: tickets in other languages rarely find their article, so the
            duplicate detector sends them to a person).
        store: Directory for the documents' vectors on disk, or ``None`` for memory only.

    Raises:
        UserError: A duplicate id or an unknown kind.
    """

    def __init__(
        self,
        documents: Sequence[Document],
        embedder: Embedder | None = None,
        *,
        store: str | Path | None = None,
    ) -> None:
        self.documents = tuple(documents)
        self.embedder: Embedder = embedder if embedder is not None else default_embedder()
        self.store = Path(store) if store is not None else None
        ids = [d.id for d in self.documents]
        if len(set(ids)) != len(ids):
            raise UserError("knowledge-base document ids must be unique")
        unknown = {d.kind for d in self.documents} - KINDS
        if unknown:
            raise UserError(f"unknown document kinds {sorted(unknown)}; use {sorted(KINDS)}")
        self._index = {d.id: i for i, d in enumerate(self.documents)}
        self._kinds = np.asarray([d.kind for d in self.documents])
        self._vectors: Vectors | None = None
        self._lock = threading.Lock()

    @classmethod
    def default(cls) -> KnowledgeBase:
        """The Orbitly help-centre articles and the ``train`` split's past tickets.

        One instance per process; vectors are kept under ``$PYAGENT_CACHE_DIR``.
        """
        return _default_knowledge_base()

    def __len__(self) -> int:
        return len(self.documents)

    def get(self, document_id: str) -> Document:
        """The document with this id (`KeyError` if there is none)."""
        return self.documents[self._index[document_id]]

    def vectors(self) -> Vectors:
        """The documents' unit vectors, one row each (embedded on first use; blocking)."""
        with self._lock:
            if self._vectors is None:
                texts = [d.search_text for d in self.documents]
                if not texts:
                    self._vectors = np.zeros((0, 0), dtype=np.float32)
                elif self.store is not None:
                    self._vectors = embed_stored(self.embedder, texts, self.store)
                else:
                    self._vectors = np.asarray(self.embedder.embed(texts), dtype=np.float32)
            return self._vectors

    async def warm_up(self) -> None:
        """Embed the documents now (in pyagent's CPU pool) rather than on the first search."""
        if self._vectors is None:
            await run_cpu_bound(self.vectors)

    async def embed(self, query: str) -> Vectors:
        """The query's unit vector, computed off the event loop."""
        rows = await run_cpu_bound(self.embedder.embed, [query])
        return np.asarray(rows[0], dtype=np.float32)

    async def search(
        self, query: str, *, limit: int = 5, kinds: Collection[str] | None = None
    ) -> list[Match]:
        """The documents nearest to `query`, most similar first.

        `query` must already be redacted (see the module docstring). A blank query
        finds nothing.

        Args:
            query: The ticket's redacted text.
            limit: At most this many matches.
            kinds: Only these kinds (``{"article"}``, ``{"ticket"}``); ``None`` for all.

        Raises:
            UserError: `limit` below 1 or an unknown kind.
        """
        _check(limit, kinds)
        if not query.strip() or not self.documents:
            return []
        await self.warm_up()
        return self.nearest(await self.embed(query), limit=limit, kinds=kinds)

    def nearest(
        self,
        vector: Vectors,
        *,
        limit: int = 5,
        kinds: Collection[str] | None = None,
        exclude: Iterable[str] = (),
    ) -> list[Match]:
        """The documents nearest to a query vector (blocking; `search` is the async form).

        Args:
            vector: A unit vector from the same embedder.
            limit: At most this many matches.
            kinds: Only these kinds; ``None`` for all.
            exclude: Ids to leave out (e.g. a past ticket looking for its neighbours).
        """
        _check(limit, kinds)
        if not self.documents:
            return []
        scores = self.vectors() @ np.asarray(vector, dtype=np.float32)
        allowed = np.ones(len(self.documents), dtype=bool)
        if kinds is not None:
            allowed &= np.isin(self._kinds, list(kinds))
        for document_id in exclude:
            if document_id in self._index:
                allowed[self._index[document_id]] = False
        candidates = np.flatnonzero(allowed)
        order = candidates[np.argsort(-scores[candidates], kind="stable")[:limit]]
        return [Match(self.documents[int(i)], float(np.clip(scores[i], 0.0, 1.0))) for i in order]


def _check(limit: int, kinds: Collection[str] | None) -> None:
    if limit < 1:
        raise UserError(f"limit must be at least 1, got {limit}")
    if kinds is not None and not set(kinds) <= KINDS:
        raise UserError(f"unknown kinds {sorted(set(kinds) - KINDS)}; use {sorted(KINDS)}")


def redact_labelled(text: str, pii: Iterable[Mapping[str, Any]]) -> str:
    """`text` with each labelled PII value replaced by a typed placeholder.

    Labelled rows list their personal values as exact substrings (data/README.md); they
    become ``<EMAIL_ADDRESS_1>``-style placeholders, as the PII guard writes them, so
    past tickets read like the redacted queries they are compared with.
    """
    numbers: dict[tuple[str, str], str] = {}
    counts: dict[str, int] = {}
    spans = sorted(
        ((str(item["type"]), str(item["value"])) for item in pii if item.get("value")),
        key=lambda span: -len(span[1]),  # a longer value first: it may contain a shorter
    )
    for kind, value in spans:
        if (kind, value) not in numbers:
            counts[kind] = counts.get(kind, 0) + 1
            numbers[(kind, value)] = f"<{kind}_{counts[kind]}>"
        text = text.replace(value, numbers[(kind, value)])
    return text


def default_documents() -> tuple[Document, ...]:
    """The articles (`load_articles`) and the ``train`` split's tickets, as documents."""
    return (
        *(Document.from_article(a) for a in load_articles()),
        *(Document.from_ticket(row) for row in load_labelled("train")),
    )


@cache
def _default_knowledge_base() -> KnowledgeBase:
    return KnowledgeBase(default_documents(), store=cache_dir())


def cache_dir() -> Path:
    """The triage's cache dir (`pyagent_cookbook.triage.cache.cache_dir`).

    ``$PYAGENT_CACHE_DIR`` is read here, so that searching does not import the patterns
    layer only to learn the default data directory.
    """
    override = os.environ.get("PYAGENT_CACHE_DIR")
    if override:
        return Path(override)
    from .triage.cache import cache_dir as triage_cache_dir

    return triage_cache_dir()
