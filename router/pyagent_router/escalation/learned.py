"""A learned escalation detector: calibrated scores from labelled examples.

Two `EmbeddingClassifier`s trained on the same examples: one scores whether a person must
take the message (``escalate``: yes/no, temperature-calibrated by cross-validation), the
other names the most likely reason among the escalated examples. The threshold above
which the score escalates is chosen on the training data (`fit`'s ``precision``), never on
an evaluation split.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, cast

import numpy as np

from pyagent_providers import Example, UserError
from pyagent_providers.embeddings import Embedder, default_embedder

from ..embedding_classifier import EmbeddingClassifier
from .verdict import EscalationReason, Signal

__all__ = ["LearnedDetector"]


class LearnedDetector:
    """Scores how likely a message needs a person, from labelled examples.

    Attributes:
        threshold: Scores at or above it escalate.
        scorer: The yes/no classifier.
        namer: The reason classifier (``None`` with fewer than two reasons in the data).
    """

    name = "learned"

    def __init__(
        self, *, scorer: EmbeddingClassifier, namer: EmbeddingClassifier | None, threshold: float
    ) -> None:
        """Wrap fitted classifiers; use `LearnedDetector.fit` rather than this."""
        self.scorer = scorer
        self.namer = namer
        self.threshold = threshold

    @classmethod
    def fit(
        cls,
        examples: Iterable[Example],
        *,
        embedder: Embedder | None = None,
        precision: float = 0.9,
        folds: int = 5,
    ) -> LearnedDetector:
        """Train on examples labelled with ``escalation_reason`` (a list; empty = no person).

        The threshold is the lowest score whose out-of-fold precision on these examples is
        at least `precision` (the detector adds recall to the rules; it must not flood the
        queue).

        Raises:
            UserError: Fewer than 10 examples of either class.
        """
        rows = [(e.text, _reasons(e)) for e in examples if "escalation_reason" in e.labels]
        positives = sum(1 for _, reasons in rows if reasons)
        if positives < 10 or len(rows) - positives < 10:
            raise UserError("the learned detector needs at least 10 examples of each class")
        embedder = embedder or default_embedder()
        binary = [Example(text=t, labels={"escalate": "yes" if r else "no"}) for t, r in rows]
        scorer = EmbeddingClassifier.fit(
            binary, label_key="escalate", embedder=embedder, abstain_below=0.0, folds=folds
        )
        named = [Example(text=t, labels={"reason": r[0]}) for t, r in rows if r]
        namer = (
            EmbeddingClassifier.fit(named, label_key="reason", embedder=embedder, abstain_below=0)
            if len({e.labels["reason"] for e in named}) >= 2
            else None
        )
        threshold = _threshold_for_precision(scorer, binary, precision, folds, embedder)
        return cls(scorer=scorer, namer=namer, threshold=threshold)

    def score(self, texts: Sequence[str]) -> list[float]:
        """The probability that each text needs a person."""
        column = list(self.scorer.labels).index("yes")
        return [float(p) for p in self.scorer.probabilities(texts)[:, column]]

    def detect(self, text: str) -> list[Signal]:
        """A signal with the score, and the reason when the score reaches the threshold."""
        score = self.score([text])[0]
        if score < self.threshold:
            return [Signal(reason=self._reason(text), score=score, detector="learned-score")]
        return [Signal(reason=self._reason(text), score=score, detector=self.name)]

    def _reason(self, text: str) -> EscalationReason:
        if self.namer is None:
            return EscalationReason.human_request
        return EscalationReason(self.namer.predict([text])[0].best)


def _reasons(example: Example) -> list[str]:
    value: Any = example.labels.get("escalation_reason") or []
    if isinstance(value, list | tuple):
        return [str(v) for v in cast(Sequence[Any], value)]
    return [str(value)]


def _threshold_for_precision(
    scorer: EmbeddingClassifier,
    examples: Sequence[Example],
    precision: float,
    folds: int,
    embedder: Embedder,
) -> float:
    """The lowest threshold whose out-of-fold precision reaches `precision`."""
    rng = np.random.default_rng(0)
    order = [int(i) for i in rng.permutation(len(examples))]
    scores = np.zeros(len(examples))
    for fold in range(folds):
        held = order[fold::folds]
        train = [examples[i] for i in order if i not in set(held)]
        model = EmbeddingClassifier.fit(
            train, label_key="escalate", embedder=embedder, abstain_below=0.0, folds=folds
        )
        column = list(model.labels).index("yes")
        scores[held] = model.probabilities([examples[i].text for i in held])[:, column]
    truth = np.array([e.labels["escalate"] == "yes" for e in examples])
    for threshold in np.linspace(0.3, 0.99, 70):
        chosen = scores >= threshold
        if chosen.sum() >= 3 and truth[chosen].mean() >= precision:
            return float(threshold)
    return 0.99
