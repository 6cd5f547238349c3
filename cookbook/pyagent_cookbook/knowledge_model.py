"""The duplicate detector's model: two small logistic regressions and a chosen threshold.

A ticket is a duplicate of its best answerable match when (1) a help-centre answer settles
it at all and (2) the best match is that answer (`settled_by`). The model estimates both:

- ``answerable``: P(an article settles the ticket), from every feature in `FEATURES`
  (the match, the nearest past tickets, and the message's shape: short questions with no
  amount of money in them are the FAQ kind);
- ``right_answer``: P(the best match is the article | an article settles it), from the
  `MATCH_FEATURES` only, fitted on the tickets an article settles.

The confidence is their product. Split this way, a short off-topic question ("Do you
sponsor open-source conferences?") looks like an FAQ but finds no article that matches it
well, so its confidence stays low; a single regression over all the features let the
message's shape outvote a poor match.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from pyagent_providers import MissingDependencyError, UserError

from .knowledge_labels import ANSWERED_BY
from .knowledge_search import Document

__all__ = [
    "FEATURES",
    "MATCH_FEATURES",
    "TARGET_PRECISION",
    "DuplicateModel",
    "Regression",
    "answerable",
    "choose_threshold",
    "labelled_answer",
    "settled_by",
]

Floats = npt.NDArray[np.float64]
Flags = npt.NDArray[np.bool_]

FEATURES = (
    "top_score",  # cosine similarity of the best answerable document (the candidate)
    "margin",  # over the second-best answerable document
    "article_agreement",  # share of the next two answerable documents in its category
    "ticket_agreement",  # similarity-weighted share of the nearest past tickets in it
    "same_answer",  # ... whose own answer is the candidate
    "settled_same",  # ... that the candidate settled (`settled_by`)
    "settled_same_top",  # similarity of the nearest past ticket it settled (0 if none)
    "log_words",  # log(1 + words)
    "log_words_upto_4",  # the same, capped at 4 words: a few words say little either way
    "question",  # a question mark
    "money",  # an amount of money (something to refund or correct, not just to explain)
)
MATCH_FEATURES = FEATURES[:7]
TARGET_PRECISION = 0.9


def labelled_answer(row: Mapping[str, Any]) -> str | None:
    """The id of the document a labelled ticket says settles it (``None``: none does).

    The row's ``answered_by`` field if it has one, else `ANSWERED_BY` by the row's id.
    """
    if row.get("route") != "fast":
        return None
    answer = row["answered_by"] if "answered_by" in row else ANSWERED_BY.get(str(row.get("id")))
    return answer if isinstance(answer, str) else None


def _labelled(row: Mapping[str, Any]) -> bool:
    return "answered_by" in row or str(row.get("id")) in ANSWERED_BY


def answerable(row: Mapping[str, Any]) -> bool:
    """A help-centre answer settles the ticket: a labelled answer, else ``route == "fast"``."""
    if row.get("route") != "fast":
        return False
    return labelled_answer(row) is not None if _labelled(row) else True


def settled_by(row: Mapping[str, Any], document: Document) -> bool:
    """The duplicate definition: `document` is the answer that settles this ticket.

    Only a ``route == "fast"`` ticket ("a help-centre answer settles it", LABELS.md) can
    be settled. Which document settles it is `labelled_answer`; a ticket without that
    label counts as settled by any answer in its category (a coarser stand-in).
    """
    if not answerable(row):
        return False
    if _labelled(row):
        return labelled_answer(row) == document.id
    return bool(document.category) and document.category == row.get("category")


@dataclass(frozen=True, kw_only=True, slots=True)
class Regression:
    """A logistic regression over some columns of the feature matrix, standardised."""

    columns: tuple[int, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    weights: tuple[float, ...]
    bias: float

    def probability(self, features: Floats) -> Floats:
        """P(positive) for each row of a ``len(FEATURES)``-column matrix."""
        chosen = features[:, list(self.columns)]
        standard = (chosen - np.asarray(self.mean)) / np.asarray(self.scale)
        return 1.0 / (1.0 + np.exp(-(standard @ np.asarray(self.weights) + self.bias)))

    @classmethod
    def fit(cls, features: Floats, targets: Flags, columns: Sequence[int]) -> Regression:
        """Fit on the rows of `features` (all columns) and their boolean targets.

        Raises:
            UserError: The targets are all true or all false.
        """
        if targets.all() or not targets.any():
            raise UserError("a regression needs positive and negative examples")
        try:
            from sklearn.linear_model import (  # pyright: ignore[reportMissingTypeStubs]
                LogisticRegression,
            )
        except ImportError as exc:
            raise MissingDependencyError("scikit-learn", "local") from exc
        chosen = features[:, list(columns)]
        mean = chosen.mean(axis=0)
        spread = chosen.std(axis=0)
        scale = np.where(spread > 0, spread, 1.0)
        # Newton-Cholesky: the same solution as lbfgs on a dozen features, ~15x faster on
        # a busy machine (no BLAS thread pool to wait for); the CV fits a hundred of them
        model: Any = LogisticRegression(C=1.0, solver="newton-cholesky", max_iter=100)
        model.fit((chosen - mean) / scale, targets.astype(np.int64))
        return cls(
            columns=tuple(int(c) for c in columns),
            mean=tuple(float(x) for x in mean),
            scale=tuple(float(x) for x in scale),
            weights=tuple(float(x) for x in np.asarray(model.coef_)[0]),
            bias=float(np.asarray(model.intercept_)[0]),
        )


@dataclass(frozen=True, kw_only=True, slots=True)
class DuplicateModel:
    """The two regressions, the chosen threshold and how the fit went.

    Attributes:
        answerable: P(an article settles the ticket), over `FEATURES`.
        right_answer: P(the best match is it | one does), over `MATCH_FEATURES`.
        threshold: Chosen by `choose_threshold` on out-of-fold confidences.
        cv_precision, cv_recall: Out-of-fold precision and recall at `threshold`.
        examples: Training tickets; answerable: how many an article settles;
            duplicates: how many of those have it as their best match.
        fit_seconds: Wall time of `fit`, cross-validation included.
    """

    answerable: Regression
    right_answer: Regression
    threshold: float
    cv_precision: float
    cv_recall: float
    examples: int
    answerable_count: int
    duplicates: int
    fit_seconds: float = 0.0

    def probability(self, features: Floats) -> Floats:
        """The confidence that each row's candidate settles its ticket."""
        return self.answerable.probability(features) * self.right_answer.probability(features)

    @classmethod
    def fit(
        cls,
        features: Floats,
        settles: Flags,
        duplicate: Flags,
        *,
        target_precision: float = TARGET_PRECISION,
        repeats: int = 10,
    ) -> DuplicateModel:
        """Fit both regressions and choose the threshold by repeated 5-fold CV.

        Args:
            features: One row of `FEATURES` per training ticket.
            settles: Whether an article settles each ticket (`answerable`).
            duplicate: Whether its best match is that article (`settled_by`).
            target_precision: The out-of-fold precision the threshold must reach.
            repeats: Repeats of the 5-fold split (seeded: the fit is deterministic).
        """
        started = time.perf_counter()
        if not duplicate.any() or duplicate.all() or (settles & ~duplicate).sum() == 0:
            raise UserError(
                "fitting needs duplicates, non-duplicates, and answerable tickets whose "
                "best match is not their answer"
            )
        from sklearn.model_selection import (  # pyright: ignore[reportMissingTypeStubs]
            RepeatedStratifiedKFold,
        )

        folds = max(2, min(5, int(min(duplicate.sum(), (~duplicate).sum()))))
        splitter: Any = RepeatedStratifiedKFold(n_splits=folds, n_repeats=repeats, random_state=0)
        out_of_fold = np.zeros((repeats, len(duplicate)))
        for k, (train, held_out) in enumerate(splitter.split(features, duplicate)):
            model = cls._fit_pair(features[train], settles[train], duplicate[train])
            out_of_fold[k // folds, held_out] = model.probability(features[held_out])
        pooled, labels = out_of_fold.ravel(), np.tile(duplicate, repeats)
        threshold = choose_threshold(pooled, labels, target=target_precision)
        chosen = pooled >= threshold
        final = cls._fit_pair(features, settles, duplicate)
        return cls(
            answerable=final.answerable,
            right_answer=final.right_answer,
            threshold=threshold,
            cv_precision=float(labels[chosen].mean()) if chosen.any() else 0.0,
            cv_recall=float(chosen[labels].mean()),
            examples=len(duplicate),
            answerable_count=int(settles.sum()),
            duplicates=int(duplicate.sum()),
            fit_seconds=time.perf_counter() - started,
        )

    @classmethod
    def _fit_pair(cls, features: Floats, settles: Flags, duplicate: Flags) -> DuplicateModel:
        match = [FEATURES.index(name) for name in MATCH_FEATURES]
        return cls(
            answerable=Regression.fit(features, settles, range(len(FEATURES))),
            right_answer=Regression.fit(features[settles], duplicate[settles], match),
            threshold=1.0,
            cv_precision=0.0,
            cv_recall=0.0,
            examples=len(duplicate),
            answerable_count=int(settles.sum()),
            duplicates=int(duplicate.sum()),
        )


def choose_threshold(
    probabilities: Floats,
    labels: Flags,
    *,
    target: float = TARGET_PRECISION,
    min_recall: float = 0.05,
) -> float:
    """The lowest threshold at which the precision of ``p >= threshold`` reaches `target`.

    Thresholds that catch fewer than `min_recall` of the duplicates are not considered
    (a handful of predictions says little about precision). If none reaches the target,
    the one of highest precision among them. Rounded down to 3 decimals.
    """
    order = np.argsort(-probabilities, kind="stable")
    hits = np.cumsum(labels[order])
    precision = hits / np.arange(1, len(order) + 1)
    recall = hits / max(int(labels.sum()), 1)
    # only where the next probability is lower, so each cut is a real threshold
    distinct = np.append(np.diff(probabilities[order]) < 0, True)
    usable = np.flatnonzero(distinct & (recall >= min_recall))
    if not len(usable):
        return 1.0
    reaching = usable[precision[usable] >= target]
    cut = reaching[-1] if len(reaching) else usable[int(np.argmax(precision[usable]))]
    return math.floor(float(probabilities[order][cut]) * 1000) / 1000
