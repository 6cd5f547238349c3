"""A lexical text model: logistic regression on word and character n-grams.

Sentence embeddings (all-MiniLM-L6-v2) capture what a message is about in English; the
words themselves carry what they miss, above all in other languages ("factura", "Anwalt",
"senha"). `NgramModel` reads the accent-folded text as word 1-2-grams and character
3-5-grams (TF-IDF) and fits a logistic regression; `EmbeddingClassifier` blends it with
the embedding model, and `LearnedDetector` averages it into its escalation score.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from pyagent_providers import MissingDependencyError

from .text import fold

__all__ = ["NgramModel"]

Floats = npt.NDArray[np.float64]


class NgramModel:
    """TF-IDF word and character n-grams with a logistic regression over integer targets."""

    def __init__(self, vectorizer: Any, model: Any, n_labels: int) -> None:
        """Wrap fitted parts; use `NgramModel.fit`."""
        self._vectorizer = vectorizer
        self._model = model
        self._n_labels = n_labels

    @classmethod
    def fit(
        cls,
        texts: Sequence[str],
        targets: Sequence[int] | npt.NDArray[np.int64],
        n_labels: int,
        *,
        regularization: float = 10.0,
        balanced: bool = False,
    ) -> NgramModel:
        """Train on `texts` whose labels are the integers ``0 .. n_labels-1``.

        Raises:
            MissingDependencyError: scikit-learn is not installed (the ``local`` extra).
        """
        try:
            from sklearn.feature_extraction.text import (  # pyright: ignore[reportMissingTypeStubs]
                TfidfVectorizer,
            )
            from sklearn.linear_model import (  # pyright: ignore[reportMissingTypeStubs]
                LogisticRegression,
            )
            from sklearn.pipeline import (  # pyright: ignore[reportMissingTypeStubs]
                make_union,  # pyright: ignore[reportUnknownVariableType]
            )
        except ImportError as exc:
            raise MissingDependencyError("scikit-learn", "local") from exc
        vectorizer: Any = make_union(
            TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True),
            TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), min_df=2, sublinear_tf=True),
        )
        features = vectorizer.fit_transform([fold(t) for t in texts])
        model: Any = LogisticRegression(
            C=regularization, max_iter=3000, class_weight="balanced" if balanced else None
        )
        model.fit(features, np.asarray(targets))
        return cls(vectorizer, model, n_labels)

    def probabilities(self, texts: Sequence[str]) -> Floats:
        """One row per text, one column per label (labels absent from training get 0)."""
        raw = np.asarray(
            self._model.predict_proba(self._vectorizer.transform([fold(t) for t in texts])),
            dtype=np.float64,
        )
        full = np.zeros((len(texts), self._n_labels), dtype=np.float64)
        full[:, np.asarray(self._model.classes_, dtype=np.int64)] = raw
        return full
