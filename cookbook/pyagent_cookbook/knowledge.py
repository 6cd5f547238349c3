"""Seed 001's knowledge-base search and duplicate detection, for the auto-reply recipe.

    redacted ticket ─► KnowledgeBase.search ─► nearest articles and past tickets
                    ─► DuplicateDetector.detect ─► does the best article settle it?

`KnowledgeBase`, `Document` and `Match` (`knowledge_search`) find the nearest help-centre
articles and past tickets. `DuplicateDetector` decides whether the best *answerable*
match (an article, or a past ticket with a resolution) settles the ticket, with a
confidence from two small logistic regressions (`knowledge_model`) over features of the
search: the top score and its margin over the runner-up, whether the next articles and
the nearest past tickets agree with it and how many of those it settled, and the
ticket's length, question mark and amounts of money.

**What "duplicate" means.** The ticket is labelled ``route == "fast"`` (LABELS.md: "a
help-centre answer settles it") and its best-matching article is the one that answers it,
per the hand-written `knowledge_labels.ANSWERED_BY` (`settled_by`). Tickets on other routes
need a diagnosis, an action or a person, so they are never duplicates; tickets that no
article covers are not either.

**Fitting and the threshold.** Only on the ``train`` split, which is also the default
knowledge base's past tickets: each is searched for with itself left out. The default
threshold is the lowest at which the out-of-fold precision of 10 repeats of 5-fold
cross-validation on ``train`` reaches 0.9 (`choose_threshold`): 0.659 on the shipped data,
catching about 45 % of the duplicates out of fold. ``test`` is only reported:
``python -m pyagent_cookbook.knowledge_report``. The fit takes 1-2 s once the documents'
vectors are on disk (a first run with an empty cache embeds ~530 texts: some 15-25 s on
CPU, once per cache dir), so the fitted model is not cached.

Everything searched or detected must already be redacted: see `knowledge_search`.
MiniLM is English-only, so tickets in other languages seldom find their article and get
a low confidence (they go to a person).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
import numpy.typing as npt

from pyagent_providers import UserError
from pyagent_providers.concurrency import run_cpu_bound
from pyagent_providers.embeddings import embed_stored

from .data import load_labelled
from .knowledge_model import (
    FEATURES,
    TARGET_PRECISION,
    DuplicateModel,
    answerable,
    choose_threshold,
    labelled_answer,
    settled_by,
)
from .knowledge_search import KINDS, Document, KnowledgeBase, Match, redact_labelled

__all__ = [
    "FEATURES",
    "KINDS",
    "Document",
    "DuplicateDetector",
    "DuplicateModel",
    "DuplicateVerdict",
    "KnowledgeBase",
    "Match",
    "choose_threshold",
    "settled_by",
]

Floats = npt.NDArray[np.float64]
Vector = npt.NDArray[np.float32]
NEIGHBOURS = 7  # past tickets the agreement features look at
_MONEY = re.compile(r"[$€£]\s?\d|\d\s?(?:[$€£]|eur\b|usd\b|gbp\b)|R\$\s?\d", re.IGNORECASE)


@dataclass(frozen=True, kw_only=True, slots=True)
class DuplicateVerdict:
    """Whether a ticket is a duplicate of a known, answered issue.

    Attributes:
        is_duplicate: ``confidence >= threshold``: safe to auto-reply from the candidate.
        duplicate_of: The candidate's id when `is_duplicate`, else ``None``.
        confidence: Probability that the candidate settles the ticket, in [0, 1].
        threshold: The confidence needed to call it a duplicate.
        candidate: The best answerable match (an article), whatever the decision.
        matches: The three best answerable documents and the three nearest past
            tickets, most similar first (the seed's ``similar_issues``).
    """

    is_duplicate: bool
    duplicate_of: str | None
    confidence: float
    threshold: float
    candidate: Match | None
    matches: tuple[Match, ...]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data (document ids and scores, not their texts)."""
        return {
            "is_duplicate": self.is_duplicate,
            "duplicate_of": self.duplicate_of,
            "confidence": round(self.confidence, 4),
            "threshold": self.threshold,
            "similar_issues": [
                {"id": m.document.id, "kind": m.document.kind, "score": round(m.score, 4)}
                for m in self.matches
            ],
        }


class DuplicateDetector:
    """Decides whether a ticket is a duplicate of a known issue (see the module docstring).

    Args:
        knowledge_base: Where to search; its past tickets' labels (``route``, category,
            `labelled_answer`) feed the agreement features.
        model: A fitted `DuplicateModel` (`fit`).
        threshold: Confidence needed to call a duplicate; defaults to ``model.threshold``.

    Raises:
        UserError: A threshold outside [0, 1].
    """

    def __init__(
        self,
        knowledge_base: KnowledgeBase,
        model: DuplicateModel | None = None,
        *,
        threshold: float | None = None,
    ) -> None:
        self.knowledge_base = knowledge_base
        self.model = model
        self.threshold = threshold if threshold is not None else (model.threshold if model else 1)
        if not 0.0 <= self.threshold <= 1.0:
            raise UserError(f"threshold must be in [0, 1], got {self.threshold}")
        self._neighbourhood: _Neighbourhood | None = None

    @classmethod
    def default(cls, *, threshold: float | None = None) -> DuplicateDetector:
        """Fitted on the ``train`` split over `KnowledgeBase.default` (once per process).

        Blocking: about a second, more the first time a cache dir is used. A service can
        call it in its warm-up through `pyagent_providers.concurrency.run_cpu_bound`.
        """
        detector = _default_detector()
        if threshold is None:
            return detector
        return cls(detector.knowledge_base, detector.model, threshold=threshold)

    @classmethod
    def fit(
        cls,
        knowledge_base: KnowledgeBase,
        tickets: Sequence[Mapping[str, Any]],
        *,
        target_precision: float = TARGET_PRECISION,
        threshold: float | None = None,
    ) -> DuplicateDetector:
        """Fit on labelled tickets (``id``, ``text``, ``route``, ``category``, ``pii``).

        Each ticket's text is redacted from its ``pii`` labels, and a ticket that is also
        in the knowledge base (same id) is searched for with itself left out. Blocking.

        Raises:
            UserError: Too few duplicates or non-duplicates to fit.
        """
        detector = cls(knowledge_base)
        rows = list(tickets)
        texts = [redact_labelled(str(r["text"]), r.get("pii", ())) for r in rows]
        vectors = _embed_fixed(knowledge_base, texts)
        features: list[Floats] = []
        settles: list[bool] = []
        duplicate: list[bool] = []
        for row, text, vector in zip(rows, texts, vectors, strict=True):
            found = detector._judge(vector, text, exclude=str(row.get("id", "")))
            if found is not None:
                features.append(found[0])
                settles.append(answerable(row))
                duplicate.append(settled_by(row, found[1].document))
        model = DuplicateModel.fit(
            np.asarray(features),
            np.asarray(settles, dtype=bool),
            np.asarray(duplicate, dtype=bool),
            target_precision=target_precision,
        )
        return cls(knowledge_base, model, threshold=threshold)

    async def detect(self, query: str) -> DuplicateVerdict:
        """Search for the ticket's *redacted* text and decide (CPU work off the event loop)."""
        if not query.strip() or not len(self.knowledge_base):
            return self._verdict(None, ())
        await self.knowledge_base.warm_up()
        vector = await self.knowledge_base.embed(query)
        return await run_cpu_bound(self.detect_vector, vector, query)

    def detect_vector(self, vector: Vector, query: str) -> DuplicateVerdict:
        """`detect` for a query already embedded with the knowledge base's embedder.

        Raises:
            UserError: The detector has no fitted model.
        """
        if self.model is None:
            raise UserError("this DuplicateDetector has no model: use fit() or default()")
        found = self._judge(vector, query, exclude="")
        if found is None:
            return self._verdict(None, ())
        features, candidate, matches = found
        confidence = float(self.model.probability(features[None, :])[0])
        return self._verdict((confidence, candidate), matches)

    def _verdict(
        self, decided: tuple[float, Match] | None, matches: Sequence[Match]
    ) -> DuplicateVerdict:
        confidence, candidate = decided if decided is not None else (0.0, None)
        duplicate = candidate is not None and confidence >= self.threshold
        return DuplicateVerdict(
            is_duplicate=duplicate,
            duplicate_of=candidate.document.id if duplicate and candidate else None,
            confidence=confidence,
            threshold=self.threshold,
            candidate=candidate,
            matches=tuple(matches),
        )

    def _judge(
        self, vector: Vector, text: str, *, exclude: str
    ) -> tuple[Floats, Match, list[Match]] | None:
        """The features, the candidate and the matches; ``None`` with nothing answerable."""
        kb = self.knowledge_base
        near = self._neighbours()
        scores = (kb.vectors() @ vector).astype(np.float64)
        allowed = np.ones(len(scores), dtype=bool)
        if exclude in near.index:
            allowed[near.index[exclude]] = False
        answers = _ranked(scores, near.answerable & allowed)[:3]
        if not answers:
            return None
        tickets = _ranked(scores, near.tickets & allowed)[:NEIGHBOURS]
        best = answers[0]
        category = kb.documents[best].category
        weights = np.clip(scores[tickets], 0.0, None)
        weights = weights / weights.sum() if weights.sum() > 0 else weights
        same = near.answer[tickets] == best
        settled = same & near.settled[tickets]
        words = math.log1p(len(text.split()))
        features = np.asarray(
            [
                scores[best],
                scores[best] - (scores[answers[1]] if len(answers) > 1 else 0.0),
                np.mean([kb.documents[i].category == category for i in answers[1:]] or [0.0]),
                float(weights @ (near.categories[tickets] == category)),
                float(weights @ same),
                float(weights @ settled),
                float(max(scores[tickets][settled], default=0.0)),
                words,
                min(words, math.log1p(4)),
                float("?" in text),
                float(bool(_MONEY.search(text))),
            ],
            dtype=np.float64,
        )
        shown = sorted([*answers, *tickets[:3]], key=lambda i: -scores[i])
        matches = [Match(kb.documents[i], float(np.clip(scores[i], 0.0, 1.0))) for i in shown]
        return features, matches[shown.index(best)], matches

    def _neighbours(self) -> _Neighbourhood:
        if self._neighbourhood is None:
            self._neighbourhood = _Neighbourhood.of(self.knowledge_base)
        return self._neighbourhood


@dataclass(frozen=True, slots=True)
class _Neighbourhood:
    """Per document: answerable? a ticket? and each past ticket's answer."""

    index: dict[str, int]
    answerable: npt.NDArray[np.bool_]
    tickets: npt.NDArray[np.bool_]
    categories: npt.NDArray[np.str_]
    answer: npt.NDArray[np.int64]  # its labelled answer, else its best match; -1 for none
    settled: npt.NDArray[np.bool_]  # that answer settled it (`settled_by`)

    @classmethod
    def of(cls, kb: KnowledgeBase) -> _Neighbourhood:
        docs = kb.documents
        index = {d.id: i for i, d in enumerate(docs)}
        answerable = np.asarray([d.answer is not None for d in docs], dtype=bool)
        tickets = np.asarray([d.kind == "ticket" for d in docs], dtype=bool)
        answer = np.full(len(docs), -1, dtype=np.int64)
        settled = np.zeros(len(docs), dtype=bool)
        vectors = kb.vectors().astype(np.float64)
        for i in np.flatnonzero(tickets) if answerable.any() else ():
            row = {**docs[i].labels, "id": docs[i].id}
            labelled = labelled_answer(row)
            if labelled in index and answerable[index[labelled]]:
                answer[i], settled[i] = index[labelled], True
                continue
            allowed = answerable.copy()
            allowed[i] = False
            ranked = _ranked(vectors @ vectors[i], allowed)
            if ranked:
                answer[i], settled[i] = ranked[0], settled_by(row, docs[ranked[0]])
        categories = np.asarray([d.category for d in docs], dtype=np.str_)
        return cls(index, answerable, tickets, categories, answer, settled)


def _ranked(scores: Floats, allowed: npt.NDArray[np.bool_]) -> list[int]:
    candidates = np.flatnonzero(allowed)
    return [int(i) for i in candidates[np.argsort(-scores[candidates], kind="stable")]]


def _embed_fixed(kb: KnowledgeBase, texts: Sequence[str]) -> Vector:
    """Labelled training texts (the application's own data): kept on disk with the KB's."""
    if kb.store is not None:
        return embed_stored(kb.embedder, texts, kb.store)
    return np.asarray(kb.embedder.embed(texts), dtype=np.float32)


@cache
def _default_detector() -> DuplicateDetector:
    return DuplicateDetector.fit(KnowledgeBase.default(), load_labelled("train"))
