"""Label decisions from embeddings: nearest labelled examples, label descriptions, k-NN.

Shared by `LocalModel` and the router's embedding classifier so both decide alike.
Vectors are L2-normalised, so a dot product is cosine similarity.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["LabelDecision", "knn_regress", "label_by_description", "label_by_examples"]

Vectors = npt.NDArray[np.float32]

# Softmax temperature over cosine similarities. Sentence-embedding similarities of related
# texts differ by a few hundredths, so a small temperature turns those gaps into
# confidences that mean something (0.05 ≈ the spread seen on support tickets).
TEMPERATURE = 0.05


@dataclass(frozen=True, kw_only=True, slots=True)
class LabelDecision:
    """The chosen label with its confidence and every label's probability."""

    label: str
    confidence: float
    probabilities: dict[str, float]


def _decide(labels: Sequence[str], scores: npt.NDArray[np.float64]) -> LabelDecision:
    shifted = np.exp((scores - scores.max()) / TEMPERATURE)
    probabilities = shifted / shifted.sum()
    best = int(np.argmax(probabilities))
    return LabelDecision(
        label=labels[best],
        confidence=float(probabilities[best]),
        probabilities={label: float(p) for label, p in zip(labels, probabilities, strict=True)},
    )


def label_by_examples(
    query: Vectors,
    example_vectors: Vectors,
    example_labels: Sequence[str],
    labels: Sequence[str],
    *,
    per_label: int = 3,
) -> LabelDecision:
    """Score each label by the mean similarity of its `per_label` nearest examples.

    Averaging a few nearest neighbours per label (rather than voting among the global
    top k) keeps labels with few examples competitive and damps a single odd example.
    Labels without examples score as the least similar example seen.
    """
    similarities = example_vectors @ query
    floor = float(similarities.min()) if similarities.size else 0.0
    scores = np.full(len(labels), floor, dtype=np.float64)
    for index, label in enumerate(labels):
        mine = np.sort(similarities[[i for i, x in enumerate(example_labels) if x == label]])
        if mine.size:
            scores[index] = float(mine[-per_label:].mean())
    return _decide(labels, scores)


def label_by_description(
    query: Vectors, description_vectors: Vectors, labels: Sequence[str]
) -> LabelDecision:
    """Zero-shot: each label scores the similarity of the query to its description."""
    return _decide(labels, (description_vectors @ query).astype(np.float64))


def knn_regress(
    query: Vectors, example_vectors: Vectors, values: Sequence[float], *, k: int = 5
) -> tuple[float, float]:
    """Similarity-weighted mean of the `k` nearest examples' values, and their mean similarity."""
    similarities = example_vectors @ query
    nearest = np.argsort(similarities)[-k:]
    weights = np.clip(similarities[nearest], 1e-6, None)
    chosen = np.asarray([values[i] for i in nearest], dtype=np.float64)
    return float((weights * chosen).sum() / weights.sum()), float(similarities[nearest].mean())
