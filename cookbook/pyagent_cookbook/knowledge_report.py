"""How the duplicate detector does on the labelled tickets: `evaluate` and a JSON report.

``python -m pyagent_cookbook.knowledge_report`` fits the default detector (``train`` only)
and reports it on the ``test`` split, which nothing was fitted or tuned on. On the shipped
data: threshold 0.659 (out-of-fold on ``train``: precision 0.90, recall 0.46); on ``test``,
precision 0.76 (19 of 25 auto-replies) and recall 0.48 of 40 duplicates, Brier score 0.086.
Of the six wrong auto-replies, three pick an article that arguably answers as well (a
second article on the subject, or a ``smart`` ticket that the seat-credit article
explains), one is a ``smart`` permissions question, and two ask about something no
article covers (a desktop app, sign-in links opening the phone app).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from .data import load_labelled
from .knowledge import DuplicateDetector
from .knowledge_model import FEATURES, MATCH_FEATURES, settled_by
from .knowledge_search import redact_labelled

__all__ = ["DuplicateReport", "evaluate", "main"]


@dataclass(frozen=True, kw_only=True, slots=True)
class DuplicateReport:
    """How a detector does on labelled tickets (duplicates by `settled_by`).

    ``curve`` holds ``(threshold, precision, recall)`` at a few other thresholds.
    """

    tickets: int
    duplicates: int
    predicted: int
    correct: int
    precision: float
    recall: float
    accuracy: float
    brier: float
    threshold: float
    curve: tuple[tuple[float, float, float], ...]


def evaluate(detector: DuplicateDetector, rows: Sequence[Mapping[str, Any]]) -> DuplicateReport:
    """Run the detector on labelled tickets (redacted by their PII labels); blocking.

    Their vectors are not kept on disk. For reporting only: never choose a threshold on
    the ``test`` split with it.
    """
    kb = detector.knowledge_base
    texts = [redact_labelled(str(r["text"]), r.get("pii", ())) for r in rows]
    vectors = np.asarray(kb.embedder.embed(texts), dtype=np.float32)
    truth: list[bool] = []
    confidence: list[float] = []
    for row, text, vector in zip(rows, texts, vectors, strict=True):
        verdict = detector.detect_vector(vector, text)
        truth.append(verdict.candidate is not None and settled_by(row, verdict.candidate.document))
        confidence.append(verdict.confidence)
    t, p = np.asarray(truth, dtype=bool), np.asarray(confidence)

    def at(threshold: float) -> tuple[float, float, int, int]:
        said = p >= threshold
        hits = int((said & t).sum())
        precision = hits / int(said.sum()) if said.any() else 1.0
        return precision, hits / max(int(t.sum()), 1), int(said.sum()), hits

    precision, recall, predicted, correct = at(detector.threshold)
    return DuplicateReport(
        tickets=len(rows),
        duplicates=int(t.sum()),
        predicted=predicted,
        correct=correct,
        precision=precision,
        recall=recall,
        accuracy=float(((p >= detector.threshold) == t).mean()) if len(t) else 0.0,
        brier=float(np.mean((p - t) ** 2)) if len(t) else 0.0,
        threshold=detector.threshold,
        curve=tuple((x, *at(x)[:2]) for x in (0.3, 0.5, 0.7, 0.8, 0.9)),
    )


def main() -> None:
    """Print the default detector's fit and its figures on the ``test`` split (JSON)."""
    started = time.perf_counter()
    detector = DuplicateDetector.default()
    fitted = time.perf_counter() - started
    assert detector.model is not None
    model = detector.model
    report = {
        "model": {
            "threshold": model.threshold,
            "cv_precision": round(model.cv_precision, 3),
            "cv_recall": round(model.cv_recall, 3),
            "train_tickets": model.examples,
            "train_answerable": model.answerable_count,
            "train_duplicates": model.duplicates,
            "fit_seconds": round(fitted, 2),  # embedding (cached on disk), features, CV
            "regressions_seconds": round(model.fit_seconds, 2),
            "answerable_weights": dict(zip(FEATURES, model.answerable.weights, strict=True)),
            "right_answer_weights": dict(
                zip(MATCH_FEATURES, model.right_answer.weights, strict=True)
            ),
        },
        "test": asdict(evaluate(detector, load_labelled("test"))),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
