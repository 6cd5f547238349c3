"""A learned escalation detector: calibrated scores from labelled examples.

Whether a person must take the message is scored by two models averaged: an
`EmbeddingClassifier` (``escalate``: yes/no, temperature-calibrated by cross-validation,
with `message_features` beside the embedding) for what a message means, and a logistic
regression on word and character n-grams of the accent-folded text for the words it uses
("abogado", "Anwalt", "unauthorised"), which all-MiniLM-L6-v2 reads poorly outside English.
Averaging them caught 0.63 of the train split's escalations at a 4 % out-of-fold
false-positive rate, against 0.56 for either alone. A third classifier names the most
likely reason. A message is scored whole and sentence by sentence, and its score is the
highest: a crisis sentence or an injected instruction inside a routine request is diluted
in the whole message's embedding, not in its own.

The threshold is chosen on the training examples (`fit`'s ``false_positive_rate``:
the out-of-fold share of messages that need no person which it may flag), never on an
evaluation split. The detector adds recall to the rules for phrasings they do not know; it
does not replace them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import numpy as np

from pyagent_providers import Example, UserError
from pyagent_providers.embeddings import Embedder, default_embedder

from ..embedding_classifier import EmbeddingClassifier
from ..features import message_features
from ..ngrams import NgramModel
from .verdict import SCORE_ONLY, EscalationReason, Signal, reason_codes

__all__ = ["LearnedDetector", "sentence_pieces"]

_SENTENCE = re.compile(r"(?<=[.!?\n])\s+")


class LearnedDetector:
    """Scores how likely a message needs a person, from labelled examples.

    Attributes:
        threshold: Scores at or above it escalate.
        scorer: The yes/no classifier.
        namer: The reason classifier (``None`` with fewer than two reasons in the data).
    """

    name = "learned"

    def __init__(
        self,
        *,
        scorer: EmbeddingClassifier,
        lexical: NgramModel | None = None,
        namer: EmbeddingClassifier | None,
        threshold: float,
    ) -> None:
        """Wrap fitted classifiers; use `LearnedDetector.fit` rather than this."""
        self.scorer = scorer
        self.lexical = lexical
        self.namer = namer
        self.threshold = threshold

    @classmethod
    def fit(
        cls,
        examples: Iterable[Example],
        *,
        embedder: Embedder | None = None,
        false_positive_rate: float = 0.03,
        folds: int = 5,
    ) -> LearnedDetector:
        """Train on examples labelled ``escalation_reason`` (a list) or ``route: human``.

        Raises:
            UserError: Fewer than 10 examples of either class.
        """
        rows = [
            (e.text, _escalates(e), reason_codes(e.labels.get("escalation_reason")))
            for e in examples
        ]
        rows = [(t, y, r) for t, y, r in rows if y is not None]
        positives = sum(1 for _, y, _ in rows if y)
        if positives < 10 or len(rows) - positives < 10:
            raise UserError("the learned detector needs at least 10 examples of each class")
        embedder = embedder or default_embedder()
        binary = [Example(text=t, labels={"escalate": "yes" if y else "no"}) for t, y, _ in rows]
        scorer = _fit_scorer(binary, embedder, folds)
        lexical = _fit_lexical(binary)
        named = [Example(text=t, labels={"reason": r[0]}) for t, _, r in rows if r]
        namer = (
            EmbeddingClassifier.fit(named, label_key="reason", embedder=embedder, abstain_below=0)
            if len({e.labels["reason"] for e in named}) >= 2
            else None
        )
        threshold = _threshold_for_false_positives(binary, false_positive_rate, folds, embedder)
        return cls(scorer=scorer, lexical=lexical, namer=namer, threshold=threshold)

    def score(self, texts: Sequence[str]) -> list[float]:
        """The probability that each text needs a person (its most alarming sentence)."""
        return [_max_score(self.scorer, self.lexical, text) for text in texts]

    def detect(self, text: str) -> list[Signal]:
        """A signal with the score, and the reason when the score reaches the threshold."""
        score = self.score([text])[0]
        detector = self.name if score >= self.threshold else SCORE_ONLY
        return [Signal(reason=self._reason(text), score=score, detector=detector)]

    def _reason(self, text: str) -> EscalationReason:
        if self.namer is None:
            return EscalationReason.human_request
        return EscalationReason(self.namer.predict([text])[0].best)


def _fit_scorer(examples: Sequence[Example], embedder: Embedder, folds: int) -> EmbeddingClassifier:
    return EmbeddingClassifier.fit(
        examples,
        label_key="escalate",
        embedder=embedder,
        abstain_below=0.0,
        folds=folds,
        features=message_features,
    )


def sentence_pieces(text: str) -> list[str]:
    """The whole text, its sentences and adjacent pairs of sentences (3+ words each)."""
    sentences = [s for s in _SENTENCE.split(text) if len(s.split()) >= 3]
    if len(sentences) < 2:
        return [text]
    return [text, *sentences, *(f"{a} {b}" for a, b in zip(sentences, sentences[1:], strict=False))]


def _max_score(scorer: EmbeddingClassifier, lexical: NgramModel | None, text: str) -> float:
    pieces = sentence_pieces(text)
    column = list(scorer.labels).index("yes")
    scores = scorer.probabilities(pieces)[:, column]
    if lexical is not None:
        scores = (scores + lexical.probabilities(pieces)[:, 1]) / 2
    return float(scores.max())


def _fit_lexical(examples: Sequence[Example]) -> NgramModel:
    targets = [int(e.labels["escalate"] == "yes") for e in examples]
    return NgramModel.fit([e.text for e in examples], targets, 2, balanced=True)


def _escalates(example: Example) -> bool | None:
    if "escalation_reason" in example.labels:
        return bool(example.labels["escalation_reason"])
    route = example.labels.get("route", example.labels.get("tier"))
    return None if route is None else route == "human"


def _threshold_for_false_positives(
    examples: Sequence[Example], rate: float, folds: int, embedder: Embedder
) -> float:
    """The score that `rate` of the out-of-fold negatives reach (at least 0.5)."""
    order = [int(i) for i in np.random.default_rng(0).permutation(len(examples))]
    negatives: list[float] = []
    for part in range(folds):
        held = set(order[part::folds])
        train = [examples[i] for i in order if i not in held]
        model, lexical = _fit_scorer(train, embedder, folds), _fit_lexical(train)
        negatives += [
            _max_score(model, lexical, examples[i].text)
            for i in held
            if examples[i].labels["escalate"] == "no"
        ]
    ranked = sorted(negatives, reverse=True)
    return max(0.5, ranked[min(int(rate * len(ranked)), len(ranked) - 1)])
